import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ChatService } from '../src/chat/service.js';
import type { Identity } from '../src/chat/types.js';
import { LocalFanout } from '../src/fanout/local.js';
import { admin, api, createRoom, owner, suiteServer, tempDir, TestSocket, token, unique } from './helpers/harness.js';
import { dropTestDatabase, openTestStore } from './helpers/test-store.js';

/** The host's backend: `role: "service"`, signed with the same key as the participants' tokens. */
const service = (id = 'host-backend') => token({ sub: id, role: 'service' });

describe('the service caller (contract v1.2)', () => {
  const server = suiteServer();
  const call = (method: string, path: string, auth: string, body?: unknown) => api(server.url, method, path, auth, body);

  test('reads any room and its history over REST, without taking part in it', async () => {
    const user = unique('u');
    const room = await createRoom(server.url, owner(user, 'Ana'), unique('w'), 'Brakes');
    await call('POST', `/api/service-requests/${room.id}/messages/`, owner(user, 'Ana'), { body: 'Hello' });

    const got = await call('GET', `/api/service-requests/${room.id}/`, service());
    assert.equal(got.status, 200);
    assert.equal(got.body.id, room.id);
    assert.equal(got.body.last_seq, 1);
    const history = await call('GET', `/api/service-requests/${room.id}/messages/`, service());
    assert.equal(history.status, 200);
    assert.deepEqual(
      history.body.messages.map((m: any) => [m.seq, m.body]),
      [[1, 'Hello']],
    );
    assert.equal((await call('GET', '/api/service-requests/no-such-room/', service())).status, 404);
  });

  test('has no side: no read cursor, no inbox, no unread, no owner’s room of its own (403); its sends are system messages (system-messages.test.ts)', async () => {
    const user = unique('u');
    const room = await createRoom(server.url, owner(user), unique('w'));
    await call('POST', `/api/service-requests/${room.id}/messages/`, owner(user), { body: 'Hi' });
    const refusals = [
      await call('POST', `/api/service-requests/${room.id}/messages/read/`, service(), {}),
      await call('GET', '/api/service-requests/', service()),
      await call('GET', '/api/notifications/unread/', service()),
      await call('POST', '/api/service-requests/', service(), { workshop_id: 'w-1', title: 'Mine' }),
    ];
    for (const res of refusals) {
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'forbidden');
    }
    const after = await call('GET', `/api/service-requests/${room.id}/`, owner(user));
    assert.deepEqual(after.body.read_cursors, { user: 0, workshop: 0 });
    assert.equal(after.body.last_seq, 1);
  });

  test('a WebSocket opened with a service token or its ticket is closed 4403', async () => {
    const room = await createRoom(server.url, owner(unique('u')), unique('w'));
    const chat = TestSocket.chat(server, room.id, service());
    const notifications = TestSocket.notifications(server, service());
    const ticket = await call('POST', '/api/ws-tickets/', service());
    assert.equal(ticket.status, 200);
    const byTicket = new TestSocket(`${server.wsUrl}/ws/service-chat/${room.id}/?ticket=${encodeURIComponent(ticket.body.ticket)}`);
    for (const socket of [chat, notifications, byTicket]) {
      const closed = await socket.closed;
      assert.equal(closed.code, 4403);
      assert.equal(closed.reason, 'a service token is for REST only');
      assert.deepEqual(socket.frames, []);
    }
  });

  test('a token with an unknown role is still refused (401)', async () => {
    const res = await call('GET', '/api/service-requests/x/', token({ sub: 'root', role: 'admin' }));
    assert.equal(res.status, 401);
    const participantTokens = [owner(unique('u')), admin(unique('a'), unique('w'))];
    for (const auth of participantTokens) assert.equal((await call('GET', '/api/service-requests/', auth)).status, 200);
  });
});

