// End to end: the real reference server sends its webhooks to the backend's POST /chat-webhooks,
// started as the other tests start it, with its webhook settings (WEBHOOK_URL at the backend,
// WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE=1 for the loopback receiver, a WEBHOOK_UNREAD_AFTER of one
// second, shorter than the command line allows). Needs the server's webhooks (issue 17): a server
// whose settings name no WEBHOOK_URL skips these tests, saying so. The timeouts only bound a
// delivery that never comes; every step waits for its event.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { loadConfig, type ServerOptions } from '@motoreach/reference-server';
import { startChatServer } from '../../test-support/chat-server.js';
import { AUDIENCE, ISSUER, startMarketplace, type TestMarketplace } from './marketplace-harness.js';

/** The server's usage text lists every setting it reads. */
const serverHasWebhooks = (() => {
  try {
    loadConfig(['--help'], {});
  } catch (error) {
    return (error as Error).message.includes('WEBHOOK_URL');
  }
  return false;
})();
const skip = serverHasWebhooks ? false : 'the reference server has no webhooks yet (its settings name no WEBHOOK_URL): issue 17\'s server side';

const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

// The webhook options by the names the server's ServerOptions gives them (WEBHOOK_* in its environment).
const startChatWithWebhooks = (webhookUrl: string) =>
  startChatServer({
    jwtAudience: AUDIENCE,
    jwtIssuer: ISSUER,
    webhookUrl,
    webhookSecret: WEBHOOK_SECRET,
    webhookAllowPrivate: true,
    webhookUnreadAfter: 1,
  } as ServerOptions);

let market: TestMarketplace;
beforeEach(async () => {
  if (serverHasWebhooks) market = await startMarketplace({ webhooks: { secret: WEBHOOK_SECRET }, startChat: startChatWithWebhooks });
});
afterEach(async () => {
  await market?.stop();
});

test('a workshop\'s message reaches the backend as message.created, verified, and the request waits on the customer', { skip, timeout: 60_000 }, async () => {
  const id = await market.openRequest('Brake pads');
  const handled = market.nextHandled('message.created');
  const sent = await market.chatApi('staff-7', `/api/service-requests/${id}/messages/`, { method: 'POST', body: { body: 'Bring it on Tuesday.', client_id: 'c-1' } });
  assert.equal(sent.status, 201);

  const event = await handled;
  assert.equal(event.type, 'message.created');
  assert.deepEqual(event.type === 'message.created' && event.data.message, sent.body.message);
  const res = await market.as('ops-1', 'GET', `/service-requests/${id}`);
  assert.equal(((await res.json()) as { progress: string }).progress, 'awaiting_customer');
  assert.deepEqual(market.log, []);
});

test('an owner who does not read gets one reminder e-mail; reading ends the episode', { skip, timeout: 60_000 }, async () => {
  const id = await market.openRequest('Brake pads');
  const reminded = market.nextHandled('room.unread_reminder');
  const sent = await market.chatApi('staff-7', `/api/service-requests/${id}/messages/`, { method: 'POST', body: { body: 'Bring it on Tuesday.', client_id: 'c-1' } });
  assert.equal(sent.status, 201);

  const reminder = await reminded;
  assert.ok(reminder.type === 'room.unread_reminder');
  assert.deepEqual(
    (({ room, side, notify, unread, connected }) => ({ id: room.id, side, notify, unread, connected, oldest: reminder.data.oldest_unread.seq }))(reminder.data),
    { id, side: 'user', notify: { user_id: '42' }, unread: 1, connected: false, oldest: 1 },
  );
  // The read is delivered after anything the server recorded before it (one room's events in
  // order): once it is handled, no second reminder of this episode can still be on its way.
  const read = market.nextHandled('room.read', (event) => event.type === 'room.read' && event.data.side === 'user');
  assert.equal((await market.chatApi('42', `/api/service-requests/${id}/messages/read/`, { method: 'POST', body: {} })).status, 200);
  await read;
  assert.deepEqual(market.outbox(), [{
    to: ['ana.ruiz@example.com'],
    subject: '1 unread message about "Brake pads"',
    text: `You have 1 unread message about your service request ${id}. Open it to answer.`,
    request_id: id,
  }]);
});
