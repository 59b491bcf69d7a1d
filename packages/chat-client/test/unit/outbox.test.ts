import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../helpers.js';
import { memoryOutbox, Outbox, type OutboxEntry, type OutboxStorage } from '../../src/outbox.js';

const entry = (n: number): OutboxEntry => ({ client_id: `c${n}`, body: `b${n}`, created_at: `2026-01-01T00:00:0${n}.000Z` });
const noError = (e: unknown) => assert.fail(String(e));
const tick = () => new Promise((r) => setTimeout(r, 0));

test('keeps entries in the order they were added and removes by client_id', () => {
  const box = new Outbox('r1', undefined, noError);
  [1, 2, 3].forEach((n) => box.add(entry(n)));
  assert.equal(box.remove('c2'), true);
  assert.equal(box.remove('c2'), false);
  assert.deepEqual(box.entries.map((e) => e.client_id), ['c1', 'c3']);
  assert.equal(box.has('c3'), true);
});

test('writes to storage once per tick however many changes, and a new Outbox reloads them in order', async () => {
  const storage = memoryOutbox();
  const saves: number[] = [];
  const counting: OutboxStorage = { load: storage.load, save: (k, e) => (saves.push(e.length), storage.save(k, e)) };
  const box = new Outbox('r1', counting, noError);
  for (let n = 1; n <= 5; n++) box.add(entry(n));
  box.remove('c1');
  await tick();
  assert.deepEqual(saves, [4]);

  const reloaded = new Outbox('r1', counting, noError);
  reloaded.add(entry(9));
  const restored = await reloaded.load();
  assert.deepEqual(restored.map((e) => e.client_id), ['c2', 'c3', 'c4', 'c5']);
  assert.deepEqual(reloaded.entries.map((e) => e.client_id), ['c2', 'c3', 'c4', 'c5', 'c9']);
  assert.deepEqual(await new Outbox('other-room', counting, noError).load(), []);
});

test('a failing storage is reported, not thrown', async () => {
  const errors: unknown[] = [];
  const box = new Outbox('r1', { load: () => [], save: () => Promise.reject(new Error('quota')) }, (e) => errors.push(e));
  box.add(entry(1));
  await waitFor(() => errors.length > 0, 'the storage error');
  assert.equal((errors[0] as Error).message, 'quota');
});
