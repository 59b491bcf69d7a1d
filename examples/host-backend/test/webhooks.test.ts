// The backend's POST /chat-webhooks, on 127.0.0.1 next to a real reference server (its requests are
// real rooms), receiving deliveries signed here with the standardwebhooks library's own Webhook.sign:
// a stand-in for the chat server's sender, which is not what these tests are about
// (webhooks-e2e.test.ts has the real one). The events are the shapes chat-events.ts expects.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { Message, RoomDetail } from '@motoreach/protocol';
import type { ChatEvent } from '../chat-events.js';
import { startMarketplace, type TestMarketplace } from './marketplace-harness.js';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const CURRENT = secret();
const PREVIOUS = secret();

let market: TestMarketplace;
let id: string;
beforeEach(async () => {
  market = await startMarketplace({ webhooks: { secret: CURRENT, previousSecret: PREVIOUS } });
  id = await market.openRequest('Brake pads');
});
afterEach(() => market.stop());

interface Delivery {
  webhookId?: string;
  /** The secrets the sender signs with (a rotating sender signs with both). */
  secrets?: string[];
  at?: Date;
  /** The body sent, when it is not the event as signed. */
  sentBody?: string;
  /** How the sender writes the event's JSON. */
  indent?: number;
}

/** A POST on a connection of its own, as a sender's is: none left over from a backend since restarted. */
function post(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${market.url}${path}`, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text })).on('error', reject);
    });
    req.on('error', reject).end(body);
  });
}

let deliveries = 0;
/** A delivery as the chat server makes it: Standard Webhooks headers over the JSON body, as bytes. */
function deliver(event: ChatEvent, { webhookId = `msg_${++deliveries}`, secrets = [CURRENT], at = new Date(), sentBody, indent }: Delivery = {}) {
  const body = JSON.stringify(event, null, indent);
  return post('/chat-webhooks', {
    'content-type': 'application/json',
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(webhookId, at, body)).join(' '),
  }, sentBody ?? body);
}

const message = (seq: number, sender: Message['sender'], body: string): Message => ({
  id: `m_${seq}`, request_id: id, seq, sender, body, client_id: `c-${seq}`, created_at: '2026-12-07T10:00:00.000Z',
});
const BO = { id: 'staff-7', role: 'workshop_admin', name: 'Bo Berg' } as const;
const ANA = { id: '42', role: 'user', name: 'Ana Ruiz' } as const;
const created = (m: Message): ChatEvent => ({ type: 'message.created', timestamp: m.created_at, data: { message: m } });
const roomOf = (requestId: string, workshopId: string): RoomDetail => ({
  id: requestId, user_id: '42', workshop_id: workshopId, title: 'Brake pads', created_at: '2026-12-07T09:00:00.000Z', status: 'open',
  user_name: 'Ana Ruiz', workshop_name: null, last_seq: 3, read_cursors: { user: 0, workshop: 0 },
});
const reminder = (notify: { user_id: string } | { workshop_id: string }, oldest: Message, requestId = id): ChatEvent => ({
  type: 'room.unread_reminder',
  timestamp: '2026-12-07T10:05:00.000Z',
  data: {
    room: roomOf(requestId, 'workshop_id' in notify ? notify.workshop_id : 'w-7'),
    side: 'user_id' in notify ? 'user' : 'workshop',
    notify,
    unread: 2,
    oldest_unread: oldest,
    unread_since: oldest.created_at,
    connected: false,
  },
});

/** The request as operations see it in the backend. */
async function requestAsOps() {
  const res = await market.as('ops-1', 'GET', `/service-requests/${id}`);
  assert.equal(res.status, 200);
  return res.json();
}
const inboxLines = () => readFileSync(join(market.dataDir!, 'webhooks.jsonl'), 'utf8').split('\n').filter(Boolean);

test('a workshop\'s message.created is answered 204 and makes the request awaiting_customer; the owner\'s answer, awaiting_workshop', async () => {
  assert.equal((await requestAsOps()).progress, null);
  assert.deepEqual(await deliver(created(message(1, BO, 'Bring it on Tuesday.'))), { status: 204, body: '' });
  await market.webhooksIdle();
  assert.deepEqual(await requestAsOps(), {
    id, ownerId: '42', workshopId: 'w-7', title: 'Brake pads', status: 'open', progress: 'awaiting_customer', room_changes: [],
  });
  const asOwner = await market.as('42', 'GET', `/service-requests/${id}`);
  assert.deepEqual(await asOwner.json(), { id, ownerId: '42', workshopId: 'w-7', title: 'Brake pads', status: 'open', progress: 'awaiting_customer' });
  assert.equal((await market.as('staff-9', 'GET', `/service-requests/${id}`)).status, 403);

  assert.equal((await deliver(created(message(2, ANA, 'Tuesday is fine.')))).status, 204);
  // A system message waits on nobody, and an older message delivered late moves nothing back.
  assert.equal((await deliver(created(message(3, { id: 'repairs-backend', role: 'system', name: 'Repairs marketplace' }, 'Quote: 180.00 EUR')))).status, 204);
  assert.equal((await deliver(created(message(1, BO, 'Bring it on Tuesday.')))).status, 204);
  await market.webhooksIdle();
  assert.equal((await requestAsOps()).progress, 'awaiting_workshop');
  assert.deepEqual(market.outbox(), []);
  assert.deepEqual(market.log, []);
});

test('the signature is checked over the body\'s bytes as sent: JSON with spaces and newlines is accepted', async () => {
  assert.equal((await deliver(created(message(1, BO, 'Bring it on Tuesday.')), { indent: 2 })).status, 204);
  await market.webhooksIdle();
  assert.equal((await requestAsOps()).progress, 'awaiting_customer');
});

test('room.updated goes into the request\'s dispute log, with the chat\'s time; room.created and room.read change nothing', async () => {
  const room = (status: 'open' | 'closed', workshopId: string): RoomDetail => ({
    id, user_id: '42', workshop_id: workshopId, title: 'Brake pads', created_at: '2026-12-07T09:00:00.000Z', status,
    user_name: 'Ana Ruiz', workshop_name: workshopId === 'w-7' ? 'Garage Nord' : 'Garage Sud', last_seq: 0, read_cursors: { user: 0, workshop: 0 },
  });
  assert.equal((await deliver({ type: 'room.created', timestamp: '2026-12-07T09:00:00.000Z', data: { room: room('open', 'w-7') } })).status, 204);
  const reassigned = { room: room('open', 'w-9'), changed: ['workshop_id', 'workshop_name'], previous: { workshop_id: 'w-7', workshop_name: 'Garage Nord' } };
  assert.equal((await deliver({ type: 'room.updated', timestamp: '2026-12-07T11:00:00.000Z', data: reassigned } as ChatEvent)).status, 204);
  const read = { request_id: id, side: 'user', read_cursors: { user: 0, workshop: 0 }, unread: 0 };
  assert.equal((await deliver({ type: 'room.read', timestamp: '2026-12-07T11:30:00.000Z', data: read } as ChatEvent)).status, 204);
  assert.equal((await deliver({ type: 'room.updated', timestamp: '2026-12-07T12:00:00.000Z', data: { room: room('closed', 'w-9'), changed: ['status'], previous: { status: 'open' } } })).status, 204);
  await market.webhooksIdle();
  const { room_changes: changes, progress } = await requestAsOps();
  assert.deepEqual(changes, [
    {
      at: '2026-12-07T11:00:00.000Z', changed: ['workshop_id', 'workshop_name'], previous: { workshop_id: 'w-7', workshop_name: 'Garage Nord' },
      status: 'open', workshopId: 'w-9', title: 'Brake pads',
    },
    { at: '2026-12-07T12:00:00.000Z', changed: ['status'], previous: { status: 'open' }, status: 'closed', workshopId: 'w-9', title: 'Brake pads' },
  ]);
  assert.equal(progress, null);
  // The dispute log is for operations only.
  assert.equal('room_changes' in (await (await market.as('42', 'GET', `/service-requests/${id}`)).json()), false);
});

test('a tampered body, a wrong secret, a stale or a future timestamp are refused 401; missing headers and a non-event 400, more than 1 MiB 413; none changes anything', async () => {
  const event = created(message(1, BO, 'Bring it on Tuesday.'));
  const tampered = JSON.stringify(created(message(1, BO, 'Bring it on Wednesday.')));
  const unauthorized = { status: 401, body: JSON.stringify({ error: { code: 'unauthorized', message: 'the signature or the timestamp is not valid' } }) };
  assert.deepEqual(await deliver(event, { webhookId: 'msg_tampered', sentBody: tampered }), unauthorized);
  assert.deepEqual(await deliver(event, { webhookId: 'msg_wrong', secrets: [secret()] }), unauthorized);
  assert.deepEqual(await deliver(event, { webhookId: 'msg_stale', at: new Date(Date.now() - 10 * 60_000) }), unauthorized);
  assert.deepEqual(await deliver(event, { webhookId: 'msg_future', at: new Date(Date.now() + 10 * 60_000) }), unauthorized);

  const unsigned = await post('/chat-webhooks', { 'content-type': 'application/json', 'webhook-id': 'msg_unsigned' }, JSON.stringify(event));
  assert.deepEqual(unsigned, { status: 400, body: JSON.stringify({ error: { code: 'invalid', message: 'webhook-id, webhook-timestamp, webhook-signature are required' } }) });
  // Signed, but not an event: the body the chat signed is still no event of its.
  const notAnEvent = { type: 'message.created' } as unknown as ChatEvent;
  assert.deepEqual(await deliver(notAnEvent, { webhookId: 'msg_shape' }), {
    status: 400, body: JSON.stringify({ error: { code: 'invalid', message: 'the body is not an event {type, timestamp, data}' } }),
  });

  const huge = await post('/chat-webhooks', { 'content-type': 'application/json', 'webhook-id': 'msg_huge', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' }, 'x'.repeat(1024 * 1024 + 1));
  assert.deepEqual(huge, { status: 413, body: JSON.stringify({ error: { code: 'too_large', message: 'the body is too large' } }) });

  await market.webhooksIdle();
  assert.equal((await requestAsOps()).progress, null);
  assert.deepEqual(market.outbox(), []);
  assert.throws(inboxLines, { code: 'ENOENT' });
  assert.deepEqual(market.log, [
    'webhook msg_tampered refused: No matching signature found',
    'webhook msg_wrong refused: No matching signature found',
    'webhook msg_stale refused: Message timestamp too old',
    'webhook msg_future refused: Message timestamp too new',
  ]);
  // A refused delivery is not remembered: the same id, signed right, is acted on.
  assert.equal((await deliver(event, { webhookId: 'msg_tampered' })).status, 204);
  await market.webhooksIdle();
  assert.equal((await requestAsOps()).progress, 'awaiting_customer');
});

test('a redelivery of the same webhook-id is answered 204 and acted on once, after a restart of the backend too', async () => {
  const event = reminder({ user_id: '42' }, message(1, BO, 'Bring it on Tuesday.'));
  assert.equal((await deliver(event, { webhookId: 'msg_reminder' })).status, 204);
  assert.equal((await deliver(event, { webhookId: 'msg_reminder' })).status, 204);
  await market.webhooksIdle();
  assert.equal(market.outbox().length, 1);
  assert.deepEqual(inboxLines().map((line) => Object.keys(JSON.parse(line))), [['id', 'event'], ['done']]);

  await market.restartBackend();
  // Signed anew (a retry hours later has a new timestamp), the same id: still nothing done twice.
  assert.equal((await deliver(event, { webhookId: 'msg_reminder', at: new Date() })).status, 204);
  await market.webhooksIdle();
  assert.equal(market.outbox().length, 1);
  assert.equal(inboxLines().length, 2);
  assert.deepEqual(market.log, []);
});

test('an event kept but not acted on when the backend stopped is acted on when it starts; a line cut off by a crash is dropped', async () => {
  const update = (at: string): ChatEvent => ({
    type: 'room.updated',
    timestamp: at,
    data: {
      room: {
        id, user_id: '42', workshop_id: 'w-9', title: 'Brake pads', created_at: '2026-12-07T09:00:00.000Z', status: 'open',
        user_name: 'Ana Ruiz', workshop_name: 'Garage Sud', last_seq: 0, read_cursors: { user: 0, workshop: 0 },
      },
      changed: ['workshop_id'],
      previous: { workshop_id: 'w-7' },
    },
  });
  // As a crash leaves it: one event kept and answered, its work not done; one cut off mid-write.
  const inbox = join(market.dataDir!, 'webhooks.jsonl');
  appendFileSync(inbox, `${JSON.stringify({ id: 'msg_kept', event: update('2026-12-07T11:00:00.000Z') })}\n{"id":"msg_torn","ev`);
  await market.restartBackend();
  await market.webhooksIdle();
  // The records in memory started over: the request is opened again (the chat's room is the same).
  assert.equal(await market.openRequest('Brake pads'), id);
  assert.deepEqual((await requestAsOps()).room_changes, [
    { at: '2026-12-07T11:00:00.000Z', changed: ['workshop_id'], previous: { workshop_id: 'w-7' }, status: 'open', workshopId: 'w-9', title: 'Brake pads' },
  ]);

  assert.equal((await deliver(update('2026-12-07T11:00:00.000Z'), { webhookId: 'msg_kept' })).status, 204);
  assert.equal((await deliver(update('2026-12-07T12:00:00.000Z'), { webhookId: 'msg_torn' })).status, 204);
  await market.webhooksIdle();
  assert.deepEqual((await requestAsOps()).room_changes.map((change: { at: string }) => change.at), ['2026-12-07T11:00:00.000Z', '2026-12-07T12:00:00.000Z']);
  assert.deepEqual(inboxLines().map((line) => JSON.parse(line).id ?? `done ${JSON.parse(line).done}`), ['msg_kept', 'done msg_kept', 'msg_torn', 'done msg_torn']);
});

