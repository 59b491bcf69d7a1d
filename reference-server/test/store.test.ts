import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { SqliteStore } from '../src/store/sqlite.js';
import { tempDir } from './helpers/harness.js';
import { describeStoreSuite } from './store-suite.js';

describeStoreSuite('sqlite', async () => {
  const dataDir = tempDir();
  const store = new SqliteStore({ dataDir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

test('sqlite: what was acknowledged is there after reopening the same file', async () => {
  const dataDir = tempDir();
  const first = new SqliteStore({ dataDir });
  const room = await first.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
  const { message } = await first.appendMessage({
    request_id: room.id,
    sender: { id: 'u-ana', role: 'user', name: 'Ana' },
    side: 'user',
    body: 'persisted',
    client_id: 'c-1',
  });
  await first.advanceCursor(room.id, 'workshop', 1);
  await first.close();

  const second = new SqliteStore({ dataDir });
  assert.deepEqual((await second.listMessages(room.id, { limit: 10 })).messages, [message]);
  assert.deepEqual((await second.getRoom(room.id))?.read_cursors, { user: 0, workshop: 1 });
  assert.equal((await second.appendMessage({ ...message, side: 'user', client_id: 'c-1' })).created, false);
  assert.equal((await second.appendMessage({ ...message, side: 'user', client_id: 'c-2' })).message.seq, 2);
  await second.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('sqlite: a data dir written by a newer schema is refused, not misread', async () => {
  const dataDir = tempDir();
  const first = new SqliteStore({ dataDir });
  await first.close();
  const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'));
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  db.pragma('user_version = 3');
  db.close();
  assert.throws(() => new SqliteStore({ dataDir }), /was written by a newer server \(schema 2; this one knows 1\): upgrade the server/);
  rmSync(dataDir, { recursive: true, force: true });
});