describe('PUT /api/service-requests/{id}/: rooms under the host’s ids', () => {
  const server = suiteServer();
  const put = (id: string, body: unknown, auth = service()) => api(server.url, 'PUT', `/api/service-requests/${id}/`, auth, body);
  const get = (id: string, auth = service()) => api(server.url, 'GET', `/api/service-requests/${id}/`, auth);

  test('creates the room under the given id (201), then updates it (200), answering the room as GET gives it', async () => {
    const id = `sr-2026:${unique('x')}.a_b`;
    const user = unique('u');
    const workshop = unique('w');
    const created = await put(id, { user_id: user, workshop_id: workshop, title: '  Brakes  ', workshop_name: 'Garage Nord' });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, {
      id,
      user_id: user,
      workshop_id: workshop,
      title: 'Brakes',
      created_at: created.body.created_at,
      status: 'open',
      user_name: null,
      workshop_name: 'Garage Nord',
      last_seq: 0,
      read_cursors: { user: 0, workshop: 0 },
    });
    assert.deepEqual((await get(id)).body, created.body);

    const same = await put(id, { user_id: user, workshop_id: workshop, title: 'Brakes' });
    assert.equal(same.status, 200);
    assert.deepEqual(same.body, created.body, 'omitted optional fields keep their values');

    const renamed = await put(id, { user_id: user, workshop_id: workshop, title: 'Brakes and tyres', user_name: 'Ana', workshop_name: null });
    assert.equal(renamed.status, 200);
    assert.deepEqual(renamed.body, { ...created.body, title: 'Brakes and tyres', user_name: 'Ana', workshop_name: null });
    assert.deepEqual((await get(id, owner(user))).body, renamed.body, 'the owner sees it as the service does');

    const inbox = await api(server.url, 'GET', '/api/service-requests/', admin(unique('a'), workshop));
    assert.deepEqual(inbox.body.service_requests, [{ ...renamed.body, unread: 0, last_message: null }]);
  });

  test('owner-created rooms carry status and names too', async () => {
    const res = await api(server.url, 'POST', '/api/service-requests/', owner(unique('u')), { workshop_id: 'w-1', title: 'Oil' });
    assert.equal(res.status, 201);
    assert.equal(res.body.status, 'open');
    assert.equal(res.body.user_name, null);
    assert.equal(res.body.workshop_name, null);
  });

  test('bad ids and fields are 400 invalid, a participant is 403, and none of them writes anything', async () => {
    const user = unique('u');
    const good = { user_id: user, workshop_id: 'w-1', title: 'Brakes' };
    const badIds = ['a'.repeat(65), 'a b', 'a%2Fb', 'é', 'a%00'];
    for (const id of badIds) {
      const res = await put(id, good);
      assert.equal(res.status, 400, id);
      assert.equal(res.body.error.code, 'invalid');
    }
    const id = unique('sr');
    const badBodies: unknown[] = [
      { ...good, user_id: '' },
      { ...good, workshop_id: 7 },
      { ...good, title: '  ' },
      { ...good, title: 'x'.repeat(201) },
      { ...good, status: 'archived' },
      { ...good, user_name: 5 },
      { ...good, workshop_name: 'x'.repeat(201) },
      { ...good, colour: 'red' },
      { user_id: user, title: 'no workshop' },
      [],
    ];
    for (const body of badBodies) {
      const res = await put(id, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'invalid');
    }
    for (const auth of [owner(user), admin(unique('a'), 'w-1')]) {
      const res = await put(id, good, auth);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'forbidden');
    }
    assert.equal((await get(id)).status, 404);
    assert.deepEqual((await api(server.url, 'GET', '/api/service-requests/', owner(user))).body.service_requests, []);
  });

  test('racing puts of one new id create one room: one 201, the others 200', async () => {
    const id = unique('sr');
    const body = { user_id: unique('u'), workshop_id: 'w-1', title: 'Brakes' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => put(id, body)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
    const created = answers.find((a) => a.status === 201)?.body;
    for (const answer of answers) assert.deepEqual(answer.body, created);
    const inbox = await api(server.url, 'GET', '/api/service-requests/', owner(body.user_id));
    assert.deepEqual(inbox.body.service_requests.map((r: any) => r.id), [id]);
  });
});

