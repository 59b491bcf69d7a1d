import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contiguousEnd, mergeBySeq } from '../../src/merge.js';

const s = (...seqs: number[]) => seqs.map((seq) => ({ seq, tag: `m${seq}` }));
const seqs = (list: { seq: number | null }[]) => list.map((m) => m.seq);

test('merges out-of-order and overlapping batches into one ascending list without duplicates', () => {
  const list = s(3, 4, 5);
  const added = mergeBySeq(list, s(7, 5, 6, 1, 4, 9, 8));
  assert.deepEqual(seqs(list), [1, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(seqs(added), [1, 6, 7, 8, 9]);
});

test('a batch that holds a seq twice keeps the first copy', () => {
  const list: { seq: number; tag: string }[] = [];
  const added = mergeBySeq(list, [{ seq: 2, tag: 'a' }, { seq: 2, tag: 'b' }]);
  assert.deepEqual(list, [{ seq: 2, tag: 'a' }]);
  assert.equal(added.length, 1);
});

test('merging what is already held adds nothing', () => {
  const list = s(1, 2, 3);
  assert.deepEqual(mergeBySeq(list, s(3, 2, 1)), []);
  assert.deepEqual(seqs(list), [1, 2, 3]);
});

test('contiguousEnd stops before the first hole', () => {
  assert.equal(contiguousEnd([]), 0);
  assert.equal(contiguousEnd(s(5)), 5);
  assert.equal(contiguousEnd(s(5, 6, 7)), 7);
  assert.equal(contiguousEnd(s(5, 6, 9, 10)), 6);
});
