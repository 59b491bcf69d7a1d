import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admin, api, createRoom, owner, socketTracker, suiteServer, TestSocket, unique } from './helpers/harness.js';

describe('ready carries the room and a page of messages when asked (?history=N, ?after=S)', () => {
  const sockets = socketTracker();
  const server = suiteServer({}, sockets);
  const open = (roomId: string, auth: string, query: string) =>
    sockets.track(new TestSocket(`${server.wsUrl}/ws/service-chat/${roomId}/?token=${encodeURIComponent(auth)}&${query}`));

  /** A room of Ana's with three messages; the workshop has read the first. */
  async function conversation() {
    const ana = owner(unique('u'), 'Ana');
    const bo = admin(unique('a'), 'w-1', 'Bo');
    const room = await createRoom(server.url, ana, 'w-1', 'Brakes');
    for (const [auth, body] of [
      [ana, 'Hello'],
      [bo, 'Hi, Ana'],
      [ana, 'When is it ready?'],
    ] as const) {
      assert.equal((await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, auth, { body })).status, 201);
    }
    assert.equal((await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/read/`, bo, { last_read_seq: 1 })).status, 200);
    const detail = (await api(server.url, 'GET', `/api/service-requests/${room.id}/`, ana)).body;
    const history = (await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, ana)).body.messages;
    return { ana, bo, room, detail, history };
  }

  test('?history=2: the room as its detail reads and the newest two, oldest first; has_more says older ones exist', async () => {
    const c = await conversation();
    const ready = await open(c.room.id, c.ana, 'history=2').ready();
    assert.deepEqual(ready, {
      type: 'ready',
      request_id: c.room.id,
      last_seq: 3,
      read_cursors: { user: 0, workshop: 1 },
      me: { id: ready.me.id, role: 'user', name: 'Ana' },
      room: c.detail,
      messages: c.history.slice(1),
      has_more: true,
    });
    const all = await open(c.room.id, c.bo, 'history=100').ready();
    assert.deepEqual([all.messages, all.has_more], [c.history, false]);
  });

  test('?after=S resumes: the messages after S up to last_seq; has_more says more lie before last_seq', async () => {
    const c = await conversation();
    const two = await open(c.room.id, c.ana, 'history=50&after=1').ready();
    assert.deepEqual([two.messages, two.has_more], [c.history.slice(1), false]);
    const one = await open(c.room.id, c.ana, 'history=1&after=1').ready();
    assert.deepEqual([one.messages, one.has_more], [[c.history[1]], true]);
    const none = await open(c.room.id, c.ana, 'history=10&after=3').ready();
    assert.deepEqual([none.messages, none.has_more], [[], false]);
  });

  test('a message sent after ready comes live, once; those in the page never come again', async () => {
    const c = await conversation();
    const socket = open(c.room.id, c.ana, 'history=50');
    const ready = await socket.ready();
    assert.equal(ready.messages.length, 3);
    assert.equal((await api(server.url, 'POST', `/api/service-requests/${c.room.id}/messages/`, c.bo, { body: 'Tomorrow' })).status, 201);
    await socket.next('message', (f) => f.message.seq === 4);
    socket.send({ type: 'ping' });
    await socket.next('pong');
    assert.deepEqual(
      socket.of('message').map((f) => f.message.seq),
      [4],
    );
  });

  test('without history the frame is as in 1.2; a bad value is an error frame after a plain ready, and the socket stays open', async () => {
    const c = await conversation();
    const plain = await sockets.track(TestSocket.chat(server, c.room.id, c.ana)).ready();
    assert.deepEqual(Object.keys(plain), ['type', 'request_id', 'last_seq', 'read_cursors', 'me']);
    for (const [query, message] of [
      ['history=0', 'history must be a whole number from 1 to 100'],
      ['history=101', 'history must be a whole number from 1 to 100'],
      ['history=ten', 'history must be a whole number from 1 to 100'],
      ['history=5&after=-1', 'after must be a whole number'],
      ['after=2', 'after is only read with history'],
    ]) {
      const socket = open(c.room.id, c.ana, query!);
      const ready = await socket.ready();
      assert.deepEqual(Object.keys(ready), ['type', 'request_id', 'last_seq', 'read_cursors', 'me'], query);
      assert.deepEqual(await socket.next('error'), { type: 'error', code: 'invalid', message }, query);
      socket.send({ type: 'ping' });
      await socket.next('pong');
    }
  });

  test('a stranger asking for history gets 4403 and no message', async () => {
    const c = await conversation();
    const socket = open(c.room.id, admin(unique('a'), 'w-2'), 'history=50');
    assert.equal((await socket.closed).code, 4403);
    assert.deepEqual(socket.frames, []);
  });
});
