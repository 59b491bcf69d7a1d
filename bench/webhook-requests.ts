/**
 * The webhook sender's HTTP client alone: CPU per request of this process (the server's side) and
 * of the receiver, for each way of sending, against the receiver process of bench/server-fanout.ts
 * (w) (a plain `node:http` server answering 204), with `--concurrency` requests in flight as the
 * delivery loop keeps them (one per room, up to 16 rooms). Each request is a signed
 * `message.created` of about 500 bytes, signed as the server signs it.
 *
 *   node --import tsx bench/webhook-requests.ts [--requests 20000] [--rounds 5] [--concurrency 16]
 *     [--clients http,undici-request,undici-dispatch,undici-pipelined]
 *
 * Clients: `http`: node:http with a keep-alive Agent, a timer per request (what the server did
 * before); `http-options`: the same given host, port and path rather than the URL; `undici-request`: undici's Client, `request()`, one request per connection at a time;
 * `undici-dispatch`: the same Client, `dispatch()` with a handler that reads only the status;
 * `undici-pipelined`: `dispatch()` on a Client allowing HTTP/1.1 pipelining (16), which undici uses
 * only for idempotent requests: a POST still waits for the answer before the next; `undici-legacy`
 * and `undici-legacy-pipelined`: the same with undici's older handler interface.
 */
import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type { Dispatcher } from 'undici';
import { WebhookSigner } from '../reference-server/src/webhooks/signing.js';
import { startWebhookReceiver } from './server/processes.js';

// The reference server's undici (its dependency), not another version the workspace may hoist.
const { Client } = createRequire(new URL('../reference-server/package.json', import.meta.url))('undici') as typeof import('undici');

const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    clients: { type: 'string', default: 'http,http-options,undici-request,undici-dispatch,undici-pipelined,undici-legacy,undici-legacy-pipelined' },
  },
});
const requests = Number(opts.requests);
const concurrency = Number(opts.concurrency);

const signer = new WebhookSigner([`whsec_${randomBytes(32).toString('base64')}`]);
const body = JSON.stringify({
  type: 'message.created',
  timestamp: new Date().toISOString(),
  data: {
    message: {
      id: 'm_Q2tq8o1Yc3kWmA5b',
      request_id: 'r_5mB2yQ0cWv1kZp8e',
      seq: 7,
      sender: { id: 'u-ana', role: 'user', name: 'Ana' },
      body: 'The front brakes squeak when I stop at low speed; could you take a look on Tuesday? #1234',
      client_id: 'p12-1234',
      created_at: new Date().toISOString(),
    },
  },
});
const headersOf = (id: string) => ({
  'content-type': 'application/json',
  'user-agent': 'motoreach-reference-server',
  ...signer.headers(id, new Date(), body),
});

/** Sends one request; resolves with its status. */
type Send = (id: string) => Promise<number>;

interface Sender {
  send: Send;
  close(): Promise<void>;
}

function nodeHttp(url: URL, withUrl: boolean): Sender {
  const agent = new HttpAgent({ keepAlive: true });
  const target = { host: url.hostname, port: url.port, path: url.pathname };
  return {
    send: (id) =>
      new Promise((resolve, reject) => {
        const options = { method: 'POST', headers: headersOf(id), agent };
        const callback = (res: IncomingMessage) => {
          clearTimeout(timer);
          res.resume();
          resolve(res.statusCode ?? 0);
        };
        const req = withUrl ? httpRequest(url, options, callback) : httpRequest({ ...target, ...options }, callback);
        const timer = setTimeout(() => req.destroy(), 15_000);
        req.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        req.end(body);
      }),
    close: async () => agent.destroy(),
  };
}

function undiciRequest(url: URL): Sender {
  const client = new Client(url.origin, { pipelining: 1, headersTimeout: 15_000, bodyTimeout: 15_000 });
  return {
    send: async (id) => {
      const res = await client.request({ path: url.pathname, method: 'POST', headers: headersOf(id), body });
      await res.body.dump();
      return res.statusCode;
    },
    close: () => client.close(),
  };
}

