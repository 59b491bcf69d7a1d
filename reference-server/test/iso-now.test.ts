import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoNow } from '../src/iso-now.js';

test('isoNow writes what toISOString writes, across milliseconds, seconds, days and years', () => {
  const start = Date.parse('2026-12-31T23:59:58.000Z');
  const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 2001, 2999].map((d) => start + d);
  // Back in time too (a clock set back), and far apart.
  times.push(start - 1, Date.parse('1970-01-01T00:00:00.007Z'), Date.parse('2000-02-29T12:00:00.050Z'), Date.parse('9999-12-31T23:59:59.999Z'));
  for (const t of times) assert.equal(isoNow(t), new Date(t).toISOString(), `at ${t}`);
});

test('isoNow without an argument is the time now', () => {
  const before = Date.now();
  const now = Date.parse(isoNow());
  assert.ok(now >= before && now <= Date.now(), `${now} between ${before} and now`);
});
