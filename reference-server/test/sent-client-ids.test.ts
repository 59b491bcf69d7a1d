import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SentClientId, SentClientIds } from '../src/store/sent-client-ids.js';

/** The stored messages the cache loads from, by room, and which rooms it loaded, in order. */
function storedRooms(rooms: Record<string, SentClientId[]>) {
  const loads: string[] = [];
  const load = (requestId: string) => {
    loads.push(requestId);
    return rooms[requestId] ?? [];
  };
  return { load, loads };
}

const sent = (client_id: string, seq: number, sender_id = 'u-ana'): SentClientId => ({ side: 'user', sender_id, client_id, seq });

test('a room is loaded once, on first use, and answers by side, sender and client_id', () => {
  const { load, loads } = storedRooms({ r1: [sent('c-1', 1), sent('c-2', 2)] });
  const ids = new SentClientIds(load);
  assert.equal(ids.seqOf('r1', 'user', 'u-ana', 'c-2'), 2);
  assert.equal(ids.seqOf('r1', 'workshop', 'u-ana', 'c-2'), undefined, 'an admin sharing the id is another sender');
  assert.equal(ids.seqOf('r1', 'user', 'u-bo', 'c-2'), undefined);
  ids.add('r1', 'user', 'u-ana', 'c-3', 3);
  assert.equal(ids.seqOf('r1', 'user', 'u-ana', 'c-3'), 3);
  assert.deepEqual(loads, ['r1']);
});

test('rollback forgets what was added since the last commit, and only that', () => {
  const ids = new SentClientIds(storedRooms({}).load);
  ids.add('r1', 'user', 'u-ana', 'c-1', 1);
  ids.commit();
  ids.add('r1', 'user', 'u-ana', 'c-2', 2);
  ids.add('r2', 'user', 'u-ana', 'c-1', 1);
  ids.rollback();
  assert.deepEqual(
    [ids.seqOf('r1', 'user', 'u-ana', 'c-1'), ids.seqOf('r1', 'user', 'u-ana', 'c-2'), ids.seqOf('r2', 'user', 'u-ana', 'c-1')],
    [1, undefined, undefined],
  );
});

test('past maxEntries the least recently written rooms are dropped and loaded again when written', () => {
  const { load, loads } = storedRooms({ r1: [sent('a', 1), sent('b', 2)], r2: [sent('c', 1)], r3: [sent('d', 1), sent('e', 2)] });
  const ids = new SentClientIds(load, 3);
  ids.seqOf('r1', 'user', 'u-ana', 'a');
  ids.seqOf('r2', 'user', 'u-ana', 'c');
  // r1 is used again: r2 is now the least recent, and r3's two entries push the total to 5 > 3.
  ids.seqOf('r1', 'user', 'u-ana', 'a');
  assert.equal(ids.seqOf('r3', 'user', 'u-ana', 'e'), 2);
  assert.deepEqual(loads, ['r1', 'r2', 'r3']);
  // r2 and r1 had to go (5 - 1 - 2 = 2 ≤ 3 only after both); r3 stays.
  assert.equal(ids.seqOf('r3', 'user', 'u-ana', 'd'), 1);
  assert.equal(ids.seqOf('r2', 'user', 'u-ana', 'c'), 1);
  assert.equal(ids.seqOf('r1', 'user', 'u-ana', 'b'), 2);
  assert.deepEqual(loads, ['r1', 'r2', 'r3', 'r2', 'r1']);
});

test('a room larger than maxEntries is still loaded whole', () => {
  const big = Array.from({ length: 10 }, (_, i) => sent(`c-${i}`, i + 1));
  const ids = new SentClientIds(storedRooms({ big }).load, 3);
  assert.equal(ids.seqOf('big', 'user', 'u-ana', 'c-9'), 10);
  assert.equal(ids.seqOf('big', 'user', 'u-ana', 'c-0'), 1);
});
