// A base URL or an origin that is wrong shows up as sockets that fail before their first frame,
// whatever the cause (the browser hides the answer to a refused upgrade): after three such opens in a
// row the SDK says `unreachable`, once, with the base URL, and keeps trying until a first frame.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, test } from 'node:test';
import WS from 'ws';
import { type ChatClient, ChatError, type Notifications, type Room, type RoomEvents } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, removeDir, type ServerProcess, spawnServer, unhandled, waitFor } from '../helpers.js';

const clients: ChatClient[] = [];
const servers: ServerProcess[] = [];
const others: Server[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) (await s.kill(), removeDir(s.dataDir));
  for (const s of others) await new Promise((r) => s.close(r));
  assert.deepEqual(unhandled, []);
});

// Sockets opened per path, so a test can tell that retries go on after the report.
function countingWebSocket(origin?: string) {
  const opened: string[] = [];
  const Counting = class extends WS {
    constructor(url: string) {
      super(url, origin ? { origin } : {});
      opened.push(new URL(url).pathname);
    }
  };
  return { Counting, opens: (path: string) => opened.filter((p) => p === path).length };
}

// What a room or the notifications told: every status with its reason code, and every error.
function watch(source: Room | Notifications) {
  const statuses: [string, string | undefined][] = [];
  const errors: ChatError[] = [];
  (source as Room).on('status', (e: RoomEvents['status']) => statuses.push([e.status, e.reason?.code]));
  (source as Room).on('error', (e: ChatError) => errors.push(e));
  return { statuses, errors };
}

const ROOM_PATH = '/ws/service-chat/r_1/';

/** `closeCode`: the last failed attempt was a socket closed before any frame; without, its ticket request. */
function assertUnreachable(error: ChatError | undefined, baseUrl: string, token: string, closeCode?: number): void {
  assert.ok(error instanceof ChatError);
  assert.equal(error.code, 'unreachable');
  assert.equal(error.message, `Can't reach the chat server at ${baseUrl}`);
  assert.equal(error.baseUrl, baseUrl);
  assert.equal((error.cause as ChatError).code, 'network');
  assert.equal((error.cause as ChatError).closeCode, closeCode);
  if (closeCode === undefined) assert.equal((error.cause as ChatError).message, 'POST /api/ws-tickets/');
  assert.ok(!JSON.stringify({ ...error, message: error.message }).includes(token), 'no token in the error');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

test('nothing listens at the base URL: room and notifications say unreachable once, keep trying, and open when a server comes', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const token = mintToken(OWNER);
  const ws = countingWebSocket();
  // Every attempt starts with a ticket request, which is what fails while nothing listens. The
  // notifications have a client of their own, so that the count is the room's alone (the two back
  // off with random delays of their own: a shared count could hold either's fourth attempt).
  let tickets = 0;
  const counting: typeof fetch = (input, init) => (String(input).endsWith('/api/ws-tickets/') && tickets++, fetch(input, init));
  const c = client(baseUrl, token, { WebSocket: ws.Counting, fetch: counting });
  const forNotes = client(baseUrl, token, { WebSocket: ws.Counting });
  clients.push(c, forNotes);
  const room = c.room('r_1');
  const notes = forNotes.notifications();
  const r = watch(room);
  const n = watch(notes);
  // At the report: how many sockets and tickets the room had tried, and whether the reason on the room is it.
  const atReport: [number, number, boolean][] = [];
  room.on('error', (e) => atReport.push([ws.opens(ROOM_PATH), tickets, room.statusReason === e]));
  const ready = room.connect();
  ready.catch(() => {}); // asserted below; never unhandled if the test fails first

  await waitFor(() => r.errors.length === 1 && n.errors.length === 1, 'unreachable from both sockets');
  // No socket was opened: no URL, and so no token, for the browser to print.
  assert.equal(atReport.length, 1);
  assert.equal(atReport[0]![0], 0);
  assert.equal(atReport[0]![1], 3);
  assert.equal(atReport[0]![2], true);
  assertUnreachable(r.errors[0], baseUrl, token);
  assertUnreachable(n.errors[0], baseUrl, token);
  assert.equal(room.status, 'connecting');

  // Not final: the attempts go on, without another report.
  await waitFor(() => tickets >= 6, 'more attempts after the report');
  assert.equal(r.errors.length, 1);
  assert.equal(n.errors.length, 1);
  assert.equal(room.statusReason?.code, 'unreachable');

  const server = await spawnServer({ port });
  servers.push(server);
  // The room is r_1 in no server: 4404 is final. Notifications open.
  await assert.rejects(ready, { code: 'not_found' });
  await waitFor(() => notes.status === 'open', 'notifications open');
  const expected = [
    ['connecting', undefined],
    ['connecting', 'network'],
    ['connecting', 'unreachable'],
  ];
  assert.deepEqual(r.statuses, [...expected, ['closed', 'not_found']]);
  // Notifications start connecting as they are made, before a listener can be there.
  assert.deepEqual(n.statuses, [...expected.slice(1), ['open', undefined]]);
  assert.deepEqual(r.errors.map((e) => e.code), ['unreachable', 'not_found']);

  // A first frame ended the episode: losing the server again is a new one, reported again.
  await server.kill();
  await waitFor(() => n.errors.length === 2, 'unreachable again after the server went away');
  assert.deepEqual(n.statuses.slice(3), [
    ['reconnecting', 'network'],
    ['reconnecting', 'unreachable'],
  ]);
  assertUnreachable(n.errors[1], baseUrl, token);
});