test('during a rotation a delivery signed with the previous secret is accepted, as is one signed with both', async () => {
  assert.equal((await deliver(created(message(1, BO, 'Bring it on Tuesday.')), { secrets: [PREVIOUS] })).status, 204);
  await market.webhooksIdle();
  assert.equal((await requestAsOps()).progress, 'awaiting_customer');
  assert.equal((await deliver(created(message(2, ANA, 'Tuesday is fine.')), { secrets: [secret(), CURRENT] })).status, 204);
  await market.webhooksIdle();
  assert.equal((await requestAsOps()).progress, 'awaiting_workshop');
});

test('an unread reminder e-mails exactly the people it names: the owner, or the workshop\'s staff', async () => {
  const oldest = message(1, BO, 'Bring it on Tuesday.');
  assert.equal((await deliver(reminder({ user_id: '42' }, oldest))).status, 204);
  // A workshop is told through its staff, every one of them.
  assert.equal((await deliver(reminder({ workshop_id: 'w-7' }, message(2, ANA, 'Tuesday is fine.')))).status, 204);
  assert.equal((await deliver(reminder({ workshop_id: 'w-9' }, message(3, ANA, 'Hello?')))).status, 204);
  await market.webhooksIdle();
  const text = `You have 2 unread messages about your service request ${id}. Open it to answer.`;
  const subject = '2 unread messages about "Brake pads"';
  assert.deepEqual(market.outbox(), [
    { to: ['ana.ruiz@example.com'], subject, text, request_id: id },
    { to: ['bo@garage-nord.example'], subject, text, request_id: id },
    { to: ['cem@garage-sud.example'], subject, text, request_id: id },
  ]);

  // Nobody the marketplace knows, or a request it does not have: no e-mail, a line in its log.
  assert.equal((await deliver(reminder({ user_id: 'someone-else' }, oldest))).status, 204);
  assert.equal((await deliver(reminder({ user_id: '42' }, oldest, 'sr-elsewhere'))).status, 204);
  await market.webhooksIdle();
  assert.equal(market.outbox().length, 3);
  assert.deepEqual(market.log, [`webhook room.unread_reminder: nobody to tell in ${id}`, 'webhook room.unread_reminder: no service request sr-elsewhere here']);
});
