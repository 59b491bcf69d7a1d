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
  const after = await second.appendMessage({ ...message, side: 'user', client_id: 'c-2' });
  assert.deepEqual([after.message.seq, after.recipient_unread], [2, { count: 1, total: 1 }], 'the counters survived the restart');
  await second.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('sqlite: a data dir written by a newer schema is refused, not misread', async () => {
  const dataDir = tempDir();
  const first = new SqliteStore({ dataDir });
  await first.close();
  const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'));
  assert.equal(db.pragma('user_version', { simple: true }), 3);
  db.pragma('user_version = 4');
  db.close();
  assert.throws(() => new SqliteStore({ dataDir }), /was written by a newer server \(schema 4; this one knows 3\): upgrade the server/);
  rmSync(dataDir, { recursive: true, force: true });
});

/** The schema as the version-1 server wrote it, verbatim. */
const V1_SCHEMA = `
CREATE TABLE rooms (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, workshop_id TEXT NOT NULL, title TEXT NOT NULL, created_at TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0, user_cursor INTEGER NOT NULL DEFAULT 0, workshop_cursor INTEGER NOT NULL DEFAULT 0,
  user_sent INTEGER NOT NULL DEFAULT 0, workshop_sent INTEGER NOT NULL DEFAULT 0,
  user_seen INTEGER NOT NULL DEFAULT 0, workshop_seen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rooms_by_user ON rooms (user_id);
CREATE INDEX rooms_by_workshop ON rooms (workshop_id);
CREATE TABLE messages (
  request_id TEXT NOT NULL REFERENCES rooms (id), seq INTEGER NOT NULL, id TEXT NOT NULL, side TEXT NOT NULL,
  sender_id TEXT NOT NULL, sender_role TEXT NOT NULL, sender_name TEXT, body TEXT NOT NULL, client_id TEXT,
  created_at TEXT NOT NULL, PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_by_client_id ON messages (request_id, side, sender_id, client_id) WHERE client_id IS NOT NULL;
PRAGMA user_version = 1;
`;

test('sqlite: a version-1 file is migrated: last activity, unread totals, the inbox indexes, messages in commit order', async () => {
  const dataDir = tempDir();
  const v1 = new Database(join(dataDir, 'motoreach-chat.sqlite3'));
  v1.exec(V1_SCHEMA);
  const room = v1.prepare('INSERT INTO rooms (id, user_id, workshop_id, title, created_at, last_seq, user_cursor, workshop_cursor, user_sent, workshop_sent, user_seen, workshop_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const message = v1.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)');
  // r_a: 3 from Ana (the workshop read 1), 1 from the workshop (Ana read none). r_b: empty, created last.
  room.run('r_a', 'u-ana', 'w-1', 'A', '2026-01-01T00:00:00.000Z', 4, 0, 1, 3, 1, 0, 1);
  for (const [seq, side, role, at] of [
    [1, 'user', 'user', '2026-01-01T00:01:00.000Z'],
    [2, 'user', 'user', '2026-01-01T00:02:00.000Z'],
    [3, 'workshop', 'workshop_admin', '2026-01-01T00:03:00.000Z'],
    [4, 'user', 'user', '2026-01-01T00:04:00.000Z'],
  ] as const) {
    message.run('r_a', seq, `m_${seq}`, side, side === 'user' ? 'u-ana' : 'a-bo', role, `m${seq}`, `c-${seq}`, at);
  }
  room.run('r_b', 'u-cy', 'w-1', 'B', '2026-01-01T00:03:30.000Z', 0, 0, 0, 0, 0, 0, 0);
  v1.close();

  const store = new SqliteStore({ dataDir });
  try {
    const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 3);
    assert.deepEqual(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rooms' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all(),
      ['rooms_inbox_of_user', 'rooms_inbox_of_workshop', 'rooms_unread_of_user', 'rooms_unread_of_workshop'],
    );
    assert.deepEqual(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name").pluck().all(),
      ['messages_by_seq'],
    );
    assert.deepEqual(
      db.prepare('SELECT rowid, seq, client_id FROM messages ORDER BY rowid').raw().all(),
      [[1, 1, 'c-1'], [2, 2, 'c-2'], [3, 3, 'c-3'], [4, 4, 'c-4']],
      'the rows in the order they were written',
    );
    assert.deepEqual(db.prepare('SELECT side, principal, total FROM unread_totals ORDER BY side, principal').all(), [
      { side: 'user', principal: 'u-ana', total: 1 },
      { side: 'user', principal: 'u-cy', total: 0 },
      { side: 'workshop', principal: 'w-1', total: 2 },
    ]);
    db.close();
    const page = await store.listRooms({ side: 'workshop', workshopId: 'w-1' }, { limit: 10, after: null });
    assert.deepEqual(page.rooms.map((r) => [r.id, r.unread, r.last_message?.id ?? null]), [
      ['r_a', 2, 'm_4'],
      ['r_b', 0, null],
    ]);
    const next = await store.appendMessage({ request_id: 'r_a', sender: { id: 'u-ana', role: 'user', name: null }, side: 'user', body: 'after the upgrade', client_id: null });
    assert.deepEqual([next.message.seq, next.recipient_unread], [5, { count: 3, total: 3 }]);
    const retried = await store.appendMessage({ request_id: 'r_a', sender: { id: 'a-bo', role: 'workshop_admin', name: null }, side: 'workshop', body: 'again', client_id: 'c-3' });
    assert.deepEqual([retried.created, retried.message.id, retried.message.body], [false, 'm_3', 'm3'], 'a client_id sent before the upgrade is still known');
    assert.deepEqual((await store.advanceCursor('r_a', 'user', null)).reader_unread, { count: 0, total: 0 });
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});
