import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admin, api, createRoom, owner, suiteServer, TestSocket, token, unique } from './helpers/harness.js';

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

  test('has no side: no read cursor, no inbox, no unread, no sends, no owner’s room of its own (403)', async () => {
    const user = unique('u');
    const room = await createRoom(server.url, owner(user), unique('w'));
    await call('POST', `/api/service-requests/${room.id}/messages/`, owner(user), { body: 'Hi' });
    const refusals = [
      await call('POST', `/api/service-requests/${room.id}/messages/read/`, service(), {}),
      await call('GET', '/api/service-requests/', service()),
      await call('GET', '/api/notifications/unread/', service()),
      await call('POST', '/api/service-requests/', service(), { workshop_id: 'w-1', title: 'Mine' }),
      // Not a side's bubble: a service's messages are the system messages of their own step.
      await call('POST', `/api/service-requests/${room.id}/messages/`, service(), { body: 'Quote ready' }),
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
