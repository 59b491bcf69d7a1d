import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, DEFAULT_RECONNECT } from '../../src/backoff.js';

const opts = { minDelayMs: 100, maxDelayMs: 1000, factor: 2 };

test('the ceiling grows by the factor per attempt and stops at the maximum', () => {
  const top = (attempt: number) => backoffDelay(attempt, opts, () => 0.999999);
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(top), [99, 199, 399, 799, 999, 999]);
});

test('full jitter: the delay is uniform between zero and the ceiling', () => {
  assert.equal(backoffDelay(3, opts, () => 0), 0);
  assert.equal(backoffDelay(3, opts, () => 0.5), 400);
  const samples = Array.from({ length: 2000 }, () => backoffDelay(2, opts));
  assert.ok(samples.every((d) => d >= 0 && d < 400));
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  assert.ok(mean > 170 && mean < 230, `mean ${mean} should be near 200`);
});

test('defaults: 500 ms doubling up to 30 s', () => {
  assert.equal(backoffDelay(0, DEFAULT_RECONNECT, () => 0.5), 250);
  assert.equal(backoffDelay(20, DEFAULT_RECONNECT, () => 0.5), 15000);
});
