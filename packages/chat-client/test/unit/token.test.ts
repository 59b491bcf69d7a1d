import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError } from '../../src/errors.js';
import { claimsOf, TokenSource } from '../../src/token.js';

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

test('a failing provider is a transient network ChatError whose cause is its error, and it is asked again next time', async () => {
  const failure = new Error('login server unreachable');
  let calls = 0;
  const tokens = new TokenSource(() => {
    if (++calls === 1) throw failure;
    return 't2';
  });
  await assert.rejects(
    tokens.get(),
    (e: unknown) => e instanceof ChatError && e.code === 'network' && e.cause === failure && e.message === 'The token provider failed: login server unreachable',
  );
  assert.equal(await tokens.get(), 't2');
});

test('a provider that answers at once is taken at once: its token is current before the turn ends, a refresh asks it again', async () => {
  let calls = 0;
  const tokens = new TokenSource(() => `t${++calls}`);
  assert.equal(tokens.current, undefined);
  const first = tokens.get();
  assert.equal(tokens.current, 't1');
  assert.equal(await first, 't1');
  const refreshed = tokens.refresh('t1');
  assert.equal(tokens.current, 't2');
  assert.equal(await refreshed, 't2');
  assert.equal(calls, 2);
});

test('a provider that answers with a promise gives its token when it settles, and a string token is current from the start', async () => {
  const later = new TokenSource(async () => 'a1');
  const answer = later.get();
  assert.equal(later.current, undefined);
  assert.equal(await answer, 'a1');
  assert.equal(later.current, 'a1');
  const fixed = new TokenSource('s1');
  assert.equal(fixed.current, 's1');
  // Refused, a string token is the only answer there is: the same one again.
  assert.equal(await fixed.refresh('s1'), 's1');
  assert.equal(fixed.current, 's1');
});

const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

test('claimsOf reads who a JWT names, without verifying it; anything else is undefined', () => {
  assert.deepEqual(claimsOf(jwt({ sub: 'a-1', role: 'workshop_admin', name: 'Zoë Øster', workshop_id: 'w' })), { id: 'a-1', role: 'workshop_admin', name: 'Zoë Øster' });
  assert.deepEqual(claimsOf(jwt({ sub: 'u-1', role: 'user' })), { id: 'u-1', role: 'user', name: null });
  assert.equal(claimsOf('opaque-session-token'), undefined);
  assert.equal(claimsOf(jwt({ role: 'user' })), undefined);
});
