// The marketplace's backend drives the rooms of its service requests on a real reference server:
// its ids, names, reassignment, close and reopen; and gives its users' browsers their chat tokens.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import type { ChatError } from '@motoreach/chat-client';
import { AUDIENCE, ISSUER, nextMessage, startMarketplace, type TestMarketplace } from './marketplace-harness.js';
import { SECRET } from '../../test-support/chat-server.js';

let market: TestMarketplace;
beforeEach(async () => {
  market = await startMarketplace();
});
afterEach(async () => {
  await market.stop();
  assert.deepEqual(
    market.log.filter((line) => /eyJ|Bearer/.test(line)),
    [],
    'no token in the backend\'s log',
  );
});

test('GET /chat-token signs the signed-in person for the chat, and nobody else', async () => {
  const res = await market.as('42', 'GET', '/chat-token');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const token = await res.text();
  const claims = jwt.verify(token, SECRET, { algorithms: ['HS256'], audience: AUDIENCE, issuer: ISSUER }) as jwt.JwtPayload;
  assert.deepEqual(
    { sub: claims.sub, role: claims.role, name: claims.name, lifetime: claims.exp! - claims.iat! },
    { sub: '42', role: 'user', name: 'Ana Ruiz', lifetime: 900 },
  );
  const staff = jwt.decode(await market.chatToken('staff-7')) as jwt.JwtPayload;
  assert.deepEqual({ sub: staff.sub, role: staff.role, workshop_id: staff.workshop_id, name: staff.name }, { sub: 'staff-7', role: 'workshop_admin', workshop_id: 'w-7', name: 'Bo Berg' });

  assert.deepEqual(await market.chatApi('42', '/api/notifications/unread/'), { status: 200, body: { total: 0, rooms: {} } });
  const anonymous = await fetch(`${market.url}/chat-token`);
  assert.equal(anonymous.status, 401);
  assert.deepEqual(await anonymous.json(), { error: { code: 'unauthorized', message: 'sign in first' } });
  const operator = await market.as('ops-1', 'GET', '/chat-token');
  assert.equal(operator.status, 403);
});

test('a new service request is a room under the marketplace\'s id, named for both sides', async () => {
  const res = await market.as('42', 'POST', '/service-requests', { workshop_id: 'w-7', title: 'Brake pads' });
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), { id: 'sr-2026-0042', ownerId: '42', workshopId: 'w-7', title: 'Brake pads', status: 'open' });

  const { status, body: room } = await market.chatApi('staff-7', '/api/service-requests/sr-2026-0042/');
  assert.equal(status, 200);
  assert.deepEqual(
    { ...room, created_at: typeof room.created_at },
    {
      id: 'sr-2026-0042', user_id: '42', workshop_id: 'w-7', title: 'Brake pads', created_at: 'string', status: 'open',
      user_name: 'Ana Ruiz', workshop_name: 'Garage Nord', last_seq: 0, read_cursors: { user: 0, workshop: 0 },
    },
  );

  const owner = market.client('42').room('sr-2026-0042');
  const workshop = market.client('staff-7').room('sr-2026-0042');
  await Promise.all([owner.connect(), workshop.connect()]);
  const heard = nextMessage(workshop);
  await owner.send('The front pads squeal.');
  assert.deepEqual((({ seq, body, sender }) => ({ seq, body, sender }))(await heard), {
    seq: 1, body: 'The front pads squeal.', sender: { id: '42', role: 'user', name: 'Ana Ruiz' },
  });

  const inbox = await market.chatApi('42', '/api/service-requests/');
  assert.deepEqual(inbox.body.service_requests.map((r: any) => [r.id, r.workshop_name]), [['sr-2026-0042', 'Garage Nord']]);
  assert.equal(await market.openRequest('Oil change'), 'sr-2026-0043');
});

