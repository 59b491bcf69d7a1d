import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Socket } from 'node:net';
import WebSocket from 'ws';
import { admin, api, createRoom, type Frame, owner, startTestServer, TestSocket, type TestServer, token, socketTracker, unique, suiteServer } from './helpers/harness.js';
import { testStoreKind } from './helpers/test-store.js';

/**
 * The chat WebSocket (contract sections 5 and 8) against the real server.
 * Every test opens its own room with its own users, so rate-limit buckets and
 * unread counts of one test never leak into another.
 */

const sockets = socketTracker();
const { track, closeAll } = sockets;

interface Cast {
  server: TestServer;
  roomId: string;
  ownerId: string;
  adminId: string;
  workshopId: string;
  ownerToken: string;
  adminToken: string;
}

async function cast(server: TestServer, names: { owner?: string | null; admin?: string | null } = {}): Promise<Cast> {
  const ownerId = unique('u');
  const adminId = unique('a');
  const workshopId = unique('w');
  const ownerName = names.owner === undefined ? 'Ana' : names.owner;
  const adminName = names.admin === undefined ? 'Bo' : names.admin;
  const ownerToken = token({ sub: ownerId, role: 'user', ...(ownerName === null ? {} : { name: ownerName }) });
  const adminToken = token({
    sub: adminId,
    role: 'workshop_admin',
    workshop_id: workshopId,
    ...(adminName === null ? {} : { name: adminName }),
  });
  const room = await createRoom(server.url, ownerToken, workshopId);
  return { server, roomId: room.id, ownerId, adminId, workshopId, ownerToken, adminToken };
}

async function chat(c: Cast, auth: string, options?: WebSocket.ClientOptions): Promise<TestSocket> {
  const socket = track(TestSocket.chat(c.server, c.roomId, auth, options));
  await socket.ready();
  return socket;
}

const messagesOf = (s: TestSocket) => s.of('message').map((f) => f.message);
const withId = (s: TestSocket, id: string) => s.of('message').filter((f) => f.message.id === id);

async function stored(c: Cast, query = '') {
  const res = await api(c.server.url, 'GET', `/api/service-requests/${c.roomId}/messages/${query}`, c.ownerToken);
  assert.equal(res.status, 200);
  return res.body as { messages: Frame[]; has_more: boolean; read_cursors: { user: number; workshop: number } };
}

async function roomState(c: Cast) {
  const res = await api(c.server.url, 'GET', `/api/service-requests/${c.roomId}/`, c.ownerToken);
  assert.equal(res.status, 200);
  return res.body as { last_seq: number; read_cursors: { user: number; workshop: number } };
}

/** Sends over WS and waits for the sender's own echo (the ack), matched by client_id. */
async function sendWs(socket: TestSocket, body: string, clientId = unique('c')): Promise<Frame> {
  const me = (await socket.ready()).me.id;
  socket.send({ type: 'message', body, client_id: clientId });
  const frame = await socket.next('message', (f) => f.message.client_id === clientId && f.message.sender.id === me);
  return frame.message;
}

