import assert from 'node:assert/strict';
import { test } from 'node:test';
import WS from 'ws';
import { ChatError, type ChatMessage } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, serverForFile, storedMessages, waitFor } from '../helpers.js';

/**
 * Sessions (contract section 10) against the real server: sockets open with single-use tickets,
 * never with the token in their URL, and a socket closed 4401 when its token expires resumes
 * with a fresh one from the provider, without a gap and without an error.
 */

const { server, clients } = serverForFile({ env: { WS_RATE_LIMIT: '0', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });
const open = (...args: Parameters<typeof client>) => {
  const c = client(...args);
  clients.push(c);
  return c;
};

/** `ws` that keeps the URL of every socket the SDK opens. */
function recordingWebSocket(urls: string[]) {
  return class extends WS {
    constructor(url: string, protocols?: string | string[]) {
      urls.push(url);
      super(url, protocols);
    }
  };
}

async function newRoom(): Promise<string> {
  return (await open(server.url, mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title: 'Brakes' })).id;
}

test('a room and notifications connect with a single-use ticket: no token in any socket URL', async () => {
  const id = await newRoom();
  const urls: string[] = [];
  const token = mintToken(OWNER);
  const c = open(server.url, token, { WebSocket: recordingWebSocket(urls) });
  const notes = c.notifications();
  await c.room(id).connect();
  await waitFor(() => notes.status === 'open', 'notifications open');
  assert.equal(urls.length, 2);
  for (const url of urls) {
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/ws\/(service-chat\/[^/]+\/\?ticket=[A-Za-z0-9_-]+&history=50|notifications\/\?ticket=[A-Za-z0-9_-]+)$/);
    assert.ok(!url.includes(token.split('.')[1]!), url);
  }
});

test('against a server without the ticket route (a v1 backend, 404) it connects with ?token=, asking once', async () => {
  const id = await newRoom();
  const urls: string[] = [];
  const asked: string[] = [];
  const token = mintToken(OWNER);
  // The real server, as a v1 backend would answer the one route it lacks.
  const v1: typeof fetch = (input, init) => {
    asked.push(String(input));
    return String(input).endsWith('/api/ws-tickets/') ? Promise.resolve(new Response('{}', { status: 404 })) : fetch(input, init);
  };
  const c = open(server.url, token, { WebSocket: recordingWebSocket(urls), fetch: v1 });
  await c.room(id).connect();
  const notes = c.notifications();
  await waitFor(() => notes.status === 'open', 'notifications open');
  assert.deepEqual(urls.map((u) => new URL(u).search), [`?token=${token}&history=50`, `?token=${token}`]);
  assert.equal(asked.filter((u) => u.endsWith('/api/ws-tickets/')).length, 1);
});

test('a token refused when the ticket is asked for is renewed once, then final', async () => {
  const id = await newRoom();
  let calls = 0;
  const c = open(server.url, () => (++calls === 1 ? mintToken(OWNER, -60) : mintToken(OWNER)));
  await c.room(id).connect();
  assert.equal(calls, 2);
  let refused = 0;
  const room = open(server.url, () => (refused++, mintToken(OWNER, -60))).room(id);
  await assert.rejects(room.connect(), (e: unknown) => e instanceof ChatError && e.code === 'unauthorized' && e.status === 401);
  assert.equal(refused, 2);
  assert.equal(room.status, 'closed');
});

test('a fresh token that meets a network failure and is then refused is refreshed again, not final', async () => {
  const id = await newRoom();
  // The first token is refused, its replacement has expired by the time the network is back (it
  // fails once, as a network does), the third opens the room.
  const tokens = [mintToken(OWNER, -60), mintToken(OWNER, -1), mintToken(OWNER)];
  let calls = 0;
  let tickets = 0;
  const flaky: typeof fetch = (input, init) =>
    String(input).endsWith('/api/ws-tickets/') && ++tickets === 2 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init);
  const room = open(server.url, () => tokens[calls++]!, { fetch: flaky }).room(id);
  const seen: Array<[string, string | undefined]> = [];
  room.on('status', (e) => seen.push([e.status, e.reason?.code]));
  await room.connect();
  assert.equal(calls, 3);
  assert.deepEqual(seen, [
    ['connecting', undefined],
    ['connecting', 'unauthorized'],
    ['connecting', 'network'],
    ['connecting', 'unauthorized'],
    ['open', undefined],
  ]);
});

test(
  'sockets closed 4401 as their tokens expire resume with fresh tokens: no error, no gap, nothing lost or doubled',
  { timeout: 60_000 },
  async () => {
    const id = await newRoom();
    let tokens = 0;
    // Tokens that live 1-2 s (exp is in whole seconds): several expire during the test.
    const ana = open(server.url, () => (tokens++, mintToken(OWNER, 2))).room(id);
    const bo = open(server.url, mintToken(ADMIN)).room(id);
    const errors: ChatError[] = [];
    const expiries: number[] = [];
    ana.on('error', (e) => errors.push(e));
    ana.on('status', (e) => e.reason?.closeCode === 4401 && expiries.push(Date.now()));
    await Promise.all([ana.connect(), bo.connect()]);

    const sent: Array<Promise<ChatMessage>> = [];
    let i = 0;
    // The other side writes the whole time, Ana now and then, until three of Ana's tokens have expired.
    while (expiries.length < 3) {
      await bo.send(`bo ${i}`);
      if (i % 5 === 0) sent.push(ana.send(`ana ${i}`));
      i += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await bo.send('bo last');
    await Promise.all(sent);

    const stored = await storedMessages(server.url, id);
    const expected = stored.map((m) => m.seq);
    assert.deepEqual(expected, Array.from({ length: stored.length }, (_, k) => k + 1));
    assert.equal(new Set(stored.map((m) => m.body)).size, stored.length, 'nothing stored twice');
    assert.equal(stored.filter((m) => m.body.startsWith('ana ')).length, sent.length);
    await waitFor(() => ana.messages.length === stored.length, 'Ana has every message');
    assert.deepEqual(ana.messages.map((m) => [m.seq, m.body, m.state]), stored.map((m) => [m.seq, m.body, 'sent']));
    assert.deepEqual(errors, []);
    assert.ok(tokens >= 4, `tokens asked for: ${tokens}`);
    assert.equal(ana.status, 'open');
  },
);
