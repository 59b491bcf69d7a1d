// Server-side rendering and Node tooling import the package without a DOM: that must not throw,
// and must not register anything or open sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('imports without a DOM', async () => {
  const mod = await import('../src/index.js');
  assert.equal(typeof mod.MotoreachChat, 'function');
  assert.equal(typeof mod.MotoreachBadge, 'function');
  assert.equal(mod.defaultBadgeStrings.unread(3, '3'), '3 unread messages');
});

test('the built package imports without a DOM', async () => {
  // A computed specifier: typechecking must not need a build.
  const built = '../dist/index.js';
  const mod = (await import(built)) as typeof import('../src/index.js');
  assert.equal(typeof mod.MotoreachChat, 'function');
  assert.equal(typeof mod.ChatClient, 'function');
});