/** Waits until every socket has received the message with this client_id; returns it. */
async function arrivedAt(client_id: string, ...all: TestSocket[]): Promise<Frame> {
  const frames = await Promise.all(all.map((s) => s.next('message', (f) => f.message.client_id === client_id)));
  return frames[0]!.message;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('chat socket', () => {
  const server = suiteServer({}, sockets);

  test('ready frame has exactly request_id, last_seq, read_cursors and me', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    assert.deepEqual(o.frames, [
      {
        type: 'ready',
        request_id: c.roomId,
        last_seq: 0,
        read_cursors: { user: 0, workshop: 0 },
        me: { id: c.ownerId, role: 'user', name: 'Ana' },
      },
    ]);
    const a = await chat(c, c.adminToken);
    assert.deepEqual(a.frames[0], {
      type: 'ready',
      request_id: c.roomId,
      last_seq: 0,
      read_cursors: { user: 0, workshop: 0 },
      me: { id: c.adminId, role: 'workshop_admin', name: 'Bo' },
    });
  });

  test('ready frame: a token without name gives me.name null', async () => {
    const c = await cast(server, { owner: null, admin: null });
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    assert.deepEqual(o.frames[0]!.me, { id: c.ownerId, role: 'user', name: null });
    assert.deepEqual(a.frames[0]!.me, { id: c.adminId, role: 'workshop_admin', name: null });
  });

  test('a message is broadcast to every socket of the room, the sender included, and stored', async () => {
    const c = await cast(server);
    const o1 = await chat(c, c.ownerToken);
    const o2 = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    o1.send({ type: 'message', body: 'Brakes squeak', client_id: 'c-first' });
    const [ack, tab, other] = await Promise.all(
      [o1, o2, a].map((s) => s.next('message', (f) => f.message.client_id === 'c-first')),
    );
    const message = ack!.message;
    assert.match(message.id, /.+/);
    assert.match(message.created_at, ISO);
    assert.deepEqual(message, {
      id: message.id,
      request_id: c.roomId,
      seq: 1,
      sender: { id: c.ownerId, role: 'user', name: 'Ana' },
      body: 'Brakes squeak',
      client_id: 'c-first',
      created_at: message.created_at,
    });
    assert.deepEqual(tab, ack);
    assert.deepEqual(other, ack);
    const page = await stored(c);
    assert.deepEqual(page.messages, [message]);
    assert.equal((await roomState(c)).last_seq, 1);
  });

  test('an admin message reaches the owner; a message without client_id has client_id null', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    a.send({ type: 'message', body: 'We will look at it' });
    const [mine, theirs] = await Promise.all([a.next('message'), o.next('message')]);
    assert.deepEqual(mine, theirs);
    assert.equal(mine.message.client_id, null);
    assert.deepEqual(mine.message.sender, { id: c.adminId, role: 'workshop_admin', name: 'Bo' });
    assert.deepEqual((await stored(c)).messages, [mine.message]);
  });

  test('body is trimmed and its length is counted in code points (4000 emoji ok, 4001 invalid)', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const trimmed = await sendWs(o, ' \n\t  hello  there \n ');
    assert.equal(trimmed.body, 'hello  there');
    const emoji = '😀'.repeat(4000);
    assert.equal(emoji.length, 8000, 'UTF-16 length is twice the code points');
    const max = await sendWs(o, `  ${emoji}\n`);
    assert.equal(max.body, emoji);
    assert.equal([...max.body].length, 4000);

    o.send({ type: 'message', body: '😀'.repeat(4001), client_id: 'too-long' });
    const error = await o.next('error');
    assert.deepEqual(error, { type: 'error', code: 'invalid', message: error.message, client_id: 'too-long' });
    assert.equal(typeof error.message, 'string');
    o.send({ type: 'message', body: 'a'.repeat(4001), client_id: 'too-long-ascii' });
    const error2 = await o.next('error', (f) => f.client_id === 'too-long-ascii');
    assert.equal(error2.code, 'invalid');
    const page = await stored(c);
    assert.deepEqual(
      page.messages.map((m) => m.body),
      ['hello  there', emoji],
    );
    assert.equal(o.ws.readyState, WebSocket.OPEN);
  });

  test('a repeated client_id over WS answers the sender alone: no second broadcast, no second notification', async () => {
    const c = await cast(server);
    const o1 = await chat(c, c.ownerToken);
    const o2 = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    const notes = track(TestSocket.notifications(server, c.adminToken));
    await notes.ready();

    o1.send({ type: 'message', body: 'once', client_id: 'dup' });
    const first = await arrivedAt('dup', o1, o2, a);
    await notes.next('notification', (f) => f.message.id === first.id);

    o1.send({ type: 'message', body: 'once (again, different body)', client_id: 'dup' });
    const repeat = await o1.until((fs) => {
      const acks = fs.filter((f) => f.type === 'message' && f.message.client_id === 'dup');
      return acks.length === 2 && acks[1];
    }, 'the repeat answer');
    assert.deepEqual(repeat, { type: 'message', message: first });

    // A later marker: everything the repeat could have caused would be published before it.
    o1.send({ type: 'message', body: 'marker', client_id: 'marker' });
    const marker = await arrivedAt('marker', o1, o2, a);
    await notes.next('notification', (f) => f.message.id === marker.id);

    assert.equal(withId(o1, first.id).length, 2, 'the sender: broadcast + repeat answer');
    assert.equal(withId(o2, first.id).length, 1, "the sender's other tab saw it once");
    assert.equal(withId(a, first.id).length, 1, 'the other side saw it once');
    assert.deepEqual(
      notes.of('notification').map((f) => f.message.id),
      [first.id, marker.id],
      'one notification for the message, none for the repeat',
    );
    assert.deepEqual(
      (await stored(c)).messages.map((m) => [m.seq, m.body, m.client_id]),
      [
        [1, 'once', 'dup'],
        [2, 'marker', 'marker'],
      ],
    );
  });

  test('cross-path idempotency: REST then WS with the same client_id', async () => {
    const c = await cast(server);
    const o1 = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    const res = await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, c.ownerToken, {
      body: 'via rest',
      client_id: 'x-path',
    });
    assert.equal(res.status, 201);
    const message = res.body.message;
    await arrivedAt('x-path', o1, a);

    o1.send({ type: 'message', body: 'via ws', client_id: 'x-path' });
    const answer = await o1.until((fs) => {
      const acks = fs.filter((f) => f.type === 'message' && f.message.client_id === 'x-path');
      return acks.length === 2 && acks[1];
    }, 'the repeat answer');
    assert.deepEqual(answer, { type: 'message', message });

    o1.send({ type: 'message', body: 'marker', client_id: 'marker' });
    await arrivedAt('marker', o1, a);
    assert.equal(withId(a, message.id).length, 1);
    assert.deepEqual(
      (await stored(c)).messages.map((m) => m.body),
      ['via rest', 'marker'],
    );
  });

  test('cross-path idempotency: WS then REST with the same client_id answers 200 with the same message', async () => {
    const c = await cast(server);
    const o1 = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    const message = await sendWs(o1, 'via ws', 'x-path-2');
    await arrivedAt('x-path-2', a);
    const res = await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, c.ownerToken, {
      body: 'via rest',
      client_id: 'x-path-2',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message });

    o1.send({ type: 'message', body: 'marker', client_id: 'marker' });
    await arrivedAt('marker', o1, a);
    assert.equal(withId(a, message.id).length, 1);
    assert.equal(withId(o1, message.id).length, 1);
    assert.deepEqual(
      (await stored(c)).messages.map((m) => m.body),
      ['via ws', 'marker'],
    );
  });

  test('two different senders may use the same client_id', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    const mine = await sendWs(o, 'from owner', 'shared');
    await a.next('message', (f) => f.message.id === mine.id);
    const theirs = await sendWs(a, 'from admin', 'shared');
    await o.next('message', (f) => f.message.id === theirs.id);
    assert.notEqual(mine.id, theirs.id);
    assert.deepEqual([mine.seq, theirs.seq], [1, 2]);
    const rest1 = await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, c.ownerToken, {
      body: 'owner rest',
      client_id: 'shared-rest',
    });
    const rest2 = await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, c.adminToken, {
      body: 'admin rest',
      client_id: 'shared-rest',
    });
    assert.deepEqual([rest1.status, rest2.status], [201, 201]);
    assert.deepEqual(
      (await stored(c)).messages.map((m) => [m.seq, m.sender.id, m.client_id]),
      [
        [1, c.ownerId, 'shared'],
        [2, c.adminId, 'shared'],
        [3, c.ownerId, 'shared-rest'],
        [4, c.adminId, 'shared-rest'],
      ],
    );
  });

  test(
    'an owner and an admin whose ids happen to be equal are different senders for client_id',
    async () => {
      // Ids are opaque strings from the integrator: an owner "42" and an admin "42" are different people.
      const sub = unique('same');
      const workshopId = unique('w');
      const ownerToken = token({ sub, role: 'user', name: 'Ana' });
      const adminToken = token({ sub, role: 'workshop_admin', workshop_id: workshopId, name: 'Bo' });
      const room = await createRoom(server.url, ownerToken, workshopId);
      const c: Cast = { server, roomId: room.id, ownerId: sub, adminId: sub, workshopId, ownerToken, adminToken };
      const o = await chat(c, ownerToken);
      const a = await chat(c, adminToken);
      const mine = await sendWs(o, 'from owner', 'same-sub');
      await a.next('message', (f) => f.message.id === mine.id);
      const res = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, adminToken, {
        body: 'from admin',
        client_id: 'same-sub',
      });
      assert.equal(res.status, 201);
      assert.deepEqual(res.body.message.sender, { id: sub, role: 'workshop_admin', name: 'Bo' });
      assert.equal(res.body.message.body, 'from admin');
    },
  );

  test('read moves the cursor and is broadcast to every socket, the reader included', async () => {
    const c = await cast(server);
    const o1 = await chat(c, c.ownerToken);
    const o2 = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    for (const body of ['one', 'two', 'three']) await sendWs(a, body);
    await o1.until((fs) => fs.filter((f) => f.type === 'message').length === 3, 'three messages');

    o1.send({ type: 'read', last_read_seq: 2 });
    const expected = {
      type: 'read',
      request_id: c.roomId,
      side: 'user',
      reader: { id: c.ownerId, role: 'user' },
      last_read_seq: 2,
      read_cursors: { user: 2, workshop: 0 },
    };
    const frames = await Promise.all([o1, o2, a].map((s) => s.next('read')));
    for (const frame of frames) assert.deepEqual(frame, expected);
    assert.deepEqual((await roomState(c)).read_cursors, { user: 2, workshop: 0 });

    // The admin side reads through a socket too; its frame names the workshop side.
    a.send({ type: 'read', last_read_seq: 3 });
    const adminRead = await Promise.all([o1, o2, a].map((s) => s.next('read', (f) => f.side === 'workshop')));
    for (const frame of adminRead) {
      assert.deepEqual(frame, {
        type: 'read',
        request_id: c.roomId,
        side: 'workshop',
        reader: { id: c.adminId, role: 'workshop_admin' },
        last_read_seq: 3,
        read_cursors: { user: 2, workshop: 3 },
      });
    }
  });

  test('a read that does not move the cursor broadcasts nothing', async () => {
    const c = await cast(server);
    const o1 = await chat(c, c.ownerToken);
    const o2 = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    await sendWs(a, 'one');
    await sendWs(a, 'two');
    await o1.until((fs) => fs.filter((f) => f.type === 'message').length === 2, 'two messages');
    o1.send({ type: 'read', last_read_seq: 2 });
    await Promise.all([o1, o2, a].map((s) => s.next('read')));

    o1.send({ type: 'read', last_read_seq: 2 }); // same
    o1.send({ type: 'read', last_read_seq: 1 }); // backwards
    o2.send({ type: 'read' }); // latest == 2 already
    o1.send({ type: 'read', last_read_seq: 0 });
    // Marker: a message published after all four reads were handled.
    o1.send({ type: 'ping' });
    o2.send({ type: 'ping' });
    await Promise.all([o1.next('pong'), o2.next('pong')]);
    await sendWs(a, 'marker', 'marker');
    await arrivedAt('marker', o1, o2);
    for (const s of [o1, o2, a]) assert.equal(s.of('read').length, 1);
    for (const s of [o1, o2, a]) assert.deepEqual(s.of('error'), []);
    assert.deepEqual((await roomState(c)).read_cursors, { user: 2, workshop: 0 });
  });

  test('a read past the last seq is clamped to it; a read without last_read_seq means the latest', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    await sendWs(a, 'one');
    await sendWs(a, 'two');
    await sendWs(o, 'three');
    await o.until((fs) => fs.filter((f) => f.type === 'message').length === 3, 'three messages');

    o.send({ type: 'read', last_read_seq: 99 });
    const clamped = await a.next('read', (f) => f.side === 'user');
    assert.equal(clamped.last_read_seq, 3);
    assert.deepEqual(clamped.read_cursors, { user: 3, workshop: 0 });

    a.send({ type: 'read' });
    const latest = await o.next('read', (f) => f.side === 'workshop');
    assert.equal(latest.last_read_seq, 3);
    assert.deepEqual(latest.read_cursors, { user: 3, workshop: 3 });

    a.send({ type: 'read', last_read_seq: null });
    await sendWs(o, 'four');
    a.send({ type: 'read', last_read_seq: null });
    const nullIsLatest = await o.next('read', (f) => f.side === 'workshop' && f.last_read_seq === 4);
    assert.deepEqual(nullIsLatest.read_cursors, { user: 3, workshop: 4 });
    assert.deepEqual((await roomState(c)).read_cursors, { user: 3, workshop: 4 });
  });

  test('typing is relayed to every other socket of the room, not the sender', async () => {
    const c = await cast(server, { admin: null });
    const o1 = await chat(c, c.ownerToken);
    const o2 = await chat(c, c.ownerToken);
    const a1 = await chat(c, c.adminToken);
    const a2 = await chat(c, c.adminToken);

    o1.send({ type: 'typing', is_typing: true });
    const expected = { type: 'typing', user: { id: c.ownerId, role: 'user', name: 'Ana' }, is_typing: true };
    for (const s of [o2, a1, a2]) assert.deepEqual(await s.next('typing'), expected);

    // Marker for the sender: a later typing frame of someone else reaches it first and alone.
    a1.send({ type: 'typing', is_typing: false });
    const fromAdmin = { type: 'typing', user: { id: c.adminId, role: 'workshop_admin', name: null }, is_typing: false };
    for (const s of [o1, o2, a2]) await s.next('typing', (f) => f.user.id === c.adminId);
    assert.deepEqual(o1.of('typing'), [fromAdmin]);
    assert.deepEqual(o2.of('typing'), [expected, fromAdmin]);
    assert.deepEqual(a2.of('typing'), [expected, fromAdmin]);
    assert.deepEqual(a1.of('typing'), [expected]);
    // Not stored.
    assert.deepEqual((await stored(c)).messages, []);
  });

  test('typing with a missing or non-boolean is_typing is invalid', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    o.send({ type: 'typing' });
    o.send({ type: 'typing', is_typing: 'yes', client_id: 't-1' });
    o.send({ type: 'typing', is_typing: 1 });
    o.send({ type: 'typing', is_typing: null });
    const errors = await o.until((fs) => {
      const e = fs.filter((f) => f.type === 'error');
      return e.length === 4 && e;
    }, 'four errors');
    assert.deepEqual(
      errors.map((e) => [e.code, e.client_id]),
      [
        ['invalid', undefined],
        ['invalid', 't-1'],
        ['invalid', undefined],
        ['invalid', undefined],
      ],
    );
    await sendWs(o, 'marker', 'marker');
    await arrivedAt('marker', a);
    assert.deepEqual(a.of('typing'), []);
  });

  test('without client_id there is no idempotency: the same body twice is two messages', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    o.send({ type: 'message', body: 'same' });
    o.send({ type: 'message', body: 'same', client_id: null });
    await a.until((fs) => fs.filter((f) => f.type === 'message').length === 2, 'two messages');
    await o.until((fs) => fs.filter((f) => f.type === 'message').length === 2, 'two acks');
    assert.deepEqual(
      (await stored(c)).messages.map((m) => [m.seq, m.body, m.client_id]),
      [
        [1, 'same', null],
        [2, 'same', null],
      ],
    );
  });

  test('a read over REST is broadcast to the room sockets too', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    await sendWs(o, 'one');
    await sendWs(o, 'two');
    const res = await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/read/`, c.adminToken, {
      last_read_seq: 1,
    });
    assert.deepEqual(res.body, { read_cursors: { user: 0, workshop: 1 }, unread: 1 });
    const expected = {
      type: 'read',
      request_id: c.roomId,
      side: 'workshop',
      reader: { id: c.adminId, role: 'workshop_admin' },
      last_read_seq: 1,
      read_cursors: { user: 0, workshop: 1 },
    };
    for (const s of [o, a]) assert.deepEqual(await s.next('read'), expected);
  });

  test('ping answers pong', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    o.send({ type: 'ping' });
    assert.deepEqual(await o.next('pong'), { type: 'pong' });
    assert.equal(o.frames.length, 2);
  });

  test('bad input gets invalid error frames, echoing client_id, and the socket stays open', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    const cases: Array<[string, string | Buffer | object, string | undefined]> = [
      ['not JSON', '{"type": "message", "body": ', undefined],
      ['JSON array', '[{"type":"ping"}]', undefined],
      ['JSON string', '"ping"', undefined],
      ['JSON null', 'null', undefined],
      ['no type', { body: 'hi', client_id: 'no-type' }, 'no-type'],
      ['non-string type', { type: 5, client_id: 'num-type' }, 'num-type'],
      ['no type, no client_id', { body: 'hi' }, undefined],
      ['unknown type', { type: 'shout', client_id: 'unknown' }, 'unknown'],
      ['unknown type, no client_id', { type: 'shout' }, undefined],
      ['message without body', { type: 'message', client_id: 'no-body' }, 'no-body'],
      ['body not a string', { type: 'message', body: 42, client_id: 'num-body' }, 'num-body'],
      ['body an object', { type: 'message', body: { text: 'x' } }, undefined],
      ['empty body', { type: 'message', body: '', client_id: 'empty' }, 'empty'],
      ['whitespace body', { type: 'message', body: ' \n\t \u3000 ', client_id: 'blank' }, 'blank'],
      ['body too long', { type: 'message', body: 'x'.repeat(4001), client_id: 'long' }, 'long'],
      ['read with a negative seq', { type: 'read', last_read_seq: -1, client_id: 'neg' }, 'neg'],
      ['read with a fractional seq', { type: 'read', last_read_seq: 1.5 }, undefined],
      ['read with a string seq', { type: 'read', last_read_seq: '3' }, undefined],
      ['binary frame', Buffer.from(JSON.stringify({ type: 'ping' })), undefined],
    ];
    for (const [i, [name, frame, clientId]] of cases.entries()) {
      if (Buffer.isBuffer(frame)) o.ws.send(frame, { binary: true });
      else o.send(frame);
      const error = await o.until((fs) => fs.filter((f) => f.type === 'error')[i], `error for ${name}`);
      assert.equal(error.code, 'invalid', name);
      assert.equal(typeof error.message, 'string', name);
      assert.ok(error.message.length > 0, name);
      assert.equal(error.client_id, clientId, `${name}: client_id echo`);
      assert.deepEqual(Object.keys(error).sort(), clientId ? ['client_id', 'code', 'message', 'type'] : ['code', 'message', 'type'], name);
    }
    // A client_id over 128 characters is itself invalid.
    o.send({ type: 'message', body: 'hello', client_id: 'k'.repeat(129) });
    const tooLongId = await o.until((fs) => fs.filter((f) => f.type === 'error')[cases.length], 'client_id error');
    assert.equal(tooLongId.code, 'invalid');
    // 128 is fine.
    const ok = await sendWs(o, 'fine', 'k'.repeat(128));
    assert.equal(ok.client_id, 'k'.repeat(128));
    o.send({ type: 'ping' });
    await o.next('pong');
    assert.equal(o.ws.readyState, WebSocket.OPEN);
    assert.equal(o.of('error').length, cases.length + 1);
    assert.deepEqual(
      (await stored(c)).messages.map((m) => m.body),
      ['fine'],
    );
    assert.deepEqual(a.of('error'), [], 'errors go to the offending socket only');
  });

  test('a frame of exactly 64 KiB is accepted; one byte more closes with 1009', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const frameOf = (bytes: number) => {
      const head = '{"type":"ping","pad":"';
      const tail = '"}';
      return head + 'p'.repeat(bytes - head.length - tail.length) + tail;
    };
    assert.equal(Buffer.byteLength(frameOf(64 * 1024)), 65536);
    o.send(frameOf(64 * 1024));
    await o.next('pong');
    o.send(frameOf(64 * 1024 + 1));
    assert.equal((await o.closed).code, 1009);
    assert.equal(o.of('pong').length, 1);
  });

  test('a frame over 64 KiB closes the socket with 1009', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    o.send({ type: 'message', body: 'x'.repeat(70 * 1024), client_id: 'huge' });
    const { code } = await o.closed;
    assert.equal(code, 1009);
    // The room goes on for the others; nothing was stored.
    await sendWs(a, 'still here', 'after-huge');
    assert.deepEqual(
      (await stored(c)).messages.map((m) => m.body),
      ['still here'],
    );
  });

  test('a flood of 500 frames gets rate_limited errors then 1008; other sockets of the room keep working', async () => {
    const c = await cast(server);
    const flooder = await chat(c, c.ownerToken);
    const tab = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    for (let i = 0; i < 500; i++) flooder.send({ type: 'message', body: `flood ${i}`, client_id: `flood-${i}` });
    const closed = await flooder.closed;
    assert.equal(closed.code, 1008);

    const limited = flooder.of('error');
    // DEFAULT_LIMITS.wsFloodStrikes: 20 refusals, then the close; nothing is sent after it.
    assert.equal(limited.length, 20);
    for (const e of limited) {
      assert.equal(e.code, 'rate_limited');
      assert.match(e.client_id, /^flood-\d+$/);
    }
    assert.equal(new Set(limited.map((e) => e.client_id)).size, 20);
    // The burst (2 x wsRateLimit = 40) went through before the first refusal.
    assert.ok(Number(limited[0]!.client_id.slice(6)) >= 40, `first refusal: ${limited[0]!.client_id}`);

    // Other sockets, the flooder's own other tab included, are unaffected.
    const mineAfter = await sendWs(tab, 'tab still works', 'tab-after');
    const theirsAfter = await sendWs(a, 'admin still works', 'admin-after');
    await arrivedAt('admin-after', tab);
    await arrivedAt('tab-after', a);
    const page = await stored(c, '?limit=100');
    const floods = page.messages.filter((m) => m.client_id.startsWith('flood-'));
    assert.ok(floods.length >= 40 && floods.length < 60, `accepted ${floods.length} flood frames`);
    assert.deepEqual(
      page.messages.map((m) => m.seq),
      Array.from({ length: floods.length + 2 }, (_, i) => i + 1),
    );
    assert.deepEqual(page.messages.slice(-2), [mineAfter, theirsAfter]);
    // Each accepted flood message reached the other sockets exactly once, in order.
    for (const s of [tab, a]) {
      assert.deepEqual(
        messagesOf(s).map((m) => m.seq),
        page.messages.map((m) => m.seq),
      );
    }
  });

  test('a message sent over REST reaches the room sockets', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    const res = await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, c.adminToken, {
      body: '  over rest  ',
      client_id: 'rest-1',
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.message.body, 'over rest');
    const [toOwner, toAdmin] = await Promise.all([o.next('message'), a.next('message')]);
    assert.deepEqual(toOwner, { type: 'message', message: res.body.message });
    assert.deepEqual(toAdmin, { type: 'message', message: res.body.message });
  });

  test("sending does not move the sender's own read cursor", async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    const a = await chat(c, c.adminToken);
    await sendWs(o, 'one');
    await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, c.ownerToken, { body: 'two' });
    await sendWs(a, 'three');
    await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/`, c.adminToken, { body: 'four' });
    await sendWs(o, 'marker', 'marker');
    await arrivedAt('marker', a);
    assert.deepEqual((await roomState(c)).read_cursors, { user: 0, workshop: 0 });
    assert.deepEqual(o.of('read'), []);
    assert.deepEqual(a.of('read'), []);
    const ownerUnread = await api(server.url, 'GET', '/api/notifications/unread/', c.ownerToken);
    assert.deepEqual(ownerUnread.body, { total: 2, rooms: { [c.roomId]: 2 } });
  });

  test('a socket that connects after messages exist gets last_seq covering them and no replay', async () => {
    const c = await cast(server);
    const o = await chat(c, c.ownerToken);
    await sendWs(o, 'one');
    await sendWs(o, 'two');
    await sendWs(o, 'three');
    await api(server.url, 'POST', `/api/service-requests/${c.roomId}/messages/read/`, c.adminToken, {
      last_read_seq: 2,
    });
    const late = await chat(c, c.adminToken);
    assert.deepEqual(late.frames, [
      {
        type: 'ready',
        request_id: c.roomId,
        last_seq: 3,
        read_cursors: { user: 0, workshop: 2 },
        me: { id: c.adminId, role: 'workshop_admin', name: 'Bo' },
      },
    ]);
    await sendWs(o, 'four', 'after-join');
    await arrivedAt('after-join', late);
    assert.deepEqual(
      messagesOf(late).map((m) => m.seq),
      [4],
    );

    // Resume (section 7): a client holding seq 1 fetches the gap up to ready.last_seq with after=.
    await late.close();
    const again = await chat(c, c.adminToken);
    assert.equal(again.frames[0]!.last_seq, 4);
    const gap = await stored(c, '?after=1');
    assert.deepEqual(
      gap.messages.map((m) => m.body),
      ['two', 'three', 'four'],
    );
    assert.equal(gap.has_more, false);
    assert.deepEqual(messagesOf(again), []);
  });
});

