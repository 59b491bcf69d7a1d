import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admin, api, createRoom, eventually, owner, startTestServer, TestSocket, token, unique } from './helpers/harness.js';
import { pendingEvents } from './helpers/webhook-outbox.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

const service = () => token({ sub: 'host-backend', role: 'service', name: 'MotoReach' });

describe('webhook events: recorded with the change, delivered signed (Standard Webhooks)', () => {
  const { receiver, server } = WebhookReceiver.suite();

  test('message.created from a WebSocket, a REST and a system send: data.message exactly as history returns it', async () => {
    const ana = owner(unique('u'));
    const bo = admin(unique('a'), 'w-1');
    const room = await createRoom(server.url, ana);
    const socket = TestSocket.chat(server, room.id, bo);
    await socket.ready();
    socket.send({ type: 'message', body: 'From the socket', client_id: 'ws-1' });
    await socket.until((frames) => frames.some((f) => f.type === 'message'), 'the ws ack');
    await socket.close();
    assert.equal((await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'Over REST', client_id: 'rest-1' })).status, 201);
    const system = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, service(), {
      body: 'Quote ready',
      data: { kind: 'quote', total: 120.5 },
    });
    assert.equal(system.status, 201);

    const history = (await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, ana)).body.messages;
    assert.equal(history.length, 3);
    await receiver.until(() => receiver.acceptedFor(room.id).length === 4, 'room.created and three message.created');
    const events = receiver.acceptedFor(room.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['room.created', 'message.created', 'message.created', 'message.created'],
    );
    assert.deepEqual(
      events.slice(1).map((e) => e.data),
      history.map((message: unknown) => ({ message })),
    );
    assert.deepEqual(
      events.slice(1).map((e: any) => [e.timestamp, e.data.message.request_id, e.data.message.seq]),
      history.map((m: any) => [m.created_at, room.id, m.seq]),
    );
    assert.equal(history[2].sender.role, 'system');
    assert.deepEqual(history[2].data, { kind: 'quote', total: 120.5 });
    const deliveries = receiver.accepted().filter((d) => d.payload!.data.message?.request_id === room.id);
    for (const d of deliveries) {
      assert.match(d.id, /^evt_[A-Za-z0-9_-]{16}$/);
      assert.match(String(d.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
      assert.equal(d.headers['content-type'], 'application/json');
    }
  });

  test('room.created (owner and PUT), room.updated (status, reassignment, names; not an unchanged PUT), room.read', async () => {
    const id = unique('sr');
    const user = unique('u');
    const put = (body: Record<string, unknown>) => api(server.url, 'PUT', `/api/service-requests/${id}/`, service(), body);
    const base = { user_id: user, workshop_id: 'w-a', title: 'Brakes' };
    assert.equal((await put(base)).status, 201);
    assert.equal((await put(base)).status, 200);
    await put({ ...base, workshop_id: 'w-b', user_name: 'Ana', workshop_name: 'Garage B' });
    await put({ ...base, workshop_id: 'w-b', status: 'closed' });
    await put({ ...base, workshop_id: 'w-b', status: 'open' });
    const ana = owner(user);
    await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, admin(unique('a'), 'w-b'), { body: 'Hello' });
    const read = await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, ana, { last_read_seq: 1 });
    assert.equal(read.status, 200);
    // Not moved: no event.
    await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, ana, { last_read_seq: 1 });

    await receiver.until(() => receiver.acceptedFor(id).length === 6, 'six events of the room');
    const events = receiver.acceptedFor(id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['room.created', 'room.updated', 'room.updated', 'room.updated', 'message.created', 'room.read'],
    );
    const created = events[0]!.data.room;
    assert.deepEqual(created, {
      id,
      user_id: user,
      workshop_id: 'w-a',
      title: 'Brakes',
      created_at: created.created_at,
      status: 'open',
      user_name: null,
      workshop_name: null,
      last_seq: 0,
      read_cursors: { user: 0, workshop: 0 },
    });
    assert.deepEqual(events[1]!.data, {
      room: { ...created, workshop_id: 'w-b', user_name: 'Ana', workshop_name: 'Garage B' },
      changed: ['workshop_id', 'user_name', 'workshop_name'],
      previous: { workshop_id: 'w-a', user_name: null, workshop_name: null },
    });
    assert.deepEqual([events[2]!.data.changed, events[2]!.data.previous, events[2]!.data.room.status], [['status'], { status: 'open' }, 'closed']);
    assert.deepEqual([events[3]!.data.changed, events[3]!.data.room.status], [['status'], 'open']);
    assert.deepEqual(events[5]!.data, { request_id: id, side: 'user', read_cursors: { user: 1, workshop: 0 }, unread: 0 });

    const ownRoom = await createRoom(server.url, ana, 'w-c', 'Tyres');
    await receiver.until(() => receiver.acceptedFor(ownRoom.id).length === 1, 'room.created of POST');
    assert.deepEqual(receiver.acceptedFor(ownRoom.id)[0], {
      type: 'room.created',
      timestamp: ownRoom.created_at,
      data: { room: { ...ownRoom, status: 'open', user_name: null, workshop_name: null, last_seq: 0, read_cursors: { user: 0, workshop: 0 } } },
    });
  });

  test('a refused write records nothing: a send to a closed room, a read of a room reassigned away', async () => {
    const id = unique('sr');
    const user = unique('u');
    const put = (body: Record<string, unknown>) => api(server.url, 'PUT', `/api/service-requests/${id}/`, service(), body);
    const base = { user_id: user, workshop_id: 'w-x', title: 'Brakes' };
    await put(base);
    const bo = admin(unique('a'), 'w-x');
    await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, owner(user), { body: 'Hello' });
    await put({ ...base, status: 'closed' });
    const refused = await api(server.url, 'POST', `/api/service-requests/${id}/messages/`, owner(user), { body: 'Too late' });
    assert.equal(refused.status, 409);
    await put({ ...base, workshop_id: 'w-y', status: 'closed' });
    const read = await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, bo, { last_read_seq: 1 });
    assert.equal(read.status, 403);
    await put({ ...base, workshop_id: 'w-y', status: 'open' });

    await receiver.until(() => receiver.acceptedFor(id).length === 5, 'five events of the room');
    assert.deepEqual(
      receiver.acceptedFor(id).map((e) => [e.type, e.data.message?.body ?? e.data.changed ?? null]),
      [
        ['room.created', null],
        ['message.created', 'Hello'],
        ['room.updated', ['status']],
        ['room.updated', ['workshop_id']],
        ['room.updated', ['status']],
      ],
    );
  });

  test('every request verifies, and a delivered event leaves the store (pruned)', async () => {
    await receiver.until(() => receiver.deliveries.length > 0, 'a delivery');
    assert.ok(receiver.deliveries.every((d) => d.payload !== null && d.status === 200));
    await eventually(async () => (await pendingEvents(server.dataDir)) === 0, 'the delivered events pruned');
  });
});

describe('webhook events: off without WEBHOOK_URL', () => {
  test('nothing is recorded', async () => {
    const server = await startTestServer();
    try {
      const ana = owner(unique('u'));
      const room = await createRoom(server.url, ana);
      await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'Hi' });
      assert.equal(await pendingEvents(server.dataDir), 0);
    } finally {
      await server.stop();
    }
  });
});