describe('closing and reopening a room', () => {
  const server = suiteServer();
  const put = (id: string, body: unknown) => api(server.url, 'PUT', `/api/service-requests/${id}/`, service(), body);

  test('a closed room refuses sends on REST (409 closed) and WS (final error frame with the client_id); history, reads and the inbox keep working; reopening restores sends', async () => {
    const id = unique('sr');
    const user = unique('u');
    const workshop = unique('w');
    const ana = owner(user, 'Ana');
    const bo = admin(unique('a'), workshop, 'Bo');
    const base = { user_id: user, workshop_id: workshop, title: 'Brakes' };
    const created = (await put(id, base)).body;
    const sent = await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, ana, { body: 'Before', client_id: 'c-1' });
    assert.equal(sent.status, 201);

    const chats = [TestSocket.chat(server, id, ana), TestSocket.chat(server, id, bo)];
    const bells = [TestSocket.notifications(server, ana), TestSocket.notifications(server, bo)];
    const sockets = [...chats, ...bells];
    await Promise.all(sockets.map((s) => s.ready()));

    const closed = await put(id, { ...base, status: 'closed' });
    assert.equal(closed.status, 200);
    assert.equal(closed.body.status, 'closed');
    const { last_seq: _seq, read_cursors: _cursors, ...info } = created;
    for (const socket of sockets) {
      const frame = await socket.next('room');
      assert.deepEqual(frame, { type: 'room', room: { ...info, status: 'closed' } });
    }

    const refused = await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, ana, { body: 'After', client_id: 'c-2' });
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.body, { error: { code: 'closed', message: 'this service request is closed; it takes no new messages' } });
    chats[1]!.send({ type: 'message', body: 'After', client_id: 'c-ws' });
    assert.deepEqual(await chats[1]!.next('error'), {
      type: 'error',
      code: 'closed',
      message: 'this service request is closed; it takes no new messages',
      client_id: 'c-ws',
    });
    // A retry of a message stored before the close is answered as before: it is no new message.
    const retry = await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, ana, { body: 'Before', client_id: 'c-1' });
    assert.deepEqual([retry.status, retry.body.message.id], [200, sent.body.message.id]);

    const history = await api(server.url, 'GET', `/api/service-requests/${id}/messages/`, bo);
    assert.deepEqual(history.body.messages.map((m: any) => m.body), ['Before']);
    const read = await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, bo, {});
    assert.deepEqual(read.body, { read_cursors: { user: 0, workshop: 1 }, unread: 0 });
    const inbox = await api(server.url, 'GET', '/api/service-requests/', ana);
    assert.deepEqual(inbox.body.service_requests.map((r: any) => [r.id, r.status, r.last_seq]), [[id, 'closed', 1]]);

    assert.equal((await put(id, { ...base, status: 'closed' })).status, 200, 'unchanged: no frame');
    const reopened = await put(id, base);
    assert.equal(reopened.body.status, 'closed', 'an omitted status keeps the stored one');
    await put(id, { ...base, status: 'open' });
    for (const socket of sockets) {
      await socket.next('room', (f) => f.room.status === 'open');
      assert.deepEqual(socket.of('room').map((f) => f.room.status), ['closed', 'open']);
    }
    const again = await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, ana, { body: 'After', client_id: 'c-2' });
    assert.deepEqual([again.status, again.body.message.seq], [201, 2]);
    await chats[1]!.next('message', (f) => f.message.seq === 2);
    await Promise.all(sockets.map((s) => s.close()));
  });

  test('names and title changes reach the sockets as room frames too', async () => {
    const id = unique('sr');
    const user = unique('u');
    const base = { user_id: user, workshop_id: unique('w'), title: 'Brakes' };
    await put(id, base);
    const chat = TestSocket.chat(server, id, owner(user));
    await chat.ready();
    await put(id, { ...base, title: 'Brakes and pads', workshop_name: 'Garage Nord' });
    const frame = await chat.next('room');
    assert.deepEqual(
      [frame.room.title, frame.room.status, frame.room.user_name, frame.room.workshop_name],
      ['Brakes and pads', 'open', null, 'Garage Nord'],
    );
    await chat.close();
  });
});

