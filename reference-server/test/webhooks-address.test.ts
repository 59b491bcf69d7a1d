import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { request } from 'node:http';
import { checkedAddress, isPrivateAddress, pinnedLookup } from '../src/webhooks/address.js';
import type { ServerOptions } from '../src/config.js';
import type { StartOptions } from '../src/server.js';
import { api, createRoom, owner, SECRET, startTestServer, type TestServer, unique } from './helpers/harness.js';
import { LogCapture } from './helpers/log-capture.js';
import { pendingEvents } from './helpers/webhook-outbox.js';
import { WebhookReceiver, WEBHOOK_SECRET } from './helpers/webhook-receiver.js';

/** A receiver, and a server delivering to it with `settings(receiver's URL)`; the receiver closed if the server does not start. */
async function serverWithReceiver(settings: (url: string) => ServerOptions, extras: StartOptions) {
  const receiver = await WebhookReceiver.start();
  try {
    return { receiver, server: await startTestServer({ webhookSecret: WEBHOOK_SECRET, ...settings(receiver.url) }, extras) };
  } catch (error) {
    await receiver.close();
    throw error;
  }
}

/** A new owner's room, with their "Hi" in it. */
async function sayHi(server: TestServer): Promise<{ id: string }> {
  const ana = owner(unique('u'));
  const room = await createRoom(server.url, ana);
  await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'Hi' });
  return room;
}

describe('webhook receiver address (SSRF)', () => {
  test('loopback, private, link-local, multicast and unspecified addresses, v4, v6 and IPv4-mapped, are private; public ones are not', () => {
    const refused = [
      '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
      '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:10.0.0.1', '64:ff9b::a00:1',
    ];
    const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '::ffff:808:808'];
    assert.deepEqual(refused.filter((a) => !isPrivateAddress(a)), []);
    assert.deepEqual(allowed.filter((a) => isPrivateAddress(a)), []);
  });

  test('every address of a name is checked after resolving it; WEBHOOK_ALLOW_PRIVATE lets it through', async () => {
    await assert.rejects(checkedAddress('localhost', false), /localhost resolves to (127\.0\.0\.1|::1), a loopback, private or link-local address: refused \(WEBHOOK_ALLOW_PRIVATE=1 allows it\)/);
    await assert.rejects(checkedAddress('[::ffff:7f00:1]', false), /refused/);
    assert.deepEqual(await checkedAddress('127.0.0.1', true), { address: '127.0.0.1', family: 4 });
  });

  test('the connection goes to the checked address, with no second resolution of the name', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const port = new URL(receiver.url).port;
      // .invalid never resolves (RFC 2606): the request arrives only if the pinned address is used.
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`http://hooks.invalid:${port}/hooks`, { method: 'POST', lookup: pinnedLookup({ address: '127.0.0.1', family: 4 }) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
      assert.equal(status, 200);
      assert.equal(receiver.deliveries.length, 1);
      assert.equal(receiver.deliveries[0]!.headers.host, `hooks.invalid:${port}`);
      await assert.rejects(checkedAddress('hooks.invalid', true), /ENOTFOUND/);
    } finally {
      await receiver.close();
    }
  });

  test('a receiver given by its name: resolved and checked, and the delivery\'s connection goes to that address', async (t) => {
    const checked = await checkedAddress('localhost', true);
    if (checked.address !== '127.0.0.1') {
      t.skip(`localhost resolves to ${checked.address} here; the receiver listens on 127.0.0.1`);
      return;
    }
    const { receiver, server } = await serverWithReceiver(
      (url) => ({ webhookUrl: url.replace('127.0.0.1', 'localhost'), webhookAllowPrivate: true }),
      { webhookTuning: { pollMs: 20 } },
    );
    try {
      const room = await sayHi(server);
      const created = await receiver.until(() => receiver.deliveries.find((d) => d.payload?.type === 'message.created'), 'message.created');
      assert.equal(created.status, 200);
      assert.equal(created.headers.host, `localhost:${new URL(receiver.url).port}`);
      assert.equal((created.payload?.data as { message: { body: string } }).message.body, 'Hi');
    } finally {
      await server.stop();
      await receiver.close();
    }
  });

  test('a loopback receiver without WEBHOOK_ALLOW_PRIVATE gets nothing: the refusal is logged and the events stay pending', async () => {
    const log = new LogCapture();
    const { receiver, server } = await serverWithReceiver((url) => ({ webhookUrl: url }), {
      logger: log.logger,
      webhookTuning: { retryScheduleMs: [20, 20, 20, 20, 20, 20], pollMs: 20 },
    });
    try {
      const room = await sayHi(server);
      const line = await log.until((l) => l.msg === 'webhook attempt failed; it is retried' && l.attempts === 2, 'a second refused attempt');
      assert.equal(line.reason, '127.0.0.1 resolves to 127.0.0.1, a loopback, private or link-local address: refused (WEBHOOK_ALLOW_PRIVATE=1 allows it)');
      assert.equal(line.request_id, room.id);
      assert.equal(await pendingEvents(server.dataDir), 2);
      assert.equal(receiver.deliveries.length, 0);
    } finally {
      await server.stop();
      await receiver.close();
    }
  });
});

