import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FairQueue } from '../src/attachments/fair-queue.js';

/** A task that starts when the queue says and ends when the test says. */
function held(started: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { task: async () => (started.push(name), done), finish: () => finish() };
}

test('one task at a time: the keys take turns, each key\'s tasks in their order', async () => {
  const queue = new FairQueue(1);
  const started: string[] = [];
  const [a1, a2, a3, b1, c1] = ['a1', 'a2', 'a3', 'b1', 'c1'].map((name) => held(started, name));
  const runs = [queue.run('a', a1!.task), queue.run('a', a2!.task), queue.run('a', a3!.task), queue.run('b', b1!.task), queue.run('c', c1!.task)];
  for (const next of [a1, b1, c1, a2, a3]) {
    next!.finish();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(runs);
  assert.deepEqual(started, ['a1', 'b1', 'c1', 'a2', 'a3']);
});

test('two at a time, never two of one key; a failed task frees its place and fails only its caller', async () => {
  const queue = new FairQueue(2);
  const started: string[] = [];
  const a1 = held(started, 'a1');
  const a2 = held(started, 'a2');
  const b1 = held(started, 'b1');
  const runs = [queue.run('a', a1.task), queue.run('a', a2.task), queue.run('b', b1.task)];
  const failed = queue.run('c', async () => {
    started.push('c1');
    throw new Error('cannot be decoded');
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['a1', 'b1']);
  b1.finish();
  await assert.rejects(failed, /cannot be decoded/);
  assert.deepEqual(started, ['a1', 'b1', 'c1']);
  a1.finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['a1', 'b1', 'c1', 'a2']);
  a2.finish();
  await Promise.all(runs);
});
