import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { MongoNetworkError, MongoServerError } from 'mongodb';
import pino from 'pino';
import WebSocket from 'ws';
import { isStoreUnavailable, StoreUnavailableError } from '../src/store/failures.js';
import { FaultyStore, sqliteError, startFaultyServer } from './helpers/faulty-store.js';
import { api, createRoom, type Frame, socketTracker, TestSocket, type TestServer, token, unique } from './helpers/harness.js';

/**
 * Faults of the storage, injected with a FaultyStore around the real store
 * (SQLite, or MongoDB in that pass) of a real server: transient failures are `unavailable` (never
 * `invalid`), store nothing, and a retry with the same client_id stores once.
 */

const { track, closeAll } = socketTracker();

interface Cast {
  roomId: string;
  ownerId: string;
  ownerToken: string;
  adminToken: string;
}

async function cast(server: TestServer): Promise<Cast> {
  const ownerId = unique('u');
  const workshopId = unique('w');
  const ownerToken = token({ sub: ownerId, role: 'user', name: 'Ana' });
  const adminToken = token({ sub: unique('a'), role: 'workshop_admin', workshop_id: workshopId, name: 'Bo' });
  const room = await createRoom(server.url, ownerToken, workshopId);
  return { roomId: room.id, ownerId, ownerToken, adminToken };
}

