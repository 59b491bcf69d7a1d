// A workshop's quote, posted by the marketplace's backend as a system message carrying the quote as
// `data`, on a real reference server. Needs the server's system messages and `data` (contract
// v1.2, issue 16): until they are in, a service's POST is refused 403 and these fail.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { nextMessage, startMarketplace, type TestMarketplace } from './marketplace-harness.js';

let market: TestMarketplace;
beforeEach(async () => {
  market = await startMarketplace();
});
afterEach(() => market.stop());

const SYSTEM = { id: 'repairs-backend', role: 'system', name: 'Repairs marketplace' };
const QUOTE = { kind: 'quote', quote_id: 'q-1', amount_cents: 18000, currency: 'EUR' };

test('a quote reaches the owner and the workshop as a system message with its data, unread for both', async () => {
  const id = await market.openRequest('Brake pads');
  const owner = market.client('42').room(id);
  const workshop = market.client('staff-7').room(id);
  await Promise.all([owner.connect(), workshop.connect()]);
  const atOwner = nextMessage(owner);
  const atWorkshop = nextMessage(workshop);

  const res = await market.as('staff-7', 'POST', `/service-requests/${id}/quotes`, { amount_cents: 18000, currency: 'EUR' });
  assert.equal(res.status, 201);
  const { quote, message } = (await res.json()) as { quote: object; message: Record<string, unknown> };
  assert.deepEqual(quote, { id: 'q-1', requestId: id, amountCents: 18000, currency: 'EUR' });
  assert.deepEqual(
    { seq: message.seq, sender: message.sender, body: message.body, data: message.data, client_id: message.client_id },
    { seq: 1, sender: SYSTEM, body: 'Quote: 180.00 EUR', data: QUOTE, client_id: 'quote-q-1' },
  );

  for (const heard of [await atOwner, await atWorkshop]) {
    assert.deepEqual({ seq: heard.seq, sender: heard.sender, body: heard.body, data: (heard as { data?: unknown }).data }, { seq: 1, sender: SYSTEM, body: 'Quote: 180.00 EUR', data: QUOTE });
  }
  const history = await market.chatApi('42', `/api/service-requests/${id}/messages/`);
  assert.deepEqual(history.body.messages.map((m: any) => [m.seq, m.sender.role, m.data]), [[1, 'system', QUOTE]]);
  for (const person of ['42', 'staff-7']) {
    assert.deepEqual((await market.chatApi(person, '/api/notifications/unread/')).body, { total: 1, rooms: { [id]: 1 } });
  }
});

test('a quote for a closed request is refused with closed (409), and another workshop may not quote', async () => {
  const id = await market.openRequest('Brake pads');
  assert.equal((await market.as('staff-9', 'POST', `/service-requests/${id}/quotes`, { amount_cents: 9000, currency: 'EUR' })).status, 403);
  assert.equal((await market.as('ops-1', 'POST', `/service-requests/${id}/close`)).status, 200);

  const res = await market.as('staff-7', 'POST', `/service-requests/${id}/quotes`, { amount_cents: 18000, currency: 'EUR' });
  assert.equal(res.status, 409);
  assert.deepEqual(await res.json(), { error: { code: 'closed', message: 'this service request is closed; it takes no new messages' } });
  assert.deepEqual((await market.chatApi('42', `/api/service-requests/${id}/messages/`)).body.messages, []);
});
