// The server signs with node:crypto; these are the headers the maintained `standardwebhooks` package
// makes and verifies, byte for byte, for one secret and for two during a rotation.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { WebhookSigner } from '../src/webhooks/signing.js';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
const body = JSON.stringify({ type: 'message.created', timestamp: '2026-12-07T17:20:00.123Z', data: { message: { body: 'Привет, ünïcödé 🚗' } } });
const at = new Date('2026-12-07T17:20:01.999Z');

test('the signature is the one standardwebhooks makes, and it verifies with it', () => {
  const current = secret();
  const headers = new WebhookSigner([current]).headers('evt_Jw3rX0m2rQd8bW1v', at, body);
  assert.deepEqual(headers, {
    'webhook-id': 'evt_Jw3rX0m2rQd8bW1v',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(current).sign('evt_Jw3rX0m2rQd8bW1v', at, body),
  });
  // verify() checks the timestamp against the clock: sign as of now for it.
  const now = new Date();
  assert.deepEqual(new Webhook(current).verify(body, new WebhookSigner([current]).headers('evt_1', now, body)), JSON.parse(body));
});

test('during a rotation both signatures are sent, each verifying with its own secret, and a tampered body with neither', () => {
  const [current, previous] = [secret(), secret()];
  const headers = new WebhookSigner([current, previous]).headers('evt_2', new Date(), body);
  const [one, two] = headers['webhook-signature']!.split(' ');
  assert.equal(one, new Webhook(current).sign('evt_2', new Date(Number(headers['webhook-timestamp']) * 1000), body));
  assert.equal(two, new Webhook(previous).sign('evt_2', new Date(Number(headers['webhook-timestamp']) * 1000), body));
  for (const key of [current, previous]) assert.deepEqual(new Webhook(key).verify(body, headers), JSON.parse(body));
  assert.throws(() => new Webhook(current).verify(body.replace('ü', 'u'), headers));
  assert.throws(() => new Webhook(secret()).verify(body, headers));
});