/** Log lines, parsed, as the server writes them. */
function capturingLogger() {
  const lines: Array<Record<string, any>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('storage faults', () => {
  let server: TestServer;
  let store: FaultyStore;
  const log = capturingLogger();
  const messagesPath = (c: Cast) => `/api/service-requests/${c.roomId}/messages/`;
  const storedMessages = async (c: Cast) => (await api(server.url, 'GET', messagesPath(c), c.ownerToken)).body.messages as Frame[];
  const chat = async (c: Cast, auth: string) => {
    const socket = track(TestSocket.chat(server, c.roomId, auth));
    await socket.ready();
    return socket;
  };

  before(async () => {
    ({ server, store } = await startFaultyServer({ allowedOrigins: ['https://host.example'] }, log.logger));
  });
  afterEach(closeAll);
  after(async () => {
    await closeAll();
    await server.stop();
  });

  test('REST: a full disk is 503 unavailable with Retry-After, stores nothing; the retry stores exactly one', async () => {
    const c = await cast(server);
    store.fail('appendMessage', () => sqliteError('SQLITE_FULL'));
    const refused = await api(server.url, 'POST', messagesPath(c), c.ownerToken, { body: 'hello', client_id: 'c-1' }, {
      origin: 'https://host.example',
    });
    assert.equal(refused.status, 503);
    // A widget on another origin can read the hint.
    assert.equal(refused.headers.get('access-control-expose-headers'), 'X-Request-Id, Retry-After');
    assert.deepEqual(refused.body, {
      error: { code: 'unavailable', message: 'the chat server cannot store this right now; retry shortly' },
    });
    assert.equal(refused.headers.get('retry-after'), '2');
    assert.deepEqual(await storedMessages(c), []);

    const retried = await api(server.url, 'POST', messagesPath(c), c.ownerToken, { body: 'hello', client_id: 'c-1' });
    assert.equal(retried.status, 201);
    assert.equal(retried.body.message.seq, 1);
    const again = await api(server.url, 'POST', messagesPath(c), c.ownerToken, { body: 'hello', client_id: 'c-1' });
    assert.deepEqual([again.status, again.body.message], [200, retried.body.message]);
    assert.deepEqual(await storedMessages(c), [retried.body.message]);
  });

  test('WS: an I/O error is an unavailable error frame with the client_id; the socket stays open; the retry stores once', async () => {
    const c = await cast(server);
    const owner = await chat(c, c.ownerToken);
    const admin = await chat(c, c.adminToken);
    store.fail('appendMessage', () => sqliteError('SQLITE_IOERR_WRITE', 'disk I/O error'));
    owner.send({ type: 'message', body: 'hello', client_id: 'c-ws' });
    const error = await owner.next('error');
    assert.deepEqual(error, {
      type: 'error',
      code: 'unavailable',
      message: 'the chat server cannot store this right now; retry shortly',
      client_id: 'c-ws',
    });
    owner.send({ type: 'ping' });
    await owner.next('pong');
    assert.equal(owner.ws.readyState, WebSocket.OPEN);
    assert.deepEqual(await storedMessages(c), []);

    owner.send({ type: 'message', body: 'hello', client_id: 'c-ws' });
    const ack = (await owner.next('message', (f) => f.message.client_id === 'c-ws')).message;
    assert.equal(ack.seq, 1);
    await admin.next('message', (f) => f.message.client_id === 'c-ws');
    assert.deepEqual(await storedMessages(c), [ack]);
    assert.deepEqual(owner.of('message').length, 1);
    assert.deepEqual(admin.of('message').length, 1);
  });

  test('storage failing for a while: every retry is unavailable and stores nothing; once it clears, one retry stores one', async () => {
    const c = await cast(server);
    const owner = await chat(c, c.ownerToken);
    const clear = store.failWhile('appendMessage', () => sqliteError('SQLITE_BUSY', 'database is locked'));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const rest = await api(server.url, 'POST', messagesPath(c), c.ownerToken, { body: 'rest', client_id: 'w-rest' });
      assert.deepEqual([rest.status, rest.body.error.code], [503, 'unavailable']);
      owner.send({ type: 'message', body: 'ws', client_id: 'w-ws' });
      await owner.until((fs) => fs.filter((f) => f.type === 'error').length === attempt, `error ${attempt}`);
    }
    assert.deepEqual(owner.of('error').map((f) => [f.code, f.client_id]), Array(3).fill(['unavailable', 'w-ws']));
    assert.deepEqual(await storedMessages(c), []);
    clear();
    const rest = await api(server.url, 'POST', messagesPath(c), c.ownerToken, { body: 'rest', client_id: 'w-rest' });
    owner.send({ type: 'message', body: 'ws', client_id: 'w-ws' });
    const ack = await owner.next('message', (f) => f.message.client_id === 'w-ws');
    assert.deepEqual(
      (await storedMessages(c)).map((m) => [m.seq, m.client_id]),
      [[1, 'w-rest'], [2, 'w-ws']],
    );
    assert.deepEqual([rest.status, ack.message.seq], [201, 2]);
  });

  test('a MongoDB failover that withTransaction gave up on is unavailable too, on both paths', async () => {
    const c = await cast(server);
    const owner = await chat(c, c.ownerToken);
    const failover = () =>
      new MongoServerError({ message: 'not primary', code: 10107, errorLabels: ['TransientTransactionError'] });
    store.fail('appendMessage', failover, { times: 2 });
    const rest = await api(server.url, 'POST', messagesPath(c), c.ownerToken, { body: 'a', client_id: 'm-1' });
    assert.deepEqual([rest.status, rest.body.error.code], [503, 'unavailable']);
    owner.send({ type: 'message', body: 'b', client_id: 'm-2' });
    assert.equal((await owner.next('error')).code, 'unavailable');
    assert.deepEqual(await storedMessages(c), []);
  });

  test('an unexpected bug is 500 internal over REST and unavailable over WS, never invalid', async () => {
    const c = await cast(server);
    const owner = await chat(c, c.ownerToken);
    store.fail('appendMessage', () => new TypeError('a bug'), { times: 2 });
    const rest = await api(server.url, 'POST', messagesPath(c), c.ownerToken, { body: 'a', client_id: 'b-1' });
    assert.deepEqual([rest.status, rest.body], [500, { error: { code: 'internal', message: 'internal error' } }]);
    owner.send({ type: 'message', body: 'b', client_id: 'b-2' });
    assert.deepEqual(await owner.next('error'), { type: 'error', code: 'unavailable', message: 'internal error', client_id: 'b-2' });
  });

  test('a read that fails is answered unavailable, and a listing 503', async () => {
    const c = await cast(server);
    const owner = await chat(c, c.ownerToken);
    store.fail('advanceCursor', () => sqliteError('SQLITE_BUSY', 'database is locked'));
    owner.send({ type: 'read' });
    assert.deepEqual(await owner.next('error'), {
      type: 'error',
      code: 'unavailable',
      message: 'the chat server cannot store this right now; retry shortly',
    });
    store.fail('listRooms', () => sqliteError('SQLITE_IOERR_READ', 'disk I/O error'));
    const list = await api(server.url, 'GET', '/api/service-requests/', c.ownerToken);
    assert.deepEqual([list.status, list.body.error.code], [503, 'unavailable']);
  });

  test('one failure shared by several appends (a failed SQLite batch) is logged once, with context', async () => {
    const c = await cast(server);
    const owner = await chat(c, c.ownerToken);
    const shared = sqliteError('SQLITE_FULL');
    store.fail('appendMessage', () => shared, { times: 3 });
    const before = log.lines.length;
    for (const id of ['x-1', 'x-2', 'x-3']) owner.send({ type: 'message', body: id, client_id: id });
    await owner.until((fs) => fs.filter((f) => f.type === 'error').length === 3, 'three errors');
    assert.deepEqual(
      owner.of('error').map((f) => [f.code, f.client_id]),
      [['unavailable', 'x-1'], ['unavailable', 'x-2'], ['unavailable', 'x-3']],
    );
    const logged = log.lines.slice(before).filter((l) => l.msg === 'storage unavailable');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.user, c.ownerId);
    assert.equal(logged[0]!.client_id, 'x-1');
    assert.equal(logged[0]!.err.code, 'SQLITE_FULL');
  });

  test('a chat socket whose setup fails is closed with 1013 and its closing handshake is read', async () => {
    const c = await cast(server);
    let getRoomCalls = 0;
    // The socket's one read of the room, after it subscribed: a failure there once escaped to the upgrade handler.
    store.fail('getRoom', () => sqliteError('SQLITE_IOERR_READ', 'disk I/O error'), { match: () => ++getRoomCalls === 1 });
    const socket = track(TestSocket.chat(server, c.roomId, c.ownerToken));
    const started = Date.now();
    const closed = await Promise.race([
      socket.closed,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000).unref()),
    ]);
    assert.deepEqual(closed, { code: 1013, reason: 'the chat server cannot store this right now; retry shortly' });
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(socket.frames, []);
  });
});

