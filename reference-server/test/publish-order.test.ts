import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PublishOrder } from '../src/chat/publish-order.js';
import type { Principal } from '../src/chat/types.js';

const ANA: Principal = { side: 'user', userId: 'u-ana' };
const W1: Principal = { side: 'workshop', workshopId: 'w-1' };

test('turns run in the order they were reserved, whatever the order they are decided in', async () => {
  const order = new PublishOrder();
  const ran: string[] = [];
  const [first, second, third] = [order.reserve(ANA), order.reserve(ANA), order.reserve(ANA)];
  const other = order.reserve(W1);
  const thirdDone = third.run(() => void ran.push('third'));
  const secondDone = second.run(() => void ran.push('second'));
  await other.run((group) => void ran.push(`other ${group}`));
  assert.deepEqual(ran, ['other workshop:w-1'], 'another principal does not wait');
  first.run(() => void ran.push('first'));
  assert.deepEqual(ran, ['other workshop:w-1', 'first', 'second', 'third'], 'the head ran them at once');
  await Promise.all([secondDone, thirdDone]);
});

test('an action that returns a promise holds the later turns until it settles; a skipped turn holds none', async () => {
  const order = new PublishOrder();
  const ran: string[] = [];
  let release!: () => void;
  const snapshot = order.reserve(ANA).run(async () => {
    await new Promise<void>((resolve) => (release = resolve));
    ran.push('snapshot');
  });
  const skipped = order.reserve(ANA);
  const notification = order.reserve(ANA).run(() => void ran.push('notification'));
  skipped.skip();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ran, []);
  release();
  await Promise.all([snapshot, notification]);
  assert.deepEqual(ran, ['snapshot', 'notification']);
});

test('a failing action rejects its own run, and the turns after it still run', async () => {
  const order = new PublishOrder();
  const ran: string[] = [];
  const first = order.reserve(ANA);
  const failing = order.reserve(ANA).run(() => {
    throw new Error('socket gone');
  });
  const failingAsync = order.reserve(ANA).run(async () => {
    throw new Error('store gone');
  });
  const last = order.reserve(ANA).run(() => void ran.push('last'));
  first.run(() => void ran.push('first'));
  await assert.rejects(failing, /socket gone/);
  await assert.rejects(failingAsync, /store gone/);
  await last;
  assert.deepEqual(ran, ['first', 'last']);
});
