// A person's export and erasure requests, answered by the marketplace's backend with what the real
// reference server holds. Needs the server's export and erasure routes (contract v1.2, issue 16):
// until they are in, the chat answers 404 and these fail.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startMarketplace, type TestMarketplace } from './marketplace-harness.js';

let market: TestMarketplace;
beforeEach(async () => {
  market = await startMarketplace();
});
afterEach(() => market.stop());

/** A request where the owner (42) wrote twice and Garage Nord once. */
async function conversation(): Promise<string> {
  const id = await market.openRequest('Brake pads');
  const owner = market.client('42').room(id);
  const workshop = market.client('staff-7').room(id);
  await Promise.all([owner.connect(), workshop.connect()]);
  await owner.send('The front pads squeal.');
  await workshop.send('Bring it on Tuesday.');
  await owner.send('My number is 0170 555 0100.');
  return id;
}

test('the export holds the person\'s record, requests, rooms and the messages they sent', async () => {
  const id = await conversation();
  const res = await market.as('ops-1', 'GET', '/users/42/export');
  assert.equal(res.status, 200);
  const { user, service_requests, chat } = (await res.json()) as { user: object; service_requests: object[]; chat: any };
  assert.deepEqual(user, { id: '42', name: 'Ana Ruiz', email: 'ana.ruiz@example.com', kind: 'owner' });
  assert.deepEqual(service_requests, [{ id, ownerId: '42', workshopId: 'w-7', title: 'Brake pads', status: 'open' }]);
  assert.equal(chat.user_id, '42');
  assert.deepEqual(chat.rooms.map((r: any) => [r.id, r.user_name, r.workshop_name]), [[id, 'Ana Ruiz', 'Garage Nord']]);
  assert.deepEqual(chat.messages.map((m: any) => [m.request_id, m.seq, m.body]), [
    [id, 1, 'The front pads squeal.'],
    [id, 3, 'My number is 0170 555 0100.'],
  ]);
  assert.equal((await market.as('42', 'GET', '/users/42/export')).status, 403);
});

test('erasure redacts every message the person sent, tells open sockets, and clears their name', async () => {
  const id = await conversation();
  // The workshop's chat as a plain socket, to see the frames themselves.
  const socket = new WebSocket(`${market.chat.url.replace('http', 'ws')}/ws/service-chat/${id}/?token=${await market.chatToken('staff-7')}`);
  const frames: any[] = [];
  const redactions = new Promise<number[]>((resolve) =>
    socket.on('message', (data) => {
      frames.push(JSON.parse(String(data)));
      const seqs = frames.filter((f) => f.type === 'message_redacted').map((f) => f.seq);
      if (seqs.length === 2) resolve(seqs.sort((a, b) => a - b));
    }),
  );
  await new Promise((resolve) => socket.on('message', resolve));

  const res = await market.as('ops-1', 'DELETE', '/users/42');
  assert.equal(res.status, 204);
  assert.deepEqual(await redactions, [1, 3]);
  socket.close();

  const history = await market.chatApi('staff-7', `/api/service-requests/${id}/messages/`);
  assert.deepEqual(
    history.body.messages.map((m: any) => [m.seq, m.sender.id, m.sender.name, m.body, m.redacted, 'data' in m]),
    [
      [1, '42', null, '', true, false],
      [2, 'staff-7', 'Bo Berg', 'Bring it on Tuesday.', undefined, false],
      [3, '42', null, '', true, false],
    ],
  );
  const { body: room } = await market.chatApi('staff-7', `/api/service-requests/${id}/`);
  assert.deepEqual([room.user_id, room.user_name, room.last_seq], ['42', null, 3]);
  // The marketplace forgot them: no more chat tokens; erasing again is harmless.
  assert.equal((await market.as('42', 'GET', '/chat-token')).status, 401);
  assert.equal((await market.as('ops-1', 'DELETE', '/users/42')).status, 204);
});