describe('chat socket per-user rate limit', () => {
  // Each socket alone stays far under its own limit; together they pass the user's.
  const server = suiteServer({ limits: { wsRateLimit: 1000, wsUserRateLimit: 1, wsFloodStrikes: 1000 } }, sockets);

  test('one user’s sockets share one budget: the excess is rate_limited, another user is unaffected', async () => {
    const c = await cast(server);
    const tabs = [await chat(c, c.ownerToken), await chat(c, c.ownerToken), await chat(c, c.ownerToken)];
    const admin = await chat(c, c.adminToken);
    tabs.forEach((tab, t) => {
      for (let i = 0; i < 10; i++) tab.send({ type: 'ping', client_id: `tab${t}-${i}` });
    });
    const answered = () => tabs.reduce((n, tab) => n + tab.of('pong').length + tab.of('error').length, 0);
    await tabs[0]!.until(() => answered() === 30, 'an answer to each of the 30 frames');
    const refused = tabs.flatMap((tab) => tab.of('error'));
    // A burst of twice the per-second rate (2) passes; the rest of the 30 is refused.
    assert.equal(tabs.reduce((n, tab) => n + tab.of('pong').length, 0), 2);
    assert.equal(refused.length, 28);
    assert.deepEqual(new Set(refused.map((e) => e.code)), new Set(['rate_limited']));
    admin.send({ type: 'ping' });
    await admin.next('pong');
    assert.deepEqual(admin.of('error'), []);
  });
});

