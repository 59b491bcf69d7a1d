import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { api, createRoom, type Frame, SECRET, TestSocket, token, socketTracker, unique, suiteServer } from './helpers/harness.js';

/**
 * The notifications WebSocket (contract section 6, and section 4's "every
 * accepted message, whichever path, is stored, broadcast, then pushed to the
 * other side") against the real server.
 */

const sockets = socketTracker();
const { track } = sockets;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** An owner, two admins of the owner's workshop, and an admin of another workshop. */
function people() {
  const workshop = unique('w');
  const otherWorkshop = unique('w-other');
  const ids = { owner: unique('u'), a1: unique('a1'), a2: unique('a2'), x: unique('x'), otherOwner: unique('u-other') };
  return {
    workshop,
    otherWorkshop,
    ids,
    owner: token({ sub: ids.owner, role: 'user', name: 'Ana' }),
    a1: token({ sub: ids.a1, role: 'workshop_admin', workshop_id: workshop, name: 'Bo' }),
    a2: token({ sub: ids.a2, role: 'workshop_admin', workshop_id: workshop }),
    x: token({ sub: ids.x, role: 'workshop_admin', workshop_id: otherWorkshop, name: 'Xe' }),
    otherOwner: token({ sub: ids.otherOwner, role: 'user', name: 'Oz' }),
  };
}