describe('webhook settings are checked at start', () => {
  const env = (extra: Record<string, string>) => ({ JWT_SECRET: SECRET, ...extra });
  const start = (extra: Record<string, string>) => () => loadConfig([], env(extra));

  test('clear errors for a bad URL, a missing or malformed secret, a secret without a URL, a bad WEBHOOK_ALLOW_PRIVATE or WEBHOOK_UNREAD_AFTER', () => {
    const url = 'https://host.example/hooks';
    assert.throws(start({ WEBHOOK_URL: 'not a url', WEBHOOK_SECRET }), /WEBHOOK_URL is not a URL: "not a url"/);
    assert.throws(start({ WEBHOOK_URL: 'ftp://host.example/', WEBHOOK_SECRET }), /WEBHOOK_URL must be an http or https URL, got ftp:/);
    assert.throws(start({ WEBHOOK_URL: 'https://u:p@host.example/', WEBHOOK_SECRET }), /WEBHOOK_URL must not hold credentials/);
    assert.throws(start({ WEBHOOK_URL: url }), /WEBHOOK_URL needs WEBHOOK_SECRET/);
    assert.throws(start({ WEBHOOK_URL: url, WEBHOOK_SECRET: 'plain-secret' }), /WEBHOOK_SECRET must be "whsec_" followed by the base64 of 24 to 64 random bytes/);
    assert.throws(start({ WEBHOOK_URL: url, WEBHOOK_SECRET: 'whsec_c2hvcnQ=' }), /WEBHOOK_SECRET must be "whsec_"/);
    assert.throws(start({ WEBHOOK_URL: url, WEBHOOK_SECRET, WEBHOOK_SECRET_PREVIOUS: 'whsec_!!' }), /WEBHOOK_SECRET_PREVIOUS must be "whsec_"/);
    assert.throws(start({ WEBHOOK_SECRET }), /WEBHOOK_SECRET is set but WEBHOOK_URL is not/);
    assert.throws(start({ WEBHOOK_URL: url, WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE: 'yes' }), /WEBHOOK_ALLOW_PRIVATE must be 1 or 0, got "yes"/);
    assert.throws(start({ WEBHOOK_URL: url, WEBHOOK_SECRET, WEBHOOK_UNREAD_AFTER: '5' }), /WEBHOOK_UNREAD_AFTER must be between 60 and 604800, got 5/);
  });

  test('a valid setup, and none at all', () => {
    const config = loadConfig([], env({ WEBHOOK_URL: 'https://host.example/hooks', WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE: '1' }));
    assert.deepEqual({ ...config.webhook, url: config.webhook?.url.href }, {
      url: 'https://host.example/hooks',
      secret: WEBHOOK_SECRET,
      previousSecret: null,
      allowPrivate: true,
      unreadAfterS: 300,
    });
    assert.equal(loadConfig([], env({})).webhook, null);
  });
});