function undiciDispatch(url: URL, pipelining: number): Sender {
  const client = new Client(url.origin, { pipelining, headersTimeout: 15_000, bodyTimeout: 15_000 });
  return {
    send: (id) =>
      new Promise((resolve, reject) => {
        let status = 0;
        const handler: Dispatcher.DispatchHandler = {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseEnd() {
            resolve(status);
          },
          onResponseError(_controller, error) {
            reject(error);
          },
        };
        client.dispatch({ path: url.pathname, method: 'POST', headers: headersOf(id), body }, handler);
      }),
    close: () => client.close(),
  };
}

/** dispatch() with undici's older handler interface, the one its Client calls (the newer one is wrapped into it). */
function undiciLegacy(url: URL, pipelining: number): Sender {
  const client = new Client(url.origin, { pipelining, headersTimeout: 15_000, bodyTimeout: 15_000 });
  return {
    send: (id) =>
      new Promise((resolve, reject) => {
        let status = 0;
        client.dispatch(
          { path: url.pathname, method: 'POST', headers: headersOf(id), body },
          {
            onConnect() {},
            onHeaders(statusCode: number) {
              status = statusCode;
              return true;
            },
            onData: () => true,
            onComplete: () => resolve(status),
            onError: reject,
          } as unknown as Dispatcher.DispatchHandler,
        );
      }),
    close: () => client.close(),
  };
}

const CLIENTS: Record<string, (url: URL) => Sender> = {
  http: (url) => nodeHttp(url, true),
  'http-options': (url) => nodeHttp(url, false),
  'undici-request': undiciRequest,
  'undici-dispatch': (url) => undiciDispatch(url, 1),
  'undici-pipelined': (url) => undiciDispatch(url, 16),
  'undici-legacy': (url) => undiciLegacy(url, 1),
  'undici-legacy-pipelined': (url) => undiciLegacy(url, 16),
};
const names = opts.clients.split(',').filter((name) => name in CLIENTS);

/** `count` requests, `concurrency` in flight. */
async function run(send: Send, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const status = await send(`evt_${next++}`);
      if (status !== 204) throw new Error(`HTTP ${status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const results: Record<string, { sender: number[]; receiver: number[]; rate: number[] }> = {};

const receiver = await startWebhookReceiver();
try {
  const url = new URL(receiver.url);
  for (let round = 1; round <= Number(opts.rounds); round++) {
    // Interleaved, so that a noisy moment of the shared machine hurts every client alike.
    for (const name of names) {
      const sender = CLIENTS[name]!(url);
      await run(sender.send, 2000);
      const cpu = process.cpuUsage();
      const receiverBefore = receiver.cpuMs();
      const started = performance.now();
      await run(sender.send, requests);
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      await sender.close();
      const r = (results[name] ??= { sender: [], receiver: [], rate: [] });
      r.sender.push((used.user + used.system) / requests);
      r.receiver.push(((receiver.cpuMs() - receiverBefore) * 1000) / requests);
      r.rate.push(requests / seconds);
      console.log(`round ${round} ${name.padEnd(17)} ${r.sender.at(-1)!.toFixed(1).padStart(6)} µs/request here, ` +
        `${r.receiver.at(-1)!.toFixed(1).padStart(6)} in the receiver, ${Math.round(r.rate.at(-1)!)} requests/s`);
    }
  }
} finally {
  await receiver.stop();
}

console.log(`\nmedians of ${opts.rounds} rounds, ${requests} requests each, ${concurrency} in flight; node ${process.version}`);
console.log('| client | sender µs/request | receiver µs/request | requests/s |');
console.log('| --- | ---: | ---: | ---: |');
for (const name of names) {
  const r = results[name]!;
  console.log(`| ${name} | ${median(r.sender).toFixed(1)} | ${median(r.receiver).toFixed(1)} | ${Math.round(median(r.rate))} |`);
}