describe('notifications socket', () => {
  const server = suiteServer({}, sockets);

  const post = (auth: string, roomId: string, body: string, client_id?: string) =>
    api(server.url, 'POST', `/api/service-requests/${roomId}/messages/`, auth, { body, ...(client_id ? { client_id } : {}) });
  const read = (auth: string, roomId: string, last_read_seq?: number) =>
    api(server.url, 'POST', `/api/service-requests/${roomId}/messages/read/`, auth, last_read_seq === undefined ? {} : { last_read_seq });
  const unreadOf = (auth: string) => api(server.url, 'GET', '/api/notifications/unread/', auth);

  async function notifications(auth: string): Promise<TestSocket> {
    const socket = track(TestSocket.notifications(server, auth));
    await socket.ready();
    return socket;
  }
  async function chat(roomId: string, auth: string): Promise<TestSocket> {
    const socket = track(TestSocket.chat(server, roomId, auth));
    await socket.ready();
    return socket;
  }
  const notes = (s: TestSocket) => s.of('notification');

  test('unread snapshot on connect: exact total and rooms, rooms with 0 omitted; REST agrees', async () => {
    const p = people();
    const r1 = await createRoom(server.url, p.owner, p.workshop, 'one');
    const r2 = await createRoom(server.url, p.owner, p.workshop, 'two');
    const r3 = await createRoom(server.url, p.owner, p.workshop, 'three');
    const r4 = await createRoom(server.url, p.owner, p.otherWorkshop, 'four');
    for (const body of ['a', 'b']) assert.equal((await post(p.a1, r1.id, body)).status, 201);
    assert.equal((await post(p.a2, r2.id, 'c')).status, 201);
    assert.equal((await post(p.x, r4.id, 'd')).status, 201);
    assert.equal((await post(p.owner, r3.id, 'e')).status, 201);
    assert.equal((await post(p.owner, r1.id, 'f')).status, 201);

    const o = await notifications(p.owner);
    const ownerSnapshot = { type: 'unread', total: 4, rooms: { [r1.id]: 2, [r2.id]: 1, [r4.id]: 1 } };
    assert.deepEqual(o.frames, [ownerSnapshot]);
    // Both admins share the workshop's counts; the other workshop sees only its room.
    const a1 = await notifications(p.a1);
    const a2 = await notifications(p.a2);
    const x = await notifications(p.x);
    const workshopSnapshot = { type: 'unread', total: 2, rooms: { [r3.id]: 1, [r1.id]: 1 } };
    assert.deepEqual(a1.frames, [workshopSnapshot]);
    assert.deepEqual(a2.frames, [workshopSnapshot]);
    assert.deepEqual(x.frames, [{ type: 'unread', total: 0, rooms: {} }]);

    const { type: _o, ...ownerRest } = ownerSnapshot;
    const { type: _w, ...workshopRest } = workshopSnapshot;
    assert.deepEqual((await unreadOf(p.owner)).body, ownerRest);
    assert.deepEqual((await unreadOf(p.a2)).body, workshopRest);
    assert.deepEqual((await unreadOf(p.x)).body, { total: 0, rooms: {} });
    // A user with no rooms at all.
    const nobody = await notifications(token({ sub: unique('nobody'), role: 'user' }));
    assert.deepEqual(nobody.frames, [{ type: 'unread', total: 0, rooms: {} }]);
  });

  for (const path of ['ws', 'rest'] as const) {
    test(`a message sent over ${path.toUpperCase()} by the owner notifies every admin of the workshop, nobody else`, async () => {
      const p = people();
      const room = await createRoom(server.url, p.owner, p.workshop);
      const otherRoom = await createRoom(server.url, p.otherOwner, p.otherWorkshop);
      const sender = await chat(room.id, p.owner);
      const a1 = await notifications(p.a1);
      const a1b = await notifications(p.a1);
      const a2 = await notifications(p.a2);
      const x = await notifications(p.x);
      const own = await notifications(p.owner);

      const send = async (body: string, clientId: string): Promise<Frame> => {
        if (path === 'rest') {
          const res = await post(p.owner, room.id, body, clientId);
          assert.equal(res.status, 201);
          return res.body.message;
        }
        sender.send({ type: 'message', body, client_id: clientId });
        return (await sender.next('message', (f) => f.message.client_id === clientId)).message;
      };

      const first = await send('  Brakes squeak  ', 'n-1');
      const expected = (message: Frame, body: string, count: number) => ({
        type: 'notification',
        kind: 'message',
        request_id: room.id,
        message: {
          id: message.id,
          seq: message.seq,
          sender: { id: p.ids.owner, role: 'user', name: 'Ana' },
          body,
          created_at: message.created_at,
        },
        unread: { count, total: count },
      });
      for (const s of [a1, a1b, a2]) {
        const frame = await s.next('notification', (f) => f.message.id === first.id);
        assert.deepEqual(frame, expected(first, 'Brakes squeak', 1));
        assert.match(frame.message.created_at, ISO);
      }

      // A long body: the preview is its first 140 code points (emoji are 2 UTF-16 units each).
      const long = `${'🔧'.repeat(139)}é${'x'.repeat(200)}`;
      const second = await send(long, 'n-2');
      assert.equal(second.body, long);
      const preview = `${'🔧'.repeat(139)}é`;
      assert.equal([...preview].length, 140);
      for (const s of [a1, a1b, a2]) {
        assert.deepEqual(await s.next('notification', (f) => f.message.id === second.id), expected(second, preview, 2));
      }

      // Markers: a later notification for each of the others proves nothing earlier reached them.
      const reply = await post(p.a1, room.id, 'on it');
      await own.next('notification', (f) => f.message.id === reply.body.message.id);
      const otherMsg = await post(p.otherOwner, otherRoom.id, 'elsewhere');
      await x.next('notification', (f) => f.message.id === otherMsg.body.message.id);
      assert.deepEqual(
        notes(own).map((f) => f.message.id),
        [reply.body.message.id],
        "the sender's own side is not notified of its own messages",
      );
      assert.deepEqual(
        notes(own)[0]!.unread,
        { count: 1, total: 1 },
      );
      assert.deepEqual(
        notes(x).map((f) => f.message.id),
        [otherMsg.body.message.id],
        'admins of another workshop are not notified',
      );
      // Every admin got each message exactly once, nothing else (the admin's reply is their own side).
      for (const s of [a1, a1b, a2]) {
        assert.deepEqual(
          notes(s).map((f) => f.message.id),
          [first.id, second.id],
        );
      }
    });
  }

  test('notification unread numbers count over all the recipient’s rooms', async () => {
    const p = people();
    const r1 = await createRoom(server.url, p.owner, p.workshop, 'one');
    const r2 = await createRoom(server.url, p.owner, p.workshop, 'two');
    await post(p.a1, r1.id, 'one');
    await post(p.a1, r1.id, 'two');
    const o = await notifications(p.owner);
    assert.deepEqual(o.frames[0], { type: 'unread', total: 2, rooms: { [r1.id]: 2 } });
    const a = await chat(r2.id, p.a2);
    a.send({ type: 'message', body: 'three', client_id: 'three' });
    const frame = await o.next('notification');
    assert.equal(frame.request_id, r2.id);
    assert.deepEqual(frame.unread, { count: 1, total: 3 });
    assert.deepEqual(frame.message.sender, { id: p.ids.a2, role: 'workshop_admin', name: null });
  });

  test("after a read, every notifications socket of the reader's side gets a fresh snapshot", async () => {
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    const other = await createRoom(server.url, p.owner, p.workshop, 'other');
    for (const body of ['1', '2', '3']) await post(p.owner, room.id, body);
    await post(p.owner, other.id, 'elsewhere');
    const a1 = await notifications(p.a1);
    const a1b = await notifications(p.a1);
    const a2 = await notifications(p.a2);
    const o1 = await notifications(p.owner);
    const o2 = await notifications(p.owner);
    for (const s of [a1, a1b, a2]) {
      assert.deepEqual(s.frames, [{ type: 'unread', total: 4, rooms: { [room.id]: 3, [other.id]: 1 } }]);
    }

    // Admin a2 reads over WS up to seq 2: all the workshop's tabs and admins get the new counts.
    const chatA2 = await chat(room.id, p.a2);
    chatA2.send({ type: 'read', last_read_seq: 2 });
    const afterWs = { type: 'unread', total: 2, rooms: { [room.id]: 1, [other.id]: 1 } };
    for (const s of [a1, a1b, a2]) assert.deepEqual(await s.until((fs) => fs.filter((f) => f.type === 'unread')[1], 'snapshot'), afterWs);

    // Admin a1 reads the rest over REST; the answer's unread is a number.
    const res = await read(p.a1, room.id);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { read_cursors: { user: 0, workshop: 3 }, unread: 0 });
    const afterRest = { type: 'unread', total: 1, rooms: { [other.id]: 1 } };
    for (const s of [a1, a1b, a2]) assert.deepEqual(await s.until((fs) => fs.filter((f) => f.type === 'unread')[2], 'snapshot'), afterRest);
    assert.deepEqual((await unreadOf(p.a2)).body, { total: 1, rooms: { [other.id]: 1 } });

    // The owner's side: two tabs of one user.
    const r1 = await post(p.a2, room.id, 'four');
    const r2 = await post(p.a2, room.id, 'five');
    for (const s of [o1, o2]) await s.next('notification', (f) => f.message.id === r2.body.message.id);
    const ownerRead = await read(p.owner, room.id, r1.body.message.seq);
    assert.deepEqual(ownerRead.body, { read_cursors: { user: 4, workshop: 3 }, unread: 1 });
    for (const s of [o1, o2]) {
      assert.deepEqual(await s.until((fs) => fs.filter((f) => f.type === 'unread')[1], 'owner snapshot'), {
        type: 'unread',
        total: 1,
        rooms: { [room.id]: 1 },
      });
    }
    // The reader's side only: the workshop's sockets saw no snapshot for the owner's read.
    const marker = await post(p.owner, room.id, 'marker');
    for (const s of [a1, a1b, a2]) await s.next('notification', (f) => f.message.id === marker.body.message.id);
    for (const s of [a1, a1b, a2]) assert.equal(s.of('unread').length, 3);
    assert.deepEqual((await unreadOf(p.owner)).body, { total: 1, rooms: { [room.id]: 1 } });
  });

  test('a read that moves nothing sends no snapshot', async () => {
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    await post(p.a1, room.id, 'one');
    await post(p.a1, room.id, 'two');
    const o = await notifications(p.owner);
    const first = await read(p.owner, room.id, 2);
    assert.deepEqual(first.body, { read_cursors: { user: 2, workshop: 0 }, unread: 0 });
    await o.until((fs) => fs.filter((f) => f.type === 'unread')[1], 'snapshot after the read');

    // Same cursor, a lower one, "latest" (already there), and one over REST past the end (clamps to 2).
    const again = await read(p.owner, room.id, 2);
    const lower = await read(p.owner, room.id, 1);
    const latest = await read(p.owner, room.id);
    const past = await read(p.owner, room.id, 50);
    for (const res of [again, lower, latest, past]) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { read_cursors: { user: 2, workshop: 0 }, unread: 0 });
    }
    const chatO = await chat(room.id, p.owner);
    chatO.send({ type: 'read', last_read_seq: 2 });
    chatO.send({ type: 'read' });
    chatO.send({ type: 'ping' });
    await chatO.next('pong');
    // Marker: a notification published after all of those reads.
    const marker = await post(p.a1, room.id, 'marker');
    await o.next('notification', (f) => f.message.id === marker.body.message.id);
    assert.equal(o.of('unread').length, 2);
    assert.deepEqual(chatO.of('read'), []);
  });

  test('REST read of a room with unread messages left answers the number left', async () => {
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    for (const body of ['1', '2', '3', '4']) await post(p.owner, room.id, body);
    const res = await read(p.a1, room.id, 1);
    assert.deepEqual(res.body, { read_cursors: { user: 0, workshop: 1 }, unread: 3 });
    assert.equal(typeof res.body.unread, 'number');
    assert.deepEqual((await unreadOf(p.a2)).body, { total: 3, rooms: { [room.id]: 3 } });
    // The owner's own messages are never unread for the owner.
    assert.deepEqual((await read(p.owner, room.id)).body, { read_cursors: { user: 4, workshop: 1 }, unread: 0 });
  });

  test('GET /api/notifications/unread/ matches the socket snapshot', async () => {
    const p = people();
    const r1 = await createRoom(server.url, p.owner, p.workshop);
    const r2 = await createRoom(server.url, p.owner, p.workshop);
    await post(p.a1, r1.id, 'x');
    await post(p.a2, r2.id, 'y');
    await post(p.a2, r2.id, 'z');
    await read(p.owner, r2.id, 1);
    const o = await notifications(p.owner);
    const { type, ...snapshot } = o.frames[0]!;
    assert.equal(type, 'unread');
    assert.deepEqual(snapshot, { total: 2, rooms: { [r1.id]: 1, [r2.id]: 1 } });
    assert.deepEqual((await unreadOf(p.owner)).body, snapshot);
  });

  test('a bad token is refused with 4401', async () => {
    const bad: Array<[string, string | null]> = [
      ['no token', null],
      ['garbage', 'not-a-jwt'],
      ['expired', token({ sub: 'u1', role: 'user', exp: Math.floor(Date.now() / 1000) - 10 })],
      ['wrong secret', token({ sub: 'u1', role: 'user' }, `${SECRET}-but-another`)],
      ['admin without workshop_id', token({ sub: 'a1', role: 'workshop_admin' })],
      ['unknown role', token({ sub: 'u1', role: 'root' })],
    ];
    for (const [name, auth] of bad) {
      const s = track(TestSocket.notifications(server, auth));
      const closed = await s.closed;
      assert.equal(closed.code, 4401, name);
      assert.deepEqual(s.frames, [], `${name}: no snapshot`);
    }
  });

  test('a flood on a notifications socket gets rate_limited errors then 1008; other sockets still get notifications', async () => {
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    const flooder = await notifications(p.owner);
    const admins = await notifications(p.a1);
    for (let i = 0; i < 500; i++) flooder.send({ type: 'ping', client_id: `f-${i}` });
    assert.equal((await flooder.closed).code, 1008);
    const limited = flooder.of('error');
    assert.equal(limited.length, 20);
    for (const e of limited) assert.equal(e.code, 'rate_limited');
    assert.equal(new Set(limited.map((e) => e.client_id)).size, 20);
    assert.ok(flooder.of('pong').length >= 40, `pongs: ${flooder.of('pong').length}`);
    const tab = await notifications(p.owner);
    const fromOwner = await post(p.owner, room.id, 'still notifying');
    await admins.next('notification', (f) => f.message.id === fromOwner.body.message.id);
    const fromAdmin = await post(p.a1, room.id, 'back to you');
    await tab.next('notification', (f) => f.message.id === fromAdmin.body.message.id);
    tab.send({ type: 'ping' });
    await tab.next('pong');
  });

  test('ping answers pong; an unknown or malformed frame answers invalid and the socket stays open', async () => {
    const p = people();
    const o = await notifications(p.owner);
    o.send({ type: 'ping' });
    assert.deepEqual(await o.next('pong'), { type: 'pong' });
    o.send({ type: 'message', body: 'not here', client_id: 'nope' });
    const error = await o.next('error');
    assert.deepEqual(error, { type: 'error', code: 'invalid', message: error.message, client_id: 'nope' });
    o.send('not json');
    const second = await o.until((fs) => fs.filter((f) => f.type === 'error')[1], 'second error');
    assert.equal(second.code, 'invalid');
    assert.equal(second.client_id, undefined);
    o.send({ type: 'ping' });
    await o.until((fs) => fs.filter((f) => f.type === 'pong').length === 2, 'second pong');
    assert.equal(o.ws.readyState, WebSocket.OPEN);
    assert.deepEqual(
      o.frames.map((f) => f.type),
      ['unread', 'pong', 'error', 'error', 'pong'],
    );
  });
});
