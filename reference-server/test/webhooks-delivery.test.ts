import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { ServerOptions } from '../src/config.js';
import type { DeliveryTuning } from '../src/webhooks/delivery.js';
import { admin, api, createRoom, owner, startTestServer, unique } from './helpers/harness.js';
import { LogCapture } from './helpers/log-capture.js';
import { pendingEvents } from './helpers/webhook-outbox.js';
import { PREVIOUS_SECRET, WebhookReceiver, WEBHOOK_SECRET } from './helpers/webhook-receiver.js';

const FAST: Partial<DeliveryTuning> = { retryScheduleMs: [20, 20, 20, 20], pollMs: 20, backlogLogMs: 50 };

/** A server delivering to `receiver`, and its log. */
async function serverFor(receiver: WebhookReceiver, options: ServerOptions = {}, tuning: Partial<DeliveryTuning> = FAST) {
  const log = new LogCapture();
  const server = await startTestServer(
    { webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET, webhookAllowPrivate: true, ...options },
    { logger: log.logger, webhookTuning: tuning },
  );
  return { server, log };
}

describe('webhook delivery', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  async function setUp(options: ServerOptions = {}, tuning?: Partial<DeliveryTuning>, receiver?: WebhookReceiver) {
    const rx = receiver ?? (await WebhookReceiver.start());
    const { server, log } = await serverFor(rx, options, tuning);
    cleanup.push(() => rx.close(), () => server.stop());
    return { receiver: rx, server, log };
  }

  test('503 with Retry-After, then 200: every event arrives once accepted, in order per room, the same webhook-id on every attempt, and a stuck room does not hold up another', async () => {
    const { receiver, server } = await setUp();
    const ana = owner(unique('u'));
    const stuck = await createRoom(server.url, ana);
    const free = await createRoom(server.url, ana);
    // The stuck room's first message is refused twice at least, and until the free room's events are
    // all in: on a slow store that can take longer than two Retry-Afters.
    let refusals = 0;
    const refuse = () => refusals < 2 || receiver.acceptedFor(free.id).length < 4;
    receiver.answer = (d) =>
      d.payload?.data.message?.request_id === stuck.id && refuse() && ++refusals > 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 };
    for (let i = 1; i <= 3; i++) {
      await api(server.url, 'POST', `/api/service-requests/${stuck.id}/messages/`, ana, { body: `s${i}` });
      await api(server.url, 'POST', `/api/service-requests/${free.id}/messages/`, ana, { body: `f${i}` });
    }
    // The free room's messages all arrive while the stuck room's first waits out its Retry-After.
    await receiver.until(() => receiver.acceptedFor(free.id).length === 4, "the free room's four events");
    assert.deepEqual(
      receiver.acceptedFor(stuck.id).map((e) => e.data.message?.body),
      [undefined],
      "only the stuck room's room.created went",
    );
    await receiver.until(() => receiver.acceptedFor(stuck.id).length === 4, "the stuck room's four events");
    assert.deepEqual(receiver.acceptedFor(stuck.id).map((e) => e.data.message?.seq ?? 0), [0, 1, 2, 3]);
    assert.deepEqual(receiver.acceptedFor(free.id).map((e) => e.data.message?.seq ?? 0), [0, 1, 2, 3]);
    const tries = receiver.deliveries.filter((d) => d.payload?.data.message?.request_id === stuck.id && d.payload.data.message.seq === 1);
    assert.deepEqual(
      tries.map((d) => d.status),
      [...Array.from({ length: refusals }, () => 503), 200],
    );
    assert.ok(refusals >= 2);
    assert.equal(new Set(tries.map((d) => d.id)).size, 1, 'one webhook-id for every attempt');
    assert.equal(new Set(tries.map((d) => d.body)).size, 1, 'the same body on every attempt');
    assert.ok(tries.slice(1).every((d, i) => d.at - tries[i]!.at >= 1000), 'Retry-After: 1 waited for');
    assert.ok(receiver.deliveries.every((d) => d.payload !== null), 'every request verified');
  });

  test('a rotation: each request carries a signature of each secret, and either one verifies it', async () => {
    const { receiver, server } = await setUp({ webhookSecretPrevious: PREVIOUS_SECRET });
    const ana = owner(unique('u'));
    const room = await createRoom(server.url, ana);
    await receiver.until(() => receiver.acceptedFor(room.id).length === 1, 'room.created');
    const delivery = receiver.accepted().find((d) => d.payload!.data.room?.id === room.id)!;
    const signatures = String(delivery.headers['webhook-signature']).split(' ');
    assert.equal(signatures.length, 2);
    const headers = (signature: string) => ({
      'webhook-id': delivery.id,
      'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
      'webhook-signature': signature,
    });
    for (const [secret, signature] of [[WEBHOOK_SECRET, signatures[0]!], [PREVIOUS_SECRET, signatures[1]!]] as const) {
      assert.deepEqual(new Webhook(secret).verify(delivery.body, headers(signature)), delivery.payload);
    }
    assert.throws(() => new Webhook(PREVIOUS_SECRET).verify(delivery.body, headers(signatures[0]!)));
  });

  test('410 Gone turns delivery off, logged; the events stay recorded', async () => {
    const { receiver, server, log } = await setUp();
    receiver.answer = () => ({ status: 410 });
    const ana = owner(unique('u'));
    const room = await createRoom(server.url, ana);
    await log.until((l) => l.status === 410, 'the 410');
    await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'after the 410' });
    await log.until((l) => l.msg === 'webhook events waiting' && l.backlog === 2 && l.disabled === true, 'the backlog with both events');
    assert.equal(receiver.deliveries.length, 1);
    assert.equal(await pendingEvents(server.dataDir), 2);
  });

  test('after a 410 Gone, a restart with the same settings leaves delivery off; another secret turns it on, and every event recorded meanwhile goes', async () => {
    const receiver = await WebhookReceiver.start();
    cleanup.push(() => receiver.close());
    receiver.answer = () => ({ status: 410 });
    const first = await serverFor(receiver);
    const ana = owner(unique('u'));
    const room = await createRoom(first.server.url, ana);
    await first.log.until((l) => l.status === 410, 'the 410');
    await first.server.close();
    const refused = receiver.deliveries.length;

    // The receiver is back, but these settings were refused: nothing is sent to it.
    receiver.answer = () => ({ status: 200 });
    const second = await serverFor(receiver, { dataDir: first.server.dataDir });
    await second.log.until((l) => l.msg?.startsWith('webhook delivery is off: the receiver answered 410 Gone') === true, 'delivery off at start');
    await api(second.server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'while off' });
    await second.log.until((l) => l.msg === 'webhook events waiting' && l.backlog === 2 && l.disabled === true, 'the backlog, not delivered');
    await second.server.close();
    assert.equal(receiver.deliveries.length, refused, 'no request while delivery was off');

    // A rotation to another secret is another configuration: delivery starts again, from the oldest event.
    const third = await serverFor(receiver, { dataDir: first.server.dataDir, webhookSecret: PREVIOUS_SECRET, webhookSecretPrevious: WEBHOOK_SECRET });
    cleanup.push(() => third.server.stop());
    await receiver.until(() => receiver.accepted().length === 2, 'both events');
    assert.deepEqual(
      receiver.accepted().map((d) => [d.payload?.type ?? null, d.payload?.data.message?.body ?? null]),
      [
        ['room.created', null],
        ['message.created', 'while off'],
      ],
    );
  });

  test('a redirect is not followed: a 3xx is a failed attempt, retried at the configured URL', async () => {
    const elsewhere = await WebhookReceiver.start();
    cleanup.push(() => elsewhere.close());
    const { receiver, server, log } = await setUp();
    let redirected = false;
    receiver.answer = () => (redirected ? { status: 204 } : ((redirected = true), { status: 307, headers: { location: elsewhere.url } }));
    const room = await createRoom(server.url, owner(unique('u')));
    await receiver.until(() => receiver.acceptedFor(room.id).length === 1, 'room.created, on the retry');
    assert.deepEqual(receiver.deliveries.map((d) => d.status), [307, 204]);
    assert.equal(receiver.deliveries[0]!.id, receiver.deliveries[1]!.id);
    assert.equal(elsewhere.deliveries.length, 0);
    assert.ok(log.lines.some((l) => l.reason === 'HTTP 307' && l.attempts === 1));
  });

  test('an attempt without an answer in time fails, and is retried with the same webhook-id', async () => {
    const { receiver, server, log } = await setUp({}, { ...FAST, timeoutMs: 300 });
    let first = true;
    receiver.answer = () => (first ? ((first = false), 'hang') : { status: 200 });
    const room = await createRoom(server.url, owner(unique('u')));
    await receiver.until(() => receiver.acceptedFor(room.id).length === 1, 'room.created, on the retry');
    assert.equal(receiver.deliveries.length, 2);
    assert.equal(receiver.deliveries[0]!.id, receiver.deliveries[1]!.id);
    assert.ok(log.lines.some((l) => l.reason === 'no answer within 300 ms' && l.attempts === 1));
  });

  test("an event failing its last attempt is given up, logged, and the room's next event goes", async () => {
    const { receiver, server, log } = await setUp({}, { ...FAST, retryScheduleMs: [20, 20] });
    receiver.answer = (d) => (d.payload?.type === 'room.created' ? { status: 500 } : { status: 200 });
    const ana = owner(unique('u'));
    const room = await createRoom(server.url, ana);
    await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'next' });
    await receiver.until(() => receiver.acceptedFor(room.id).length === 1, 'the message');
    assert.deepEqual(receiver.deliveries.map((d) => [d.payload!.type, d.status]), [
      ['room.created', 500],
      ['room.created', 500],
      ['room.created', 500],
      ['message.created', 200],
    ]);
    const givenUp = log.lines.find((l) => l.msg === 'webhook event given up after its last attempt');
    assert.deepEqual([givenUp?.webhook_id, givenUp?.attempts, givenUp?.reason], [receiver.deliveries[0]!.id, 3, 'HTTP 500']);
  });

  test('a receiver that is down does not hold up sends', async () => {
    const { receiver, server } = await setUp({}, { ...FAST, timeoutMs: 60_000 });
    receiver.answer = () => 'hang';
    const ana = owner(unique('u'));
    const bo = admin(unique('a'), 'w-1');
    const room = await createRoom(server.url, ana);
    await receiver.until(() => receiver.deliveries.length === 1, 'the hanging attempt');
    for (let i = 0; i < 20; i++) {
      const sent = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, i % 2 ? ana : bo, { body: `m${i}` });
      assert.equal(sent.status, 201);
    }
    assert.equal(await pendingEvents(server.dataDir), 21);
  });
});
