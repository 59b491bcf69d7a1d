import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../helpers.js';
import { memoryOutbox, Outbox, type OutboxEntry, type OutboxStorage } from '../../src/outbox.js';

const entry = (n: number): OutboxEntry => ({ client_id: `c${n}`, body: `b${n}`, created_at: `2026-01-01T00:00:0${n}.000Z` });
const noError = (e: unknown) => assert.fail(String(e));
const tick = () => new Promise((r) => setTimeout(r, 0));

test('writes to storage once per tick however many changes', async () => {
  const storage = memoryOutbox();
  const saves: number[] = [];
  const counting: OutboxStorage = { load: storage.load, save: (k, e) => (saves.push(e.length), storage.save(k, e)) };
  let pending = [1, 2, 3, 4, 5].map(entry);
  const box = new Outbox(counting, () => pending, noError);
  await box.open('k');
  for (let i = 0; i < 5; i++) box.persist();
  pending = pending.slice(1);
  box.persist();
  await tick();
  assert.deepEqual(saves, [4]);
  assert.deepEqual((storage.load('k') as OutboxEntry[]).map((e) => e.client_id), ['c2', 'c3', 'c4', 'c5']);
  assert.deepEqual(await new Outbox(counting, () => [], noError).open('other-room'), []);
});

test('nothing is written before open() has read what an earlier page left: a write racing a slow load cannot overwrite it', async () => {
  const data = new Map<string, OutboxEntry[]>([['k', [entry(1), entry(2)]]]);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: OutboxStorage = {
    load: async (k) => (await gate, data.get(k) ?? []),
    save: (k, e) => void data.set(k, e),
  };
  const queued = [entry(9)];
  const box = new Outbox(slow, () => queued, noError);
  const opening = box.open('k');
  box.persist();
  await tick();
  assert.deepEqual(data.get('k')!.map((e) => e.client_id), ['c1', 'c2'], 'not overwritten while loading');
  assert.equal(box.ready, false);
  release();
  assert.deepEqual((await opening).map((e) => e.client_id), ['c1', 'c2']);
  queued.unshift(entry(1), entry(2));
  box.persist();
  await tick();
  assert.deepEqual(data.get('k')!.map((e) => e.client_id), ['c1', 'c2', 'c9']);
});

test('a failing storage is reported, not thrown; one that cannot be read still opens', async () => {
  const errors: unknown[] = [];
  const box = new Outbox({ load: () => Promise.reject(new Error('corrupt')), save: () => Promise.reject(new Error('quota')) }, () => [entry(1)], (e) => errors.push(e));
  assert.deepEqual(await box.open('k'), []);
  assert.equal(box.ready, true);
  box.persist();
  await waitFor(() => errors.length === 2, 'both storage errors');
  assert.deepEqual(errors.map((e) => (e as Error).message), ['corrupt', 'quota']);
});

test('keep(): an outbox let go of (another person signed in) writes what it was handed, merged with what a load still running finds', async () => {
  const data = new Map<string, OutboxEntry[]>([['bo', [entry(1)]]]);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: OutboxStorage = { load: async (k) => (await gate, data.get(k) ?? []), save: (k, e) => void data.set(k, e) };
  const box = new Outbox(slow, () => [entry(8), entry(9)], noError);
  const opening = box.open('bo');
  box.keep([entry(2)]);
  await tick();
  assert.deepEqual(data.get('bo')!.map((e) => e.client_id), ['c1'], 'nothing written before the load');
  release();
  await opening;
  await tick();
  assert.deepEqual(data.get('bo')!.map((e) => e.client_id), ['c1', 'c2'], "what was stored, then what was handed back; never the room's new entries");
  box.persist();
  await tick();
  assert.deepEqual(data.get('bo')!.map((e) => e.client_id), ['c1', 'c2']);
});

test('keep([]) while loading (a sign-out) writes nothing: storage keeps what it has, for clear() to remove', async () => {
  const data = new Map<string, OutboxEntry[]>([['bo', [entry(1)]]]);
  const saves: string[] = [];
  const box = new Outbox({ load: async (k) => data.get(k) ?? [], save: (k) => void saves.push(k) }, () => [entry(9)], noError);
  const opening = box.open('bo');
  box.keep([]);
  await opening;
  await tick();
  assert.deepEqual(saves, []);
});

test('memoryOutbox clear(prefix) removes one person on one server, nobody else', () => {
  const storage = memoryOutbox();
  for (const k of ['s|user:a|r1', 's|user:a|r2', 's|user:ab|r1', 't|user:a|r1']) storage.save(k, [entry(1)]);
  storage.clear!('s|user:a|');
  assert.deepEqual(['s|user:a|r1', 's|user:a|r2', 's|user:ab|r1', 't|user:a|r1'].map((k) => (storage.load(k) as OutboxEntry[]).length), [0, 0, 1, 1]);
});
