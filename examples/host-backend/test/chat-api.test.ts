// The backend's chat calls when the chat server struggles: a stand-in server on 127.0.0.1 answers
// what a real one (or a proxy in front of it) answers in trouble, which a test cannot make the
// reference server do on cue. Passing failures are retried with backoff, refusals thrown at once,
// and the log tells what happened without a token.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ChatApi, ChatApiError } from '../chat-api.js';

type Answer = (res: ServerResponse) => void;
interface Seen {
  method: string;
  url: string;
  authorization: string;
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A stand-in chat server giving these answers in turn, and what it was sent. */
async function standIn(answers: Answer[]): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization ?? '', body });
    answers.shift()?.(res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const json = (status: number, body: object, headers: Record<string, string> = {}): Answer => (res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};
const ROOM = { user_id: '42', workshop_id: 'w-7', title: 'Brake pads', status: 'open', user_name: 'Ana Ruiz', workshop_name: 'Garage Nord' } as const;

function api(baseUrl: string, log: string[], options: { attempts?: number; timeoutMs?: number } = {}) {
  let tokens = 0;
  return new ChatApi({ baseUrl, token: () => `token-${++tokens}`, minDelayMs: 5, log: (line) => log.push(line), ...options });
}

test('passing failures (a proxy\'s 502, 408, 429, 503) are retried with backoff, with a fresh token, until the chat answers', async () => {
  const chat = await standIn([
    (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>'),
    (res) => res.writeHead(408).end(),
    json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '0' }),
    json(503, { error: { code: 'unavailable', message: 'storage failing' } }),
    json(201, { id: 'sr-2026-0042', ...ROOM }),
  ]);
  const log: string[] = [];
  const { room, created } = await api(chat.url, log).putRoom('sr-2026-0042', ROOM);
  assert.deepEqual([room.id, created], ['sr-2026-0042', true]);
  assert.deepEqual(
    chat.seen.map(({ method, url, authorization, body }) => [method, url, authorization, JSON.parse(body)]),
    [1, 2, 3, 4, 5].map((n) => ['PUT', '/api/service-requests/sr-2026-0042/', `Bearer token-${n}`, ROOM]),
  );
  assert.deepEqual(log, [
    'chat PUT /api/service-requests/sr-2026-0042/: 502 http_502; attempt 1 of 5, again in 5 ms',
    'chat PUT /api/service-requests/sr-2026-0042/: 408 http_408; attempt 2 of 5, again in 10 ms',
    'chat PUT /api/service-requests/sr-2026-0042/: 429 rate_limited; attempt 3 of 5, again in 20 ms',
    'chat PUT /api/service-requests/sr-2026-0042/: 503 unavailable; attempt 4 of 5, again in 40 ms',
  ]);
});

test('a Retry-After longer than the backoff is waited for', async () => {
  const chat = await standIn([json(503, { error: { code: 'unavailable', message: 'failover' } }, { 'retry-after': '1' }), json(200, { redacted: 2 })]);
  const log: string[] = [];
  await api(chat.url, log).eraseUser('42');
  assert.equal(chat.seen.length, 2);
  assert.deepEqual(log, ['chat DELETE /api/users/42/messages/: 503 unavailable; attempt 1 of 5, again in 1000 ms']);
});

test('a refusal is thrown at once with the chat\'s code, and not retried', async () => {
  const chat = await standIn([json(409, { error: { code: 'closed', message: 'this service request is closed; it takes no new messages' } })]);
  const log: string[] = [];
  const sent = api(chat.url, log).postSystemMessage('sr-2026-0042', { body: 'Quote: 180.00 EUR', client_id: 'quote-q-1', data: { kind: 'quote' } });
  await assert.rejects(sent, (error: unknown) => {
    assert.ok(error instanceof ChatApiError);
    assert.deepEqual([error.status, error.code, error.final, error.message], [409, 'closed', true, 'this service request is closed; it takes no new messages']);
    return true;
  });
  assert.deepEqual(chat.seen.map((s) => [s.method, s.url, JSON.parse(s.body)]), [
    ['POST', '/api/service-requests/sr-2026-0042/messages/', { body: 'Quote: 180.00 EUR', client_id: 'quote-q-1', data: { kind: 'quote' } }],
  ]);
  assert.deepEqual(log, []);
});

test('an attempt that gets no answer in time is abandoned and made again', async () => {
  const chat = await standIn([() => {}, json(200, { user_id: '42', rooms: [], messages: [] })]);
  const log: string[] = [];
  assert.deepEqual(await api(chat.url, log, { timeoutMs: 200 }).exportUser('42'), { user_id: '42', rooms: [], messages: [] });
  assert.equal(chat.seen.length, 2);
  assert.deepEqual(log, ['chat GET /api/users/42/export/: network; attempt 1 of 5, again in 5 ms']);
});

test('a chat server that never answers: every attempt made, then thrown as a passing failure', async () => {
  const gone = await standIn([]);
  await new Promise((resolve) => servers.pop()!.close(resolve));
  const log: string[] = [];
  await assert.rejects(api(gone.url, log, { attempts: 3 }).exportUser('42'), (error: unknown) => {
    assert.ok(error instanceof ChatApiError);
    assert.deepEqual([error.status, error.code, error.final, error.message], [null, 'network', false, 'no answer from the chat server (ECONNREFUSED)']);
    return true;
  });
  assert.deepEqual(log, [
    'chat GET /api/users/42/export/: network; attempt 1 of 3, again in 5 ms',
    'chat GET /api/users/42/export/: network; attempt 2 of 3, again in 10 ms',
  ]);
});