describe('chat socket heartbeat', () => {
  const server = suiteServer({ limits: { heartbeatMs: 200 } }, sockets);

  test('a client that stops answering pings is terminated; a live one stays open', async () => {
    const c = await cast(server);
    // Counted from the start: with pings every 200 ms, the first can come before the socket is ready.
    const dead = track(TestSocket.chat(c.server, c.roomId, c.ownerToken, { autoPong: false }));
    let deadPings = 0;
    dead.ws.on('ping', () => deadPings++);
    await dead.ready();
    const deadNotes = track(TestSocket.notifications(server, c.ownerToken, { autoPong: false }));
    await deadNotes.ready();
    const live = await chat(c, c.adminToken);
    const liveNotes = track(TestSocket.notifications(server, c.adminToken));
    await liveNotes.ready();
    let livePings = 0;
    const fivePings = new Promise<void>((resolve) =>
      live.ws.on('ping', () => {
        if (++livePings === 5) resolve();
      }),
    );
    const { code } = await dead.closed;
    assert.equal(code, 1006, 'terminated without a closing handshake');
    assert.ok(deadPings >= 1 && deadPings <= 2, `pings before termination: ${deadPings}`);
    assert.equal((await deadNotes.closed).code, 1006, 'a dead notifications socket is terminated too');
    await fivePings;
    assert.equal(live.ws.readyState, WebSocket.OPEN);
    assert.equal(liveNotes.ws.readyState, WebSocket.OPEN);
    liveNotes.send({ type: 'ping' });
    await liveNotes.next('pong');
    live.send({ type: 'ping' });
    await live.next('pong');
    const message = await sendWs(live, 'still alive', 'alive');
    assert.equal(message.seq, 1);
  });
});

