import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentClientIds } from '../src/store/recent-client-ids.js';

test('answers by room, side, sender and client_id', () => {
  const ids = new RecentClientIds();
  ids.add('r1', 'user', 'u-ana', 'c-1', 1);
  ids.commit();
  assert.deepEqual(
    [
      ids.seqOf('r1', 'user', 'u-ana', 'c-1'),
      ids.seqOf('r1', 'workshop', 'u-ana', 'c-1'),
      ids.seqOf('r1', 'user', 'u-bo', 'c-1'),
      ids.seqOf('r2', 'user', 'u-ana', 'c-1'),
    ],
    [1, undefined, undefined, undefined],
    'an admin sharing the owner’s id is another sender; another room is another key',
  );
});

test('rollback forgets what was added since the last commit, and only that', () => {
  const ids = new RecentClientIds();
  ids.add('r1', 'user', 'u-ana', 'c-1', 1);
  ids.commit();
  ids.add('r1', 'user', 'u-ana', 'c-2', 2);
  ids.add('r2', 'user', 'u-ana', 'c-1', 1);
  ids.rollback();
  assert.deepEqual(
    [ids.size, ids.seqOf('r1', 'user', 'u-ana', 'c-1'), ids.seqOf('r1', 'user', 'u-ana', 'c-2'), ids.seqOf('r2', 'user', 'u-ana', 'c-1')],
    [1, 1, undefined, undefined],
  );
});

test('a copy empties it when its transaction commits, and changes nothing when it rolls back', () => {
  const ids = new RecentClientIds();
  ids.add('r1', 'user', 'u-ana', 'c-1', 1);
  ids.commit();
  ids.add('r1', 'user', 'u-ana', 'c-2', 2);
  ids.copied();
  ids.rollback();
  assert.deepEqual([ids.size, ids.seqOf('r1', 'user', 'u-ana', 'c-1')], [1, 1], 'the copy rolled back: the committed id is still only here');
  ids.add('r1', 'user', 'u-ana', 'c-2', 2);
  ids.commit();
  assert.equal(ids.size, 2, 'a commit without a copy keeps everything');
  ids.add('r1', 'user', 'u-ana', 'c-3', 3);
  ids.copied();
  ids.commit();
  assert.deepEqual([ids.size, ids.seqOf('r1', 'user', 'u-ana', 'c-3')], [0, undefined]);
});