test('a base URL that is some other HTTP server (404 on the upgrade) is unreachable', { timeout: 30_000 }, async () => {
  const other = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'));
  others.push(other);
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
  const token = mintToken(OWNER);
  const ws = countingWebSocket();
  const c = client(`${baseUrl}/`, token, { WebSocket: ws.Counting });
  clients.push(c);
  const room = c.room('r_1');
  const r = watch(room);
  room.connect().catch(() => {}); // rejected with `aborted` when the test ends
  await waitFor(() => r.errors.length === 1, 'unreachable');
  // The base URL as the client uses it, without the trailing slash. Its 404 to the ticket request
  // reads as a v1 server's: the socket then carried the token, and was refused.
  assertUnreachable(r.errors[0], baseUrl, token, 1006);
  assert.deepEqual(r.statuses, [
    ['connecting', undefined],
    ['connecting', 'network'],
    ['connecting', 'unreachable'],
  ]);
});

test('an origin not in ALLOWED_ORIGINS (403 on the upgrade) is unreachable; an allowed one opens', { timeout: 30_000 }, async () => {
  const server = await spawnServer({ env: { ALLOWED_ORIGINS: 'https://shop.example' } });
  servers.push(server);
  const { id } = await client(server.url, mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title: 'Brakes' });
  const token = mintToken(ADMIN);

  const refused = countingWebSocket('https://elsewhere.example');
  const c = client(server.url, token, { WebSocket: refused.Counting });
  clients.push(c);
  const room = c.room(id);
  const notes = c.notifications();
  const r = watch(room);
  const n = watch(notes);
  room.connect().catch(() => {}); // rejected with `aborted` when the test ends
  await waitFor(() => r.errors.length === 1 && n.errors.length === 1, 'unreachable from both sockets');
  assertUnreachable(r.errors[0], server.url, token, 1006);
  assertUnreachable(n.errors[0], server.url, token, 1006);
  await server.waitForLog((l) => l.includes('websocket origin refused') && l.includes('elsewhere.example'), 'the server logs the refused origin');

  const allowed = client(server.url, token, { WebSocket: countingWebSocket('https://shop.example').Counting });
  clients.push(allowed);
  await allowed.room(id).connect();
  assert.equal(allowed.room(id).status, 'open');
});
