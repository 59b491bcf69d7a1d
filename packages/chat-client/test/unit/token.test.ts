import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError } from '../../src/errors.js';
import { TokenSource } from '../../src/token.js';

test('concurrent refreshes of the same stale token ask the provider once', async () => {
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const tokens = new TokenSource(async () => {
    calls++;
    if (calls > 1) await gate;
    return `t${calls}`;
  });
  assert.equal(await tokens.get(), 't1');
  const refreshes = [tokens.refresh('t1'), tokens.refresh('t1'), tokens.refresh('t1')];
  release();
  assert.deepEqual(await Promise.all(refreshes), ['t2', 't2', 't2']);
  assert.equal(calls, 2);
  // A socket refused with the old token after the refresh gets the new one without another call.
  assert.equal(await tokens.refresh('t1'), 't2');
  assert.equal(calls, 2);
});

test('a failing provider becomes an unauthorized ChatError', async () => {
  const tokens = new TokenSource(() => {
    throw new Error('login expired');
  });
  await assert.rejects(tokens.get(), (e: unknown) => e instanceof ChatError && e.code === 'unauthorized' && e.message === 'login expired');
});