describe('ordering under a slow store', () => {
  let server: TestServer;
  let store: FaultyStore;
  before(async () => {
    ({ server, store } = await startFaultyServer());
  });
  afterEach(closeAll);
  after(async () => {
    await closeAll();
    await server.stop();
  });
  const send = (c: Cast, auth: string, body: string) =>
    api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, auth, { body, client_id: body });
  const isAna = (c: Cast) => (principal: { side: string; userId?: string }) =>
    principal.side === 'user' && principal.userId === c.ownerId;

  test('a message published after ready but with seq <= last_seq is not sent live: it came with the history', async () => {
    const c = await cast(server);
    const held = store.hold('appendMessage');
    const first = send(c, c.adminToken, 'one');
    await held.reached;
    const owner = track(TestSocket.chat(server, c.roomId, c.ownerToken));
    assert.equal((await owner.ready()).last_seq, 1);
    held.release();
    assert.equal((await first).body.message.seq, 1);
    assert.equal((await send(c, c.adminToken, 'two')).body.message.seq, 2);
    await owner.next('message', (f) => f.message.seq === 2);
    assert.deepEqual(owner.of('message').map((f) => f.message.seq), [2]);
  });

  /** The badge a notifications socket shows after its frames so far: the last count it was told for the room. */
  const badge = (frames: Frame[], roomId: string) => {
    let count: number | undefined;
    for (const f of frames) {
      if (f.type === 'unread') count = f.rooms[roomId] ?? 0;
      if (f.type === 'notification' && f.request_id === roomId) count = f.unread.count;
    }
    return count;
  };

  test('a notification counted before a read is not published after the read snapshot', async () => {
    const c = await cast(server);
    const notes = track(TestSocket.notifications(server, c.ownerToken));
    await notes.ready();
    const chat = track(TestSocket.chat(server, c.roomId, c.adminToken));
    await chat.ready();
    // The append is committed (its counts taken) but its answer is slow to come back.
    const counted = store.hold('appendMessage');
    const sent = send(c, c.adminToken, 'one');
    await counted.reached;
    const read = api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/read/`, c.ownerToken, {});
    // The read frame goes out just before the read's snapshot is taken (and, unordered, published).
    await chat.next('read');
    counted.release();
    assert.equal((await sent).status, 201);
    assert.equal((await read).body.unread, 0);
    await notes.until((fs) => fs.some((f) => f.type === 'notification') && fs.filter((f) => f.type === 'unread').length === 2);
    assert.deepEqual(notes.frames.slice(1).map((f) => f.type), ['notification', 'unread']);
    assert.equal(badge(notes.frames, c.roomId), 0);
  });

  test('a read snapshot taken before a new message is not published after its notification', async () => {
    const c = await cast(server);
    const notes = track(TestSocket.notifications(server, c.ownerToken));
    await notes.ready();
    const chat = track(TestSocket.chat(server, c.roomId, c.ownerToken));
    await chat.ready();
    await send(c, c.adminToken, 'one');
    await notes.next('notification');
    const readSnapshot = store.hold('unread', isAna(c));
    const read = api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/read/`, c.ownerToken, {});
    await readSnapshot.reached;
    const sent = send(c, c.adminToken, 'two');
    // The message frame goes out just before its notification's snapshot is taken (and, unordered, published).
    await chat.next('message', (f) => f.message.seq === 2);
    readSnapshot.release();
    assert.equal((await read).body.unread, 0);
    assert.equal((await sent).status, 201);
    await notes.until((fs) => fs.filter((f) => f.type === 'notification').length === 2 && fs.filter((f) => f.type === 'unread').length === 2);
    assert.deepEqual(notes.frames.slice(1).map((f) => f.type), ['notification', 'unread', 'notification']);
    assert.equal(badge(notes.frames, c.roomId), 1);
  });

  test('an erasure that commits between a message\'s commit and its publication is told after the message, never before', async () => {
    const c = await cast(server);
    const workshop = track(TestSocket.chat(server, c.roomId, c.adminToken));
    await workshop.ready();
    const committed = store.hold('appendMessage');
    const sent = send(c, c.ownerToken, 'my door code is 4711');
    await committed.reached;
    const service = token({ sub: 'host-backend', role: 'service' });
    const erased = await api(server.url, 'DELETE', `/api/users/${c.ownerId}/messages/`, service);
    assert.deepEqual([erased.status, erased.body], [200, { redacted: 1 }]);
    committed.release();
    assert.equal((await sent).status, 201);
    await workshop.next('message_redacted');
    assert.deepEqual(
      workshop.frames.filter((f) => f.type === 'message' || f.type === 'message_redacted').map((f) => [f.type, f.seq ?? f.message.seq]),
      [
        ['message', 1],
        ['message_redacted', 1],
      ],
    );
  });
});

describe('which storage failures are transient', () => {
  test('SQLite storage failures, by primary or extended code', () => {
    for (const code of ['SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_LOCKED']) {
      assert.equal(isStoreUnavailable(sqliteError(code, 'x')), true, code);
    }
    for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_MISMATCH']) {
      assert.equal(isStoreUnavailable(sqliteError(code, 'x')), false, code);
    }
  });

  test('MongoDB network errors, failover codes and transient labels; not other server errors or bugs', () => {
    assert.equal(isStoreUnavailable(new MongoNetworkError('connection reset')), true);
    assert.equal(isStoreUnavailable(new MongoServerError({ message: 'stepped down', code: 189 })), true);
    assert.equal(isStoreUnavailable(new MongoServerError({ message: 'x', code: 2, errorLabels: ['UnknownTransactionCommitResult'] })), true);
    assert.equal(isStoreUnavailable(new MongoServerError({ message: 'bad query', code: 2 })), false);
    assert.equal(isStoreUnavailable(new StoreUnavailableError('store is closed')), true);
    assert.equal(isStoreUnavailable(new TypeError('a bug')), false);
    assert.equal(isStoreUnavailable('a string'), false);
  });
});