test('reassigning cuts the old workshop\'s socket with 4403; the new workshop reads the whole history and writes', async () => {
  const id = await market.openRequest('Brake pads');
  const owner = market.client('42').room(id);
  const garageNord = market.client('staff-7').room(id);
  await Promise.all([owner.connect(), garageNord.connect()]);
  await owner.send('The front pads squeal.');
  await garageNord.send('Bring it on Tuesday.');

  const cut = new Promise<ChatError | undefined>((resolve) => garageNord.on('status', ({ status, reason }) => status === 'closed' && resolve(reason)));
  const res = await market.as('ops-1', 'POST', `/service-requests/${id}/reassign`, { workshop_id: 'w-9' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { id, ownerId: '42', workshopId: 'w-9', title: 'Brake pads', status: 'open' });
  const reason = await cut;
  assert.deepEqual({ code: reason?.code, closeCode: reason?.closeCode }, { code: 'forbidden', closeCode: 4403 });
  assert.equal((await market.chatApi('staff-7', `/api/service-requests/${id}/messages/`)).status, 403);
  assert.deepEqual((await market.chatApi('staff-7', '/api/service-requests/')).body.service_requests, []);

  const garageSud = market.client('staff-9').room(id);
  await garageSud.connect();
  assert.deepEqual(garageSud.messages.map((m) => [m.seq, m.body]), [[1, 'The front pads squeal.'], [2, 'Bring it on Tuesday.']]);
  const heard = nextMessage(owner);
  await garageSud.send('Garage Sud here: Wednesday works too.');
  assert.deepEqual([(await heard).seq, (await heard).sender.name], [3, 'Cem Demir']);
  const { body: room } = await market.chatApi('42', `/api/service-requests/${id}/`);
  assert.deepEqual([room.workshop_id, room.workshop_name], ['w-9', 'Garage Sud']);
});

test('a closed request refuses sends with closed (409) and keeps its history; reopening restores sends', async () => {
  const id = await market.openRequest('Brake pads');
  const owner = market.client('42').room(id);
  const workshop = market.client('staff-7').room(id);
  await Promise.all([owner.connect(), workshop.connect()]);
  await owner.send('The front pads squeal.');

  const closed = await market.as('ops-1', 'POST', `/service-requests/${id}/close`);
  assert.deepEqual([closed.status, ((await closed.json()) as { status: string }).status], [200, 'closed']);
  const refused = await market.chatApi('42', `/api/service-requests/${id}/messages/`, { method: 'POST', body: { body: 'Hello?', client_id: 'c-1' } });
  assert.deepEqual([refused.status, refused.body.error.code], [409, 'closed']);
  await assert.rejects(workshop.send('Done, see you.'), (error: ChatError) => error.code === 'closed');
  const history = await market.chatApi('42', `/api/service-requests/${id}/messages/`);
  assert.deepEqual(history.body.messages.map((m: any) => m.body), ['The front pads squeal.']);
  assert.equal((await market.chatApi('staff-7', `/api/service-requests/${id}/`)).body.status, 'closed');
  // Closing again is the same PUT again: the room stays as it is.
  assert.equal((await market.as('ops-1', 'POST', `/service-requests/${id}/close`)).status, 200);

  const reopened = await market.as('ops-1', 'POST', `/service-requests/${id}/reopen`);
  assert.deepEqual([reopened.status, ((await reopened.json()) as { status: string }).status], [200, 'open']);
  const heard = nextMessage(workshop);
  assert.equal((await owner.send('One more question.')).seq, 2);
  assert.equal((await heard).body, 'One more question.');
});

test('a reassignment and a close at once both take effect, in the chat as in the marketplace', async () => {
  const id = await market.openRequest('Brake pads');
  const [reassigned, closed] = await Promise.all([
    market.as('ops-1', 'POST', `/service-requests/${id}/reassign`, { workshop_id: 'w-9' }),
    market.as('ops-1', 'POST', `/service-requests/${id}/close`),
  ]);
  assert.deepEqual([reassigned.status, closed.status], [200, 200]);
  const { body: room } = await market.chatApi('42', `/api/service-requests/${id}/`);
  assert.deepEqual([room.workshop_id, room.workshop_name, room.status], ['w-9', 'Garage Sud', 'closed']);
  const reopened = await market.as('ops-1', 'POST', `/service-requests/${id}/reopen`);
  assert.deepEqual(await reopened.json(), { id, ownerId: '42', workshopId: 'w-9', title: 'Brake pads', status: 'open' });
});

test('a refusal by the chat is answered at once, not retried, and changes nothing', async () => {
  const res = await market.as('42', 'POST', '/service-requests', { workshop_id: 'w-7', title: 'x'.repeat(201) });
  assert.equal(res.status, 502);
  assert.deepEqual(await res.json(), { error: { code: 'invalid', message: 'title is longer than 200 characters' } });
  assert.deepEqual(market.log, ['chat refused: 400 invalid, title is longer than 200 characters']);
  assert.equal((await market.chatApi('42', '/api/service-requests/sr-2026-0042/')).status, 404);
});

test('a body that is not JSON is refused 400 invalid, not answered as an internal error, and nothing is saved', async () => {
  const res = await fetch(`${market.url}/service-requests`, { method: 'POST', headers: { 'x-demo-user': '42', 'content-type': 'application/json' }, body: '{"workshop_id": "w-7",' });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { error: { code: 'invalid', message: 'the body is not valid JSON' } });
  assert.deepEqual(market.log, []);
  assert.equal((await market.chatApi('42', '/api/service-requests/sr-2026-0042/')).status, 404);
});

test('a chat server unreachable through every retry: the caller gets 503, and nothing is saved', async () => {
  await market.stopChat();
  const res = await market.as('42', 'POST', '/service-requests', { workshop_id: 'w-7', title: 'Brake pads' });
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: { code: 'network', message: 'no answer from the chat server (ECONNREFUSED)' } });
  assert.deepEqual(market.log, [
    'chat PUT /api/service-requests/sr-2026-0042/: network; attempt 1 of 5, again in 10 ms',
    'chat PUT /api/service-requests/sr-2026-0042/: network; attempt 2 of 5, again in 20 ms',
    'chat PUT /api/service-requests/sr-2026-0042/: network; attempt 3 of 5, again in 40 ms',
    'chat PUT /api/service-requests/sr-2026-0042/: network; attempt 4 of 5, again in 80 ms',
    'chat unavailable: network, no answer from the chat server (ECONNREFUSED)',
  ]);
  const reassign = await market.as('ops-1', 'POST', '/service-requests/sr-2026-0042/reassign', { workshop_id: 'w-9' });
  assert.equal(reassign.status, 404);
});
