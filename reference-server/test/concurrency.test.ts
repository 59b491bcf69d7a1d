import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { api, createRoom, type Frame, TestSocket, token, socketTracker, unique, suiteServer } from './helpers/harness.js';

/**
 * Concurrency against the real server (contract section 3 on seq, section 8
 * on idempotency and delivery): interleaved sends on both paths from both
 * sides, and racing repeats of one client_id.
 */

const sockets = socketTracker();
const { track } = sockets;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('concurrency', () => {
  // Default limits: the WS sends are spread over three sockets per side so
  // that no socket goes over its burst (2 x 20 frames).
  const server = suiteServer({}, sockets);

  function people() {
    const workshop = unique('w');
    const ownerId = unique('u');
    const adminId = unique('a');
    return {
      workshop,
      ownerId,
      adminId,
      owner: token({ sub: ownerId, role: 'user', name: 'Ana' }),
      admin: token({ sub: adminId, role: 'workshop_admin', workshop_id: workshop, name: 'Bo' }),
    };
  }
  async function chat(roomId: string, auth: string): Promise<TestSocket> {
    const socket = track(TestSocket.chat(server, roomId, auth));
    await socket.ready();
    return socket;
  }
  async function notifications(auth: string): Promise<TestSocket> {
    const socket = track(TestSocket.notifications(server, auth));
    await socket.ready();
    return socket;
  }
  const post = (auth: string, roomId: string, body: unknown) =>
    api(server.url, 'POST', `/api/service-requests/${roomId}/messages/`, auth, body);

  async function allStored(auth: string, roomId: string): Promise<Frame[]> {
    const all: Frame[] = [];
    let after = 0;
    for (;;) {
      const res = await api(server.url, 'GET', `/api/service-requests/${roomId}/messages/?after=${after}&limit=100`, auth);
      assert.equal(res.status, 200);
      all.push(...res.body.messages);
      if (!res.body.has_more) return all;
      assert.equal(res.body.messages.length, 100, 'a page with has_more is full');
      after = res.body.messages.at(-1).seq;
    }
  }

  test('240 interleaved sends from both sides over WS and REST: gapless seq, every socket gets every message once and in order', async () => {
    const PER = 60; // per side and path
    const TOTAL = PER * 4;
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    const ownerSenders = [await chat(room.id, p.owner), await chat(room.id, p.owner), await chat(room.id, p.owner)];
    const adminSenders = [await chat(room.id, p.admin), await chat(room.id, p.admin), await chat(room.id, p.admin)];
    const watchers = [await chat(room.id, p.owner), await chat(room.id, p.admin)];
    const chats = [...ownerSenders, ...adminSenders, ...watchers];
    const ownerNotes = await notifications(p.owner);
    const adminNotes = await notifications(p.admin);

    // All at once, interleaved: the WS frames are written in this loop, the REST requests are all in flight.
    const rest: Array<Promise<{ status: number; body: any }>> = [];
    for (let i = 0; i < PER; i++) {
      ownerSenders[i % 3]!.send({ type: 'message', body: `owner ws ${i}`, client_id: `o-ws-${i}` });
      rest.push(post(p.admin, room.id, { body: `admin rest ${i}`, client_id: `a-rest-${i}` }));
      adminSenders[i % 3]!.send({ type: 'message', body: `admin ws ${i}`, client_id: `a-ws-${i}` });
      rest.push(post(p.owner, room.id, { body: `owner rest ${i}`, client_id: `o-rest-${i}` }));
    }
    const answers = await Promise.all(rest);
    assert.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 201),
    );

    const full = (s: TestSocket, n: number) =>
      s.until((fs) => fs.filter((f) => f.type === 'message').length >= n, `${n} messages`, 30_000);
    await Promise.all(chats.map((s) => full(s, TOTAL)));

    // Stored: seq 1..N, no gaps, no duplicates, every client_id exactly once.
    const stored = await allStored(p.owner, room.id);
    assert.deepEqual(
      stored.map((m) => m.seq),
      range(1, TOTAL),
    );
    assert.equal(new Set(stored.map((m) => m.id)).size, TOTAL);
    const expectedIds = range(0, PER - 1).flatMap((i) => [`o-ws-${i}`, `a-rest-${i}`, `a-ws-${i}`, `o-rest-${i}`]);
    assert.deepEqual(stored.map((m) => m.client_id).sort(), expectedIds.sort());
    for (const m of stored) {
      const fromOwner = m.client_id.startsWith('o-');
      assert.equal(m.sender.id, fromOwner ? p.ownerId : p.adminId, m.client_id);
      assert.equal(m.body, m.client_id.replace(/^o-/, 'owner ').replace(/^a-/, 'admin ').replace(/-(\d+)$/, ' $1'));
    }
    // The REST answers are the stored messages.
    const byId = new Map(stored.map((m) => [m.id, m]));
    for (const a of answers) assert.deepEqual(byId.get(a.body.message.id), a.body.message);

    // Every chat socket: every message exactly once, in seq order, as stored.
    for (const s of chats) {
      assert.deepEqual(
        s.of('message').map((f) => f.message),
        stored,
      );
      assert.deepEqual(s.of('error'), []);
    }

    // Each side's notifications socket: exactly the other side's messages, once each.
    const ownerMessages = stored.filter((m) => m.sender.id === p.ownerId);
    const adminMessages = stored.filter((m) => m.sender.id === p.adminId);
    assert.equal(ownerMessages.length, TOTAL / 2);
    assert.equal(adminMessages.length, TOTAL / 2);
    await ownerNotes.until((fs) => fs.filter((f) => f.type === 'notification').length >= TOTAL / 2, 'owner notifications', 30_000);
    await adminNotes.until((fs) => fs.filter((f) => f.type === 'notification').length >= TOTAL / 2, 'admin notifications', 30_000);

    // A marker from each side, after everything: whatever was still on its way has arrived by then.
    ownerSenders[0]!.send({ type: 'message', body: 'owner marker', client_id: 'o-marker' });
    const ownerMarker = (await adminNotes.next('notification', (f) => f.message.body === 'owner marker')).message;
    const adminMarker = (await post(p.admin, room.id, { body: 'admin marker', client_id: 'a-marker' })).body.message;
    await ownerNotes.next('notification', (f) => f.message.id === adminMarker.id);
    await Promise.all(chats.map((s) => full(s, TOTAL + 2)));
    for (const s of chats) {
      assert.deepEqual(
        s.of('message').map((f) => f.message.seq),
        range(1, TOTAL + 2),
      );
    }

    const noteIds = (s: TestSocket) => s.of('notification').map((f) => f.message.id);
    assert.deepEqual(noteIds(ownerNotes).sort(), [...adminMessages.map((m) => m.id), adminMarker.id].sort());
    assert.deepEqual(noteIds(adminNotes).sort(), [...ownerMessages.map((m) => m.id), ownerMarker.id].sort());
    for (const [s, expected] of [
      [ownerNotes, [...adminMessages, adminMarker]],
      [adminNotes, [...ownerMessages, { ...ownerMarker, client_id: 'o-marker' }]],
    ] as const) {
      const bySeq = new Map<number, Frame>(s.of('notification').map((f) => [f.message.seq, f]));
      for (const m of expected) {
        const note = bySeq.get(m.seq)!;
        assert.deepEqual(note.message, {
          id: m.id,
          seq: m.seq,
          sender: m.sender,
          body: m.body,
          created_at: m.created_at,
        });
        assert.equal(note.request_id, room.id);
        assert.equal(note.kind, 'message');
      }
      // Nobody read anything: the newest notification counts all of the other side's messages.
      const newest = bySeq.get(Math.max(...bySeq.keys()))!;
      assert.deepEqual(newest.unread, { count: TOTAL / 2 + 1, total: TOTAL / 2 + 1 });
    }
    assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', p.owner)).body, {
      total: TOTAL / 2 + 1,
      rooms: { [room.id]: TOTAL / 2 + 1 },
    });
    assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', p.admin)).body, {
      total: TOTAL / 2 + 1,
      rooms: { [room.id]: TOTAL / 2 + 1 },
    });
    const state = await api(server.url, 'GET', `/api/service-requests/${room.id}/`, p.owner);
    assert.equal(state.body.last_seq, TOTAL + 2);
    assert.deepEqual(state.body.read_cursors, { user: 0, workshop: 0 });
  });

  test('20 parallel REST POSTs with one client_id: one 201, the rest 200, one message stored and broadcast once', async () => {
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    const o = await chat(room.id, p.owner);
    const a = await chat(room.id, p.admin);
    const adminNotes = await notifications(p.admin);

    const answers = await Promise.all(
      range(1, 20).map((i) => post(p.owner, room.id, { body: `attempt ${i}`, client_id: 'race' })),
    );
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [...Array(19).fill(200), 201]);
    const created = answers.find((r) => r.status === 201)!.body.message;
    for (const r of answers) assert.deepEqual(r.body, { message: created });
    assert.equal(created.seq, 1);

    const marker = (await post(p.owner, room.id, { body: 'marker', client_id: 'marker' })).body.message;
    await Promise.all([o, a].map((s) => s.next('message', (f) => f.message.id === marker.id)));
    await adminNotes.next('notification', (f) => f.message.id === marker.id);
    for (const s of [o, a]) {
      assert.deepEqual(
        s.of('message').map((f) => f.message),
        [created, marker],
      );
    }
    assert.deepEqual(
      adminNotes.of('notification').map((f) => f.message.id),
      [created.id, marker.id],
    );
    const page = await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, p.owner);
    assert.deepEqual(page.body.messages, [created, marker]);
  });

  test('WS frames and REST POSTs racing one client_id store one message and broadcast it once', async () => {
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    const sender = await chat(room.id, p.owner);
    const tab = await chat(room.id, p.owner);
    const a = await chat(room.id, p.admin);
    const adminNotes = await notifications(p.admin);

    const rest: Array<Promise<{ status: number; body: any }>> = [];
    for (let i = 0; i < 10; i++) {
      sender.send({ type: 'message', body: `ws ${i}`, client_id: 'mixed' });
      rest.push(post(p.owner, room.id, { body: `rest ${i}`, client_id: 'mixed' }));
    }
    const answers = await Promise.all(rest);
    const restCreated = answers.filter((r) => r.status === 201).length;
    assert.ok(restCreated === 0 || restCreated === 1, `REST 201s: ${restCreated}`);
    assert.equal(answers.filter((r) => r.status === 200).length, 10 - restCreated);
    const message = answers[0]!.body.message;
    for (const r of answers) assert.deepEqual(r.body, { message });
    // The sending socket: one broadcast plus one answer per repeated frame.
    const expectedAtSender = restCreated ? 11 : 10;
    await sender.until(
      (fs) => fs.filter((f) => f.type === 'message' && f.message.id === message.id).length >= expectedAtSender,
      'the answers to all ten frames',
    );

    const marker = (await post(p.owner, room.id, { body: 'marker', client_id: 'marker' })).body.message;
    await Promise.all([sender, tab, a].map((s) => s.next('message', (f) => f.message.id === marker.id)));
    await adminNotes.next('notification', (f) => f.message.id === marker.id);
    for (const f of sender.of('message').filter((f) => f.message.id === message.id)) assert.deepEqual(f.message, message);
    assert.equal(sender.of('message').filter((f) => f.message.id === message.id).length, expectedAtSender);
    for (const s of [tab, a]) {
      assert.deepEqual(
        s.of('message').map((f) => f.message),
        [message, marker],
      );
    }
    assert.deepEqual(
      adminNotes.of('notification').map((f) => f.message.id),
      [message.id, marker.id],
    );
    assert.deepEqual(sender.of('error'), []);
    const page = await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, p.owner);
    assert.deepEqual(page.body.messages, [message, marker]);
  });
});