describe('reassigning a room to another workshop', () => {
  const server = suiteServer();
  const put = (id: string, body: unknown) => api(server.url, 'PUT', `/api/service-requests/${id}/`, service(), body);

  test('the old workshop loses access at once on every path; the new one sees the whole history and the same unread, and writes', async () => {
    const id = unique('sr');
    const user = unique('u');
    const [oldWorkshop, newWorkshop] = [unique('w-old'), unique('w-new')];
    const ana = owner(user, 'Ana');
    const oldAdmin = admin(unique('a'), oldWorkshop, 'Bo');
    const newAdmin = admin(unique('a'), newWorkshop, 'Cy');
    const base = { user_id: user, workshop_id: oldWorkshop, title: 'Brakes' };
    await put(id, base);
    for (const body of ['one', 'two']) {
      assert.equal((await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, ana, { body })).status, 201);
    }
    assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', oldAdmin)).body, { total: 2, rooms: { [id]: 2 } });

    const ownerChat = TestSocket.chat(server, id, ana);
    const oldChat = TestSocket.chat(server, id, oldAdmin);
    const oldBell = TestSocket.notifications(server, oldAdmin);
    const newBell = TestSocket.notifications(server, newAdmin);
    await Promise.all([ownerChat, oldChat, oldBell, newBell].map((s) => s.ready()));

    const moved = await put(id, { ...base, workshop_id: newWorkshop, workshop_name: 'Garage Nord' });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.workshop_id, newWorkshop);
    assert.deepEqual(moved.body.read_cursors, { user: 0, workshop: 0 });

    assert.deepEqual(await oldChat.closed, { code: 4403, reason: 'no longer a participant of this service request' });
    assert.deepEqual(oldChat.of('room'), [], 'the old workshop is not told where the room went');
    assert.equal((await ownerChat.next('room')).room.workshop_id, newWorkshop);
    assert.equal((await newBell.next('room')).room.workshop_id, newWorkshop);
    await oldBell.next('unread', (f) => f.total === 0);
    await newBell.next('unread', (f) => f.total === 2);
    assert.deepEqual(oldBell.of('room'), []);

    for (const [method, path, body] of [
      ['GET', `/api/service-requests/${id}/`],
      ['GET', `/api/service-requests/${id}/messages/`],
      ['POST', `/api/service-requests/${id}/messages/`, { body: 'still here?' }],
      ['POST', `/api/service-requests/${id}/messages/read/`, {}],
    ] as const) {
      const res = await api(server.url, method, path, oldAdmin, body);
      assert.deepEqual([res.status, res.body.error.code], [403, 'forbidden'], path);
    }
    assert.deepEqual((await api(server.url, 'GET', '/api/service-requests/', oldAdmin)).body.service_requests, []);
    assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', oldAdmin)).body, { total: 0, rooms: {} });
    const oldChatAgain = TestSocket.chat(server, id, oldAdmin);
    assert.equal((await oldChatAgain.closed).code, 4403);

    const history = await api(server.url, 'GET', `/api/service-requests/${id}/messages/`, newAdmin);
    assert.deepEqual(history.body.messages.map((m: any) => m.body), ['one', 'two']);
    const inbox = await api(server.url, 'GET', '/api/service-requests/', newAdmin);
    assert.deepEqual(inbox.body.service_requests.map((r: any) => [r.id, r.unread, r.workshop_name]), [[id, 2, 'Garage Nord']]);
    assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', newAdmin)).body, { total: 2, rooms: { [id]: 2 } });

    // The owner's open socket sends on: the notification reaches the new workshop, the count a recount.
    ownerChat.send({ type: 'message', body: 'three', client_id: 'c-3' });
    const note = await newBell.next('notification');
    assert.deepEqual([note.request_id, note.message.body, note.unread], [id, 'three', { count: 3, total: 3 }]);
    const reply = await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, newAdmin, { body: 'on it' });
    assert.deepEqual([reply.status, reply.body.message.seq], [201, 4]);
    await ownerChat.next('message', (f) => f.message.seq === 4);
    const read = await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, newAdmin, {});
    assert.deepEqual(read.body, { read_cursors: { user: 0, workshop: 4 }, unread: 0 });
    assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', newAdmin)).body, { total: 0, rooms: {} });
    assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', oldAdmin)).body, { total: 0, rooms: {} });
    await Promise.all([ownerChat, oldBell, newBell].map((s) => s.close()));
  });

  test('another owner is refused (409 conflict) and changes nothing', async () => {
    const id = unique('sr');
    const body = { user_id: unique('u'), workshop_id: 'w-1', title: 'Brakes' };
    const created = await put(id, body);
    const res = await put(id, { ...body, user_id: unique('u') });
    assert.deepEqual([res.status, res.body.error.code], [409, 'conflict']);
    assert.deepEqual((await api(server.url, 'GET', `/api/service-requests/${id}/`, service())).body, created.body);
  });
});

describe('a send racing a reassignment', () => {
  test('notifies the workshop that holds the room when the message is stored, not the one the sender’s view named', async () => {
    const dataDir = tempDir();
    const store = await openTestStore(dataDir);
    const fanout = new LocalFanout();
    const errors: unknown[] = [];
    const chat = new ChatService(store, fanout, { maxBodyChars: 2000, maxTitleChars: 200, unreadSnapshotWindowMs: 1000 }, (e) => errors.push(e));
    const heard: Record<string, string[]> = { old: [], new: [] };
    const subscriptions = (['old', 'new'] as const).map((w) =>
      fanout.subscribe(`workshop:w-${w}`, (event) => heard[w]!.push(JSON.parse(event.frame).type)),
    );
    try {
      const host: Identity = { id: 'host', role: 'service', workshopId: null, name: null, expiresAt: Date.now() + 60_000 };
      const ana: Identity = { id: 'u-ana', role: 'user', workshopId: null, name: 'Ana', expiresAt: Date.now() + 60_000 };
      const { room: before } = await chat.putRoom(host, { id: 'sr-1', user_id: 'u-ana', workshop_id: 'w-old', title: 'Brakes' });
      await chat.putRoom(host, { id: 'sr-1', user_id: 'u-ana', workshop_id: 'w-new', title: 'Brakes' });
      await chat.drain();
      heard.old = [];
      heard.new = [];
      // An open chat socket's view of the room, read before the reassignment.
      const { created } = await chat.sendMessage(ana, before, 'hello', 'c-1');
      await chat.drain();
      assert.equal(created, true);
      assert.deepEqual(heard, { old: [], new: ['notification'] });
      assert.deepEqual(errors, []);
    } finally {
      for (const s of subscriptions) s.unsubscribe();
      await chat.drain();
      await store.close();
      await dropTestDatabase(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
