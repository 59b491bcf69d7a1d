/**
 * One reference server against two behind Redis, same run, same load, on one
 * shared MongoDB (the only store two processes can share).
 *
 *   MONGOMS_SYSTEM_BINARY=$(reference-server/scripts/mongod-wine.sh) MONGOMS_VERSION=7.0.15 \
 *     node --import tsx bench/server-redis.ts [--rooms 10] [--seconds 10] [--rate 50]
 *   (or MONGODB_URI=<a replica set>; redis-server must be on PATH)
 *
 * Per room: one sender and two receivers. One node: all three on it. Two nodes:
 * the sender and one receiver on the sender's node, the other receiver on the
 * other node (senders alternate between the nodes).
 *
 * 1. Paced at --rate msg/s over all rooms: latency from send to each receiver.
 *    The latency Redis adds is measured per message as (remote receiver) −
 *    (local receiver): both frames leave the same publish() on the sending
 *    node, so the store's time (MongoDB under wine here: slow) cancels out.
 * 2. Closed loop (each sender sends its next message when its own ack is
 *    back): throughput and send-to-every-receiver latency.
 * 3. The authentication of fan-out events alone (HMAC-SHA256, issue 15): what
 *    signing costs the publishing node and checking each receiving node, per event.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoMemoryReplSet } from 'mongodb-memory-server-core';
import WebSocket from 'ws';
import { EventSigner, fanoutKey } from '../reference-server/src/fanout/signing.js';

const { values: opts } = parseArgs({
  options: {
    rooms: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '50' },
  },
});
const ROOMS = Number(opts.rooms);
const SECONDS = Number(opts.seconds);
const RATE = Number(opts.rate);
const SECRET = 'bench-redis-secret-0123456789abcdef0123';
const BIN = fileURLToPath(new URL('../reference-server/src/bin.ts', import.meta.url));

const b64 = (v: object | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');
function token(claims: object): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${head}.${b64(createHmac('sha256', SECRET).update(head).digest())}`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function started(child: ChildProcess, ready: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m[1] ?? '');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}:\n${out}`)));
  });
}

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await started(child, /()Ready to accept connections/, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

interface Node {
  url: string;
  stop: () => Promise<void>;
}

async function startNode(mongoUri: string, redisUrl: string | null): Promise<Node> {
  const args = ['--import', 'tsx', BIN, '--port', '0', '--host', '127.0.0.1', '--jwt-secret', SECRET, '--mongodb-uri', mongoUri];
  args.push('--ws-rate-limit', '0', '--ws-user-rate-limit', '0', '--http-rate-limit', '0', '--log-level', 'info');
  args.push('--ws-handshakes-per-ip', '0', '--ws-handshakes-per-user', '0', '--shutdown-drain-ms', '0');
  if (redisUrl) args.push('--redis-url', redisUrl);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await started(child, /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/, 'reference server');
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

class Socket {
  readonly ws: WebSocket;
  readonly arrivals = new Map<string, number>();
  #waiters = new Map<string, () => void>();
  readonly ready: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ready = new Promise((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.on('message', (data) => {
        const at = performance.now();
        const text = data.toString();
        if (text.startsWith('{"type":"ready"')) return resolve();
        if (!text.startsWith('{"type":"message"')) return;
        const clientId = (JSON.parse(text) as { message: { client_id: string } }).message.client_id;
        this.arrivals.set(clientId, at);
        this.#waiters.get(clientId)?.();
        this.#waiters.delete(clientId);
      });
    });
  }

  arrived(clientId: string): Promise<void> {
    if (this.arrivals.has(clientId)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.set(clientId, resolve));
  }
}

interface RoomLoad {
  sender: Socket;
  local: Socket;
  remote: Socket;
}

async function setUp(nodes: Node[]): Promise<RoomLoad[]> {
  const loads: RoomLoad[] = [];
  for (let i = 0; i < ROOMS; i++) {
    const workshop = `w-${i}`;
    const ownerToken = token({ sub: `u-${i}`, role: 'user' });
    const adminToken = token({ sub: `a-${i}`, role: 'workshop_admin', workshop_id: workshop });
    const home = nodes[i % nodes.length]!;
    const other = nodes[(i + 1) % nodes.length]!;
    const res = await fetch(`${home.url}/api/service-requests/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workshop_id: workshop, title: `room ${i}` }),
    });
    const room = (await res.json()) as { id: string };
    const ws = (node: Node, t: string) => new Socket(`${node.url.replace(/^http/, 'ws')}/ws/service-chat/${room.id}/?token=${t}`);
    const load = { sender: ws(home, ownerToken), local: ws(home, adminToken), remote: ws(other, adminToken) };
    await Promise.all([load.sender.ready, load.local.ready, load.remote.ready]);
    loads.push(load);
  }
  return loads;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

async function paced(loads: RoomLoad[], tag: string) {
  const total = RATE * SECONDS;
  const sent = new Map<string, { at: number; load: RoomLoad }>();
  const start = performance.now();
  for (let n = 0; n < total; n++) {
    const due = start + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const load = loads[n % loads.length]!;
    const clientId = `${tag}-p-${n}`;
    sent.set(clientId, { at: performance.now(), load });
    load.sender.ws.send(JSON.stringify({ type: 'message', body: `paced ${n}`, client_id: clientId }));
  }
  await Promise.all([...sent].flatMap(([id, { load }]) => [load.local.arrived(id), load.remote.arrived(id)]));
  const local: number[] = [];
  const remote: number[] = [];
  const added: number[] = [];
  for (const [id, { at, load }] of sent) {
    const l = load.local.arrivals.get(id)! - at;
    const r = load.remote.arrivals.get(id)! - at;
    local.push(l);
    remote.push(r);
    added.push(r - l);
  }
  return { local, remote, added };
}

async function closedLoop(loads: RoomLoad[], tag: string) {
  const latencies: number[] = [];
  let count = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    loads.map(async (load, room) => {
      for (let n = 0; performance.now() < end; n++) {
        const clientId = `${tag}-c-${room}-${n}`;
        const at = performance.now();
        load.sender.ws.send(JSON.stringify({ type: 'message', body: `loop ${n}`, client_id: clientId }));
        await Promise.all([load.sender.arrived(clientId), load.local.arrived(clientId), load.remote.arrived(clientId)]);
        latencies.push(performance.now() - at);
        count++;
      }
    }),
  );
  return { throughput: count / SECONDS, latencies };
}

async function run(label: string, mongoUri: string, redisUrl: string | null, nodeCount: number) {
  const nodes: Node[] = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startNode(mongoUri, redisUrl));
  try {
    const loads = await setUp(nodes);
    const tag = label.replace(/\W+/g, '');
    const pace = await paced(loads, tag);
    const loop = await closedLoop(loads, tag);
    for (const load of loads) for (const s of [load.sender, load.local, load.remote]) s.ws.close();
    return { label, pace, loop };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

/** Microseconds per event to sign a typical message event, and to check it. */
function hmacCost(): { bytes: number; signUs: number; openUs: number } {
  const signer = new EventSigner(fanoutKey(SECRET));
  const channel = 'motoreach:room:r_Yk3v0nq8RZr2cJ1a';
  const message = {
    id: 'm_3fK9q2LmXv8Rt1Zp',
    request_id: 'r_Yk3v0nq8RZr2cJ1a',
    seq: 17,
    sender: { id: 'u-ana', role: 'user', name: 'Ana' },
    body: 'The brakes squeak when I stop, mostly in the morning. Can I bring it in on Tuesday?',
    client_id: 'c_8f2b6d1e9a7c4b3f5e0d2a1c',
    created_at: '2026-11-22T10:00:00.000Z',
  };
  const payload = `${randomUUID()}\n17\n\n${JSON.stringify({ type: 'message', message })}`;
  const n = 200_000;
  const time = (run: () => void) => {
    for (let i = 0; i < n / 10; i++) run();
    const start = performance.now();
    for (let i = 0; i < n; i++) run();
    return ((performance.now() - start) * 1000) / n;
  };
  const signed = signer.sign(channel, payload);
  return { bytes: Buffer.byteLength(payload), signUs: time(() => signer.sign(channel, payload)), openUs: time(() => signer.open(channel, signed)) };
}

