import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { TICKET_TTL_MS } from '../src/tickets/tickets.js';
import { api, createRoom, socketTracker, startTestServer, suiteServer, TestSocket, token, unique } from './helpers/harness.js';

/**
 * Sessions (contract section 10): single-use WebSocket tickets instead of a
 * JWT in the URL, and sockets closed with 4401 when their token expires.
 */

const sockets = socketTracker();
const { track } = sockets;

/** A token of its own user, expiring `seconds` from now (JWT `exp` is in whole seconds). */
function shortToken(sub: string, seconds: number, role: 'user' | 'workshop_admin' = 'user', workshop?: string) {
  const exp = Math.floor(Date.now() / 1000) + seconds;
  return { jwt: token({ sub, role, ...(workshop && { workshop_id: workshop }), exp }), expiresAt: exp * 1000 };
}

/** Resolves once the wall clock has passed `at` (ms): what an expiry test waits for, not an event. */
async function past(at: number): Promise<void> {
  while (Date.now() < at) await new Promise((resolve) => setTimeout(resolve, at - Date.now() + 1));
}

async function ticketFor(base: string, jwt: string): Promise<{ ticket: string; expires_in: number }> {
  const res = await api(base, 'POST', '/api/ws-tickets/', jwt);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

const chatWithTicket = (server: { wsUrl: string }, roomId: string, ticket: string) =>
  new TestSocket(`${server.wsUrl}/ws/service-chat/${encodeURIComponent(roomId)}/?ticket=${encodeURIComponent(ticket)}`);

async function room(base: string) {
  const ownerId = unique('u');
  const ownerToken = token({ sub: ownerId, role: 'user', name: 'Ana' });
  const created = await createRoom(base, ownerToken, unique('w'));
  return { ownerId, ownerToken, roomId: created.id };
}

describe('websocket tickets', () => {
  const server = suiteServer({}, sockets);

  test('POST /api/ws-tickets/ answers a ticket that is not the JWT, valid for 30 s, never cached', async () => {
    const { ownerToken } = await room(server.url);
    const res = await api(server.url, 'POST', '/api/ws-tickets/', ownerToken);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['expires_in', 'ticket']);
    assert.equal(res.body.expires_in, TICKET_TTL_MS / 1000);
    assert.equal(res.body.expires_in, 30);
    assert.match(res.body.ticket, /^[A-Za-z0-9_-]+$/);
    assert.ok(!res.body.ticket.includes(ownerToken.split('.')[1]!));
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test('without a valid bearer token there is no ticket (401)', async () => {
    assert.equal((await api(server.url, 'POST', '/api/ws-tickets/', null)).status, 401);
    assert.equal((await api(server.url, 'POST', '/api/ws-tickets/', token({ sub: 'u', role: 'user' }, 'another-secret-of-32-characters-or-more'))).status, 401);
  });

  test('a ticket opens one socket as its token would; a second use is closed 4401', async () => {
    const { ownerId, ownerToken, roomId } = await room(server.url);
    const { ticket } = await ticketFor(server.url, ownerToken);
    const first = track(chatWithTicket(server, roomId, ticket));
    const ready = await first.ready();
    assert.deepEqual(ready.me, { id: ownerId, role: 'user', name: 'Ana' });
    first.send({ type: 'message', body: 'over a ticket', client_id: 'c-ticket' });
    assert.equal((await first.next('message')).message.sender.id, ownerId);

    const second = track(chatWithTicket(server, roomId, ticket));
    assert.deepEqual(await second.closed, { code: 4401, reason: 'invalid or expired token or ticket' });
    assert.equal(second.frames.length, 0);
  });

  test('a notifications socket takes a ticket too, once', async () => {
    const { ownerToken } = await room(server.url);
    const { ticket } = await ticketFor(server.url, ownerToken);
    const url = `${server.wsUrl}/ws/notifications/?ticket=${encodeURIComponent(ticket)}`;
    const first = track(new TestSocket(url));
    assert.equal((await first.ready()).type, 'unread');
    assert.equal((await track(new TestSocket(url)).closed).code, 4401);
  });

  test('a tampered ticket is closed 4401', async () => {
    const { ownerToken, roomId } = await room(server.url);
    const { ticket } = await ticketFor(server.url, ownerToken);
    const middle = Math.floor(ticket.length / 2);
    const flipped = ticket.slice(0, middle) + (ticket[middle] === 'A' ? 'B' : 'A') + ticket.slice(middle + 1);
    assert.equal((await track(chatWithTicket(server, roomId, flipped)).closed).code, 4401);
    assert.equal((await track(chatWithTicket(server, roomId, ticket.slice(0, -2))).closed).code, 4401);
    assert.equal((await track(chatWithTicket(server, roomId, 'not-a-ticket')).closed).code, 4401);
    // The JWT itself is no ticket.
    assert.equal((await track(chatWithTicket(server, roomId, ownerToken)).closed).code, 4401);
    // Untouched, it still works: the refusals above did not use it up.
    await track(chatWithTicket(server, roomId, ticket)).ready();
  });

  test("a ticket of another server's secret is closed 4401", async () => {
    const other = await startTestServer({ jwtSecret: 'another-secret-of-32-characters-or-more' });
    try {
      const { roomId } = await room(server.url);
      const foreign = await ticketFor(other.url, token({ sub: 'u-x', role: 'user' }, 'another-secret-of-32-characters-or-more'));
      assert.equal((await track(chatWithTicket(server, roomId, foreign.ticket)).closed).code, 4401);
    } finally {
      await other.stop();
    }
  });

  test('a ticket lives no longer than its token: expires_in is cut, and once the token expires it is 4401', async () => {
    const { roomId } = await room(server.url);
    const short = shortToken(unique('u'), 2);
    const { ticket, expires_in } = await ticketFor(server.url, short.jwt);
    assert.ok(expires_in <= 2, `expires_in ${expires_in}`);
    await past(short.expiresAt);
    assert.equal((await track(chatWithTicket(server, roomId, ticket)).closed).code, 4401);
  });

  test('?token= keeps working', async () => {
    const { ownerToken, roomId } = await room(server.url);
    await track(TestSocket.chat(server, roomId, ownerToken)).ready();
  });
});

describe('websocket tickets: rate limit and logs', () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const server = suiteServer({ limits: { httpRateLimit: 3 }, allowedOrigins: ['https://app.example'] }, sockets, { logger });

  test('issuing tickets counts against the REST rate limit (429)', async () => {
    const jwt = token({ sub: unique('u'), role: 'user' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api(server.url, 'POST', '/api/ws-tickets/', jwt)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
  });

  test('neither a ticket nor a token is ever logged', async () => {
    const jwt = token({ sub: unique('u'), role: 'user' });
    const { ticket } = await ticketFor(server.url, jwt);
    const refused = track(
      new TestSocket(`${server.wsUrl}/ws/notifications/?ticket=${encodeURIComponent(ticket)}&token=${jwt}`, { origin: 'https://evil.example' }),
    );
    await refused.closed;
    const used = track(new TestSocket(`${server.wsUrl}/ws/notifications/?ticket=${encodeURIComponent(ticket)}`, { origin: 'https://app.example' }));
    await used.ready();
    await used.close();
    await track(new TestSocket(`${server.wsUrl}/ws/notifications/?ticket=${encodeURIComponent(ticket)}`, { origin: 'https://app.example' })).closed;
    const logged = JSON.stringify(lines);
    assert.ok(lines.some((line) => line.msg === 'websocket origin refused'), 'the refusal was logged');
    assert.ok(!logged.includes(ticket), 'a ticket was logged');
    assert.ok(!logged.includes(jwt.split('.')[2]!), 'a token was logged');
  });
});

// A socket that is never closed would hang its test, not fail it.
describe('sessions end on time', { timeout: 20_000 }, () => {
  const server = suiteServer({}, sockets);

  test('a chat socket is closed 4401 when its token expires, and a frame sent after exp is not stored', async () => {
    const { ownerId, ownerToken, roomId } = await room(server.url);
    const short = shortToken(ownerId, 2);
    const socket = track(TestSocket.chat(server, roomId, short.jwt));
    await socket.ready();
    socket.send({ type: 'message', body: 'before exp', client_id: 'c-before' });
    await socket.next('message');
    await past(short.expiresAt);
    socket.send({ type: 'message', body: 'after exp', client_id: 'c-after' });
    const closed = await socket.closed;
    assert.deepEqual(closed, { code: 4401, reason: 'token expired' });
    const history = await api(server.url, 'GET', `/api/service-requests/${roomId}/messages/`, ownerToken);
    assert.deepEqual(
      history.body.messages.map((m: { client_id: string }) => m.client_id),
      ['c-before'],
    );
  });

  test('an idle socket is closed 4401 at exp, not before', async () => {
    const { ownerId, roomId } = await room(server.url);
    const short = shortToken(ownerId, 2);
    const socket = track(TestSocket.chat(server, roomId, short.jwt));
    await socket.ready();
    const closed = await socket.closed;
    const at = Date.now();
    assert.deepEqual(closed, { code: 4401, reason: 'token expired' });
    assert.ok(at >= short.expiresAt, `closed ${short.expiresAt - at} ms before exp`);
  });

  test('a notifications socket opened with a ticket is closed 4401 when the ticket’s token expires', async () => {
    const short = shortToken(unique('u'), 2);
    const { ticket } = await ticketFor(server.url, short.jwt);
    const socket = track(new TestSocket(`${server.wsUrl}/ws/notifications/?ticket=${encodeURIComponent(ticket)}`));
    await socket.ready();
    assert.deepEqual(await socket.closed, { code: 4401, reason: 'token expired' });
    assert.ok(Date.now() >= short.expiresAt);
  });
});