describe('chat socket slow consumer', () => {
  // The WS rate limits are off so one socket can push megabytes quickly.
  const server = suiteServer({ limits: { maxSendBufferBytes: 64 * 1024, wsRateLimit: 0, wsUserRateLimit: 0 } }, sockets);

  test('a socket that does not read is dropped while the others still get every message', async (t) => {
    // The server tells of the drop only in its log: listen there, so the loop stops at the event.
    let drops = 0;
    let wake: () => void = () => {};
    const logger = server.logger as unknown as Record<string, (...args: unknown[]) => void>;
    const warn = logger.warn!;
    const ownWarn = Object.hasOwn(logger, 'warn');
    logger.warn = function (this: unknown, ...args: unknown[]) {
      if (args.includes('dropping slow consumer')) {
        drops++;
        wake();
      }
      return warn.apply(this, args);
    };
    try {
      const c = await cast(server);
      const slow = await chat(c, c.ownerToken);
      const sender = await chat(c, c.adminToken);
      const observer = await chat(c, c.ownerToken);
      (slow.ws as any)._socket.pause();

      const body = '😀'.repeat(4000); // 16 000 bytes of UTF-8
      let sent = 0;
      while (drops === 0 && sent < 3000) {
        for (let i = 0; i < 20; i++) sender.send({ type: 'message', body, client_id: `big-${++sent}` });
        const target = sent;
        await sender.until((fs) => fs.filter((f) => f.type === 'message').length >= target, 'acks', 20_000);
      }
      assert.equal(drops, 1, `the slow socket was dropped after ${sent} messages`);

      // Everybody else got everything, and the room still works.
      await sendWs(sender, 'after the drop', 'after-drop');
      await observer.next('message', (f) => f.message.client_id === 'after-drop', 20_000);
      assert.deepEqual(
        messagesOf(observer).map((m) => m.seq),
        Array.from({ length: sent + 1 }, (_, i) => i + 1),
      );

      // The dropped client learns it once it reads again: no closing handshake.
      (slow.ws as any)._socket.resume();
      const { code } = await slow.closed;
      assert.equal(code, 1006);
      const got = messagesOf(slow).length;
      t.diagnostic(`dropped after ${sent} messages; it had read ${got}`);
      assert.ok(got < sent, `the slow socket got ${got} of ${sent} messages before the drop`);
      assert.deepEqual(
        messagesOf(slow).map((m) => m.seq),
        Array.from({ length: got }, (_, i) => i + 1),
        'what it did get is a gapless prefix',
      );
    } finally {
      if (ownWarn) logger.warn = warn;
      else delete logger.warn;
    }
  });
});