async function main() {
  let mongoUri = process.env.MONGODB_URI;
  let replSet: MongoMemoryReplSet | undefined;
  if (!mongoUri) {
    replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
    mongoUri = replSet.getUri();
  }
  const withDb = (db: string) => {
    const url = new URL(mongoUri!);
    url.pathname = `/${db}`;
    return url.toString();
  };
  const redis = await startRedis();
  try {
    const stamp = Date.now();
    const results = [
      await run('one node', withDb(`bench_one_${stamp}`), null, 1),
      await run('two nodes + Redis', withDb(`bench_two_${stamp}`), redis.url, 2),
    ];
    console.log(`\n${cpus().length} CPUs (${cpus()[0]?.model}), ${ROOMS} rooms, ${SECONDS} s per phase, paced at ${RATE} msg/s`);
    console.log('| setup | paced: p50 / p99 to a receiver on the sending node | paced: p50 / p99 to a receiver on the other node | Redis adds, p50 / p99 | closed loop msg/s | closed loop p50 / p99 |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const { label, pace, loop } of results) {
      const remote = label === 'one node' ? '(same node)' : `${ms(percentile(pace.remote, 50))} / ${ms(percentile(pace.remote, 99))}`;
      const added = label === 'one node' ? '-' : `${ms(percentile(pace.added, 50))} / ${ms(percentile(pace.added, 99))}`;
      console.log(
        `| ${label} | ${ms(percentile(pace.local, 50))} / ${ms(percentile(pace.local, 99))} | ${remote} | ${added} | ${loop.throughput.toFixed(0)} | ${ms(percentile(loop.latencies, 50))} / ${ms(percentile(loop.latencies, 99))} |`,
      );
    }
    const hmac = hmacCost();
    console.log(`\nfan-out HMAC alone, a ${hmac.bytes}-byte message event: sign ${hmac.signUs.toFixed(2)} µs, check ${hmac.openUs.toFixed(2)} µs`);
  } finally {
    redis.stop();
    await replSet?.stop();
  }
}

await main();