describe('chat socket on shutdown', () => {
  test('stopping the server closes chat and notifications sockets with 1001', async () => {
    const server = await startTestServer();
    try {
      const c = await cast(server);
      const o = await chat(c, c.ownerToken);
      const a = await chat(c, c.adminToken);
      const notes = track(TestSocket.notifications(server, c.adminToken));
      await notes.ready();
      const stopped = server.stop();
      const codes = await Promise.all([o.closed, a.closed, notes.closed]);
      assert.deepEqual(
        codes.map((x) => x.code),
        [1001, 1001, 1001],
      );
      await stopped;
    } finally {
      await closeAll();
      await server.stop();
    }
  });
});

describe('chat socket writes', () => {
  const server = suiteServer({}, sockets);

  // SQLite commits a turn's appends in one transaction, so their frames are published in one turn;
  // MongoDB answers each append on its own.
  const oneTurn = testStoreKind === 'mongodb' && 'MongoDB answers appends one by one, in separate turns';
  test("the frames a socket gets in one turn leave in one write: a batch of messages, and of their notifications", { skip: oneTurn }, async (t) => {
    const c = await cast(server);
    const reader = await chat(c, c.ownerToken);
    const notes = track(TestSocket.notifications(server, c.ownerToken));
    await notes.ready();
    const sender = await chat(c, c.adminToken);

    // Writes the server makes on the connections of `reader` and `notes`, told apart by the client's port.
    const ports = new Map<number, string>([
      [(reader.ws as any)._socket.localPort, 'chat'],
      [(notes.ws as any)._socket.localPort, 'notifications'],
    ]);
    const writes = { chat: 0, notifications: 0 };
    const count = (socket: Socket) => {
      const side = (socket as Socket & { server?: unknown }).server ? ports.get(socket.remotePort ?? -1) : undefined;
      if (side) writes[side as keyof typeof writes]++;
    };
    // A stream hands a corked run of chunks to _writev, a lone chunk to _write: each call is one write.
    const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
    for (const method of ['_write', '_writev'] as const) {
      const original = proto[method];
      t.mock.method(proto, method, function (this: Socket, ...args: unknown[]) {
        count(this);
        return original.apply(this, args);
      });
    }

    // Three messages in one TCP write: the server reads them in one turn and stores them in one batch.
    const clientSocket = (sender.ws as any)._socket as Socket;
    clientSocket.cork();
    for (const n of [1, 2, 3]) sender.send({ type: 'message', body: `part ${n}`, client_id: `part-${n}` });
    clientSocket.uncork();
    await reader.until((fs) => fs.filter((f) => f.type === 'message').length === 3, 'three messages');
    await notes.until((fs) => fs.filter((f) => f.type === 'notification').length === 3, 'three notifications');

    assert.deepEqual(messagesOf(reader).map((m) => m.client_id), ['part-1', 'part-2', 'part-3']);
    assert.deepEqual(writes, { chat: 1, notifications: 1 });
  });
});
