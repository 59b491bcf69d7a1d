import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { COPY_CLIENT_IDS_AT, SqliteStore } from '../src/store/sqlite.js';
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
  assert.equal(db.pragma('user_version', { simple: true }), 10);
  db.pragma('user_version = 11');
  db.close();
  assert.throws(() => new SqliteStore({ dataDir }), /was written by a newer server \(schema 11; this one knows 10\): upgrade the server/);
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

test('sqlite: a version-1 file is migrated: last activity, unread totals, the inbox indexes, messages in commit order, the client_ids table', async () => {
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
    assert.equal(db.pragma('user_version', { simple: true }), 10);
    assert.deepEqual(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rooms' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all(),
      ['rooms_inbox_of_user', 'rooms_inbox_of_workshop', 'rooms_unread_inbox_of_user', 'rooms_unread_inbox_of_workshop', 'rooms_unread_since_user', 'rooms_unread_since_workshop'],
    );
    assert.deepEqual(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name").pluck().all(),
      ['messages_by_seq'],
    );
    assert.deepEqual(
      db.prepare('SELECT request_id, client_id, side, sender_id, seq FROM client_ids').raw().all(),
      [['r_a', 'c-1', 'user', 'u-ana', 1], ['r_a', 'c-2', 'user', 'u-ana', 2], ['r_a', 'c-3', 'workshop', 'a-bo', 3], ['r_a', 'c-4', 'user', 'u-ana', 4]],
    );
    assert.equal(db.prepare('SELECT through FROM client_ids_copied').pluck().get(), 4);
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

/** The schema as the version-3 server left it (sqlite_master of a file it created), verbatim. */
const V3_SCHEMA = `
CREATE TABLE rooms (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, workshop_id TEXT NOT NULL, title TEXT NOT NULL, created_at TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0, user_cursor INTEGER NOT NULL DEFAULT 0, workshop_cursor INTEGER NOT NULL DEFAULT 0,
  user_sent INTEGER NOT NULL DEFAULT 0, workshop_sent INTEGER NOT NULL DEFAULT 0,
  user_seen INTEGER NOT NULL DEFAULT 0, workshop_seen INTEGER NOT NULL DEFAULT 0
, last_activity TEXT NOT NULL DEFAULT '');
CREATE INDEX rooms_inbox_of_user ON rooms (user_id, last_activity, id);
CREATE INDEX rooms_inbox_of_workshop ON rooms (workshop_id, last_activity, id);
CREATE INDEX rooms_unread_of_user ON rooms (user_id) WHERE workshop_sent > user_seen;
CREATE INDEX rooms_unread_of_workshop ON rooms (workshop_id) WHERE user_sent > workshop_seen;
CREATE TABLE unread_totals (side TEXT NOT NULL, principal TEXT NOT NULL, total INTEGER NOT NULL, PRIMARY KEY (side, principal)) WITHOUT ROWID;
CREATE TABLE "messages" (
  request_id TEXT NOT NULL REFERENCES rooms (id), seq INTEGER NOT NULL, id TEXT NOT NULL, side TEXT NOT NULL,
  sender_id TEXT NOT NULL, sender_role TEXT NOT NULL, sender_name TEXT, body TEXT NOT NULL, client_id TEXT,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_by_seq ON messages (request_id, seq);
PRAGMA user_version = 3;
`;

test('sqlite: a version-3 file is migrated: its client_ids copied into their table, those sent before the upgrade known', async () => {
  const dataDir = tempDir();
  const v3 = new Database(join(dataDir, 'motoreach-chat.sqlite3'));
  v3.pragma('journal_mode = WAL');
  v3.exec(V3_SCHEMA);
  v3.prepare(
    'INSERT INTO rooms (id, user_id, workshop_id, title, created_at, last_seq, user_sent, workshop_sent, last_activity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run('r_a', 'u-ana', 'w-1', 'A', '2026-01-01T00:00:00.000Z', 4, 2, 2, '2026-01-01T00:04:00.000Z');
  v3.prepare("INSERT INTO unread_totals VALUES ('user', 'u-ana', 2), ('workshop', 'w-1', 2)").run();
  const message = v3.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)');
  // The owner and an admin both used c-1; seq 3 carried no client_id.
  message.run('r_a', 1, 'm_1', 'user', 'u-ana', 'user', 'from Ana', 'c-1', '2026-01-01T00:01:00.000Z');
  message.run('r_a', 2, 'm_2', 'workshop', 'a-bo', 'workshop_admin', 'from Bo', 'c-1', '2026-01-01T00:02:00.000Z');
  message.run('r_a', 3, 'm_3', 'workshop', 'a-bo', 'workshop_admin', 'no key', null, '2026-01-01T00:03:00.000Z');
  message.run('r_a', 4, 'm_4', 'user', 'u-ana', 'user', 'again Ana', 'c-2', '2026-01-01T00:04:00.000Z');
  v3.close();

  const store = new SqliteStore({ dataDir });
  try {
    const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 10);
    assert.deepEqual(
      db.prepare('SELECT request_id, client_id, side, sender_id, seq FROM client_ids').raw().all(),
      [['r_a', 'c-1', 'user', 'u-ana', 1], ['r_a', 'c-1', 'workshop', 'a-bo', 2], ['r_a', 'c-2', 'user', 'u-ana', 4]],
      'every stored client_id, in key order, and only those',
    );
    assert.equal(db.prepare('SELECT through FROM client_ids_copied').pluck().get(), 4);
    db.close();
    const ana = { id: 'u-ana', role: 'user', name: null } as const;
    const bo = { id: 'a-bo', role: 'workshop_admin', name: null } as const;
    const retries = await Promise.all([
      store.appendMessage({ request_id: 'r_a', sender: ana, side: 'user', body: 'retry', client_id: 'c-1' }),
      store.appendMessage({ request_id: 'r_a', sender: bo, side: 'workshop', body: 'retry', client_id: 'c-1' }),
      store.appendMessage({ request_id: 'r_a', sender: ana, side: 'user', body: 'retry', client_id: 'c-2' }),
    ]);
    assert.deepEqual(
      retries.map((r) => [r.created, r.message.id, r.message.seq, r.message.body]),
      [
        [false, 'm_1', 1, 'from Ana'],
        [false, 'm_2', 2, 'from Bo'],
        [false, 'm_4', 4, 'again Ana'],
      ],
    );
    const bosC2 = await store.appendMessage({ request_id: 'r_a', sender: bo, side: 'workshop', body: 'Bo’s own c-2', client_id: 'c-2' });
    assert.deepEqual([bosC2.created, bosC2.message.seq, bosC2.recipient_unread], [true, 5, { count: 3, total: 3 }]);
    assert.equal((await store.getRoom('r_a'))?.last_seq, 5);
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** The schema as the version-4 server left it: version 3's and the client_ids tables. */
const V4_SCHEMA = `${V3_SCHEMA.replace('PRAGMA user_version = 3;', '')}
CREATE TABLE client_ids (
  request_id TEXT NOT NULL, client_id TEXT NOT NULL, side TEXT NOT NULL, sender_id TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (request_id, client_id, side, sender_id)
) WITHOUT ROWID;
CREATE TABLE client_ids_copied (through INTEGER NOT NULL);
INSERT INTO client_ids_copied (through) VALUES (0);
PRAGMA user_version = 4;
`;

test('sqlite: a version-4 file is migrated: its titles folded for q (non-ASCII too), unread=1 served by the new partial indexes', async () => {
  const dataDir = tempDir();
  const v4 = new Database(join(dataDir, 'motoreach-chat.sqlite3'));
  v4.pragma('journal_mode = WAL');
  v4.exec(V4_SCHEMA);
  const room = v4.prepare(
    'INSERT INTO rooms (id, user_id, workshop_id, title, created_at, last_seq, user_sent, workshop_sent, last_activity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  // r_a: the workshop has 1 unread; r_b: none; r_c: another workshop's.
  room.run('r_a', 'u-ana', 'w-1', 'ŠKODA Octavia brakes', '2026-01-01T00:00:00.000Z', 1, 1, 0, '2026-01-01T00:01:00.000Z');
  room.run('r_b', 'u-cy', 'w-1', 'Škoda Fabia tyres', '2026-01-01T00:02:00.000Z', 0, 0, 0, '2026-01-01T00:02:00.000Z');
  room.run('r_c', 'u-ana', 'w-2', 'škoda elsewhere', '2026-01-01T00:03:00.000Z', 0, 0, 0, '2026-01-01T00:03:00.000Z');
  v4.prepare("INSERT INTO messages VALUES ('r_a', 1, 'm_1', 'user', 'u-ana', 'user', NULL, 'hello', NULL, '2026-01-01T00:01:00.000Z')").run();
  v4.prepare("INSERT INTO unread_totals VALUES ('workshop', 'w-1', 1), ('user', 'u-ana', 0), ('user', 'u-cy', 0), ('workshop', 'w-2', 0)").run();
  v4.close();

  const store = new SqliteStore({ dataDir });
  try {
    const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 10);
    assert.deepEqual(db.prepare('SELECT id, user_search, workshop_search FROM rooms ORDER BY id').raw().all(), [
      ['r_a', 'škoda octavia brakes', 'škoda octavia brakes'],
      ['r_b', 'škoda fabia tyres', 'škoda fabia tyres'],
      ['r_c', 'škoda elsewhere', 'škoda elsewhere'],
    ]);
    assert.deepEqual(
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rooms' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all(),
      ['rooms_inbox_of_user', 'rooms_inbox_of_workshop', 'rooms_unread_inbox_of_user', 'rooms_unread_inbox_of_workshop', 'rooms_unread_since_user', 'rooms_unread_since_workshop'],
    );
    db.close();
    const w1 = { side: 'workshop', workshopId: 'w-1' } as const;
    const ids = async (query: { q?: string; unread?: boolean }) =>
      (await store.listRooms(w1, { limit: 10, after: null, ...query })).rooms.map((r) => r.id);
    assert.deepEqual(await ids({ q: 'škoda' }), ['r_b', 'r_a']);
    assert.deepEqual(await ids({ q: 'OCTAVIA' }), ['r_a']);
    assert.deepEqual(await ids({ unread: true }), ['r_a']);
    assert.deepEqual(await store.unread(w1), { total: 1, rooms: { r_a: 1 } });
    await store.advanceCursor('r_a', 'workshop', null);
    assert.deepEqual(await ids({ unread: true }), []);
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** Takes a fresh file of this version back to version 6: no data or redacted column, no system_sent, the unread indexes of two counters. */
function backToVersion6(dataDir: string): void {
  const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'));
  db.exec(TO_V6);
  db.close();
}

const TO_V6 = `
DROP TABLE webhook_events;
DROP INDEX rooms_unread_since_user;
DROP INDEX rooms_unread_since_workshop;
ALTER TABLE rooms DROP COLUMN user_unread_since;
ALTER TABLE rooms DROP COLUMN workshop_unread_since;
DROP INDEX rooms_unread_inbox_of_user;
DROP INDEX rooms_unread_inbox_of_workshop;
ALTER TABLE rooms DROP COLUMN system_sent;
ALTER TABLE messages DROP COLUMN data;
ALTER TABLE messages DROP COLUMN redacted;
ALTER TABLE messages DROP COLUMN attachments;
CREATE INDEX rooms_unread_inbox_of_user ON rooms (user_id, last_activity, id) WHERE workshop_sent > user_seen;
CREATE INDEX rooms_unread_inbox_of_workshop ON rooms (workshop_id, last_activity, id) WHERE user_sent > workshop_seen;
PRAGMA user_version = 6;`;

test('sqlite: a version-5 file is migrated: its rooms open, with no names, and put under their ids, what q matches following the names', async () => {
  const dataDir = tempDir();
  // Version 5 is version 6 without the three columns of contract 1.2.
  await new SqliteStore({ dataDir }).close();
  const v5 = new Database(join(dataDir, 'motoreach-chat.sqlite3'));
  v5.exec(`${TO_V6}
    ALTER TABLE rooms DROP COLUMN status; ALTER TABLE rooms DROP COLUMN user_name; ALTER TABLE rooms DROP COLUMN workshop_name;
    PRAGMA user_version = 5;`);
  v5.prepare('INSERT INTO rooms (id, user_id, workshop_id, title, created_at, last_activity) VALUES (?, ?, ?, ?, ?, ?)').run(
    'r_a', 'u-ana', 'w-1', 'A', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z',
  );
  v5.close();

  const store = new SqliteStore({ dataDir });
  try {
    const before = { id: 'r_a', user_id: 'u-ana', workshop_id: 'w-1', title: 'A', created_at: '2026-01-01T00:00:00.000Z' };
    const empty = { last_seq: 0, read_cursors: { user: 0, workshop: 0 } };
    const migrated = { ...before, status: 'open', user_name: null, workshop_name: null, ...empty };
    assert.deepEqual(await store.getRoom('r_a'), migrated);
    const put = await store.putRoom({ id: 'r_a', user_id: 'u-ana', workshop_id: 'w-1', title: 'A', status: 'closed', user_name: 'Ana' });
    assert.deepEqual(put, { outcome: 'updated', room: { ...migrated, status: 'closed', user_name: 'Ana' }, before: migrated });
    const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 10);
    assert.deepEqual(db.prepare('SELECT user_search, workshop_search FROM rooms').raw().get(), ['a', 'a\nana']);
    db.close();
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const ANA = { id: 'u-ana', role: 'user', name: 'Ana' } as const;
const BO = { id: 'a-bo', role: 'workshop_admin', name: 'Bo' } as const;

test('sqlite: a version-6 file is migrated: its messages are not redacted, and an erasure redacts them', async () => {
  const dataDir = tempDir();
  const first = new SqliteStore({ dataDir });
  const room = await first.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
  const { message } = await first.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'Hello', client_id: 'c-1' });
  await first.close();
  backToVersion6(dataDir);

  const store = new SqliteStore({ dataDir });
  try {
    assert.deepEqual((await store.listMessages(room.id, { limit: 10 })).messages, [message]);
    const parts: unknown[] = [];
    assert.equal(await store.redactMessagesOf('u-ana', (part) => parts.push(part)), 1);
    assert.deepEqual(parts, [[{ request_id: room.id, seq: 1 }]]);
    assert.deepEqual((await store.listMessages(room.id, { limit: 10 })).messages, [
      { ...message, sender: { ...ANA, name: null }, body: '', redacted: true },
    ]);
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** Appends `n` messages to a room, owner and admin in turn, with client_ids `<prefix>-<seq>`, 1,000 per transaction. */
async function fill(store: SqliteStore, requestId: string, prefix: string, n: number): Promise<void> {
  for (let from = 1; from <= n; from += 1000) {
    const batch = [];
    for (let seq = from; seq < from + 1000 && seq <= n; seq++) {
      const [sender, side] = seq % 2 ? ([ANA, 'user'] as const) : ([BO, 'workshop'] as const);
      batch.push(store.appendMessage({ request_id: requestId, sender, side, body: `${prefix} ${seq}`, client_id: `${prefix}-${seq}` }));
    }
    await Promise.all(batch);
  }
}

function retry(requestId: string, prefix: string, seq: number) {
  const [sender, side] = seq % 2 ? ([ANA, 'user'] as const) : ([BO, 'workshop'] as const);
  return { request_id: requestId, sender, side, body: 'retried', client_id: `${prefix}-${seq}` };
}

/** Where the store's copy of client_ids stands: the last copied message's rowid, and the messages stored. */
function copiedThrough(dataDir: string): [number, number] {
  const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
  try {
    return [db.prepare('SELECT through FROM client_ids_copied').pluck().get() as number, db.prepare('SELECT count(*) FROM messages').pluck().get() as number];
  } finally {
    db.close();
  }
}

test('sqlite: after a restart, retries into a room of 30,500 messages answer the stored message, the oldest and the newest', async () => {
  const dataDir = tempDir();
  const first = new SqliteStore({ dataDir, synchronous: 'normal' });
  const room = await first.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'Big' });
  await fill(first, room.id, 'big', 30_500);
  await first.close();
  const [through, stored] = copiedThrough(dataDir);
  assert.equal(stored, 30_500);
  assert.ok(through > 0 && through < stored, `some client_ids are in the table, the newest not yet (copied through ${through})`);

  const second = new SqliteStore({ dataDir, synchronous: 'normal' });
  try {
    for (const seq of [1, 2, 15_000, through, through + 1, 30_500]) {
      const answer = await second.appendMessage(retry(room.id, 'big', seq));
      assert.deepEqual(
        [answer.created, answer.message.seq, answer.message.body, answer.recipient_unread],
        [false, seq, `big ${seq}`, { count: 0, total: 0 }],
        `retry of seq ${seq}`,
      );
    }
    // The admin's key is not the owner's: the owner sending it stores a new message, once.
    const crossed = await second.appendMessage({ ...retry(room.id, 'big', 2), sender: ANA, side: 'user' });
    assert.deepEqual([crossed.created, crossed.message.seq], [true, 30_501]);
    const again = await second.appendMessage({ ...retry(room.id, 'big', 2), sender: ANA, side: 'user' });
    assert.deepEqual([again.created, again.message.seq, again.message.id], [false, 30_501, crossed.message.id]);
    assert.equal((await second.getRoom(room.id))?.last_seq, 30_501);
  } finally {
    await second.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('sqlite: after a restart, two big rooms written alternately keep every client_id of both', async () => {
  const dataDir = tempDir();
  const first = new SqliteStore({ dataDir, synchronous: 'normal' });
  const rooms = [
    await first.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'One' }),
    await first.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'Two' }),
  ];
  // The same client_ids in both rooms: each room keeps its own.
  await fill(first, rooms[0]!.id, 'k', 15_250);
  await fill(first, rooms[1]!.id, 'k', 15_250);
  await first.close();
  const [through, stored] = copiedThrough(dataDir);
  assert.ok(through > 15_250 && through < stored, `room two's newest client_ids are not in the table yet (copied through ${through})`);

  const second = new SqliteStore({ dataDir, synchronous: 'normal' });
  try {
    const answers: Array<[number, boolean, number]> = [];
    for (const seq of [1, 7_500, 15_250]) {
      for (const [i, room] of rooms.entries()) {
        const retried = await second.appendMessage(retry(room.id, 'k', seq));
        const fresh = await second.appendMessage({ ...retry(room.id, 'k', seq), client_id: `new-${seq}` });
        answers.push([i, retried.created, retried.message.seq], [i, fresh.created, fresh.message.seq]);
      }
    }
    assert.deepEqual(answers, [
      [0, false, 1], [0, true, 15_251], [1, false, 1], [1, true, 15_251],
      [0, false, 7_500], [0, true, 15_252], [1, false, 7_500], [1, true, 15_252],
      [0, false, 15_250], [0, true, 15_253], [1, false, 15_250], [1, true, 15_253],
    ]);
    const resent = await Promise.all(rooms.map((room) => second.appendMessage({ ...retry(room.id, 'k', 7_500), client_id: 'new-7500' })));
    assert.deepEqual(resent.map((r) => [r.created, r.message.seq]), [[false, 15_252], [false, 15_252]]);
    assert.deepEqual((await Promise.all(rooms.map((room) => second.getRoom(room.id)))).map((r) => r?.last_seq), [15_253, 15_253]);
  } finally {
    await second.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('sqlite: a batch whose copy of client_ids rolls back keeps them findable, and the next batch copies them', async () => {
  const dataDir = tempDir();
  const store = new SqliteStore({ dataDir, synchronous: 'normal' });
  try {
    const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
    await fill(store, room.id, 'a', COPY_CLIENT_IDS_AT - 1);
    assert.deepEqual(copiedThrough(dataDir), [0, COPY_CLIENT_IDS_AT - 1]);
    // The threshold is reached in this batch, whose copy goes with it when the missing room fails it.
    const [reaching, failing] = await Promise.allSettled([
      store.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'reaching', client_id: 'x' }),
      store.appendMessage({ request_id: 'r_missing', sender: ANA, side: 'user', body: 'lost', client_id: 'y' }),
    ]);
    assert.equal(reaching.status === 'fulfilled' && reaching.value.message.seq, COPY_CLIENT_IDS_AT);
    assert.equal(failing.status === 'rejected' && String(failing.reason), 'Error: no such room: r_missing');
    assert.deepEqual(copiedThrough(dataDir), [0, COPY_CLIENT_IDS_AT], 'retried alone, the append made no copy');
    const retried = await store.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'again', client_id: 'x' });
    assert.deepEqual([retried.created, retried.message.seq], [false, COPY_CLIENT_IDS_AT]);
    assert.deepEqual(copiedThrough(dataDir), [COPY_CLIENT_IDS_AT, COPY_CLIENT_IDS_AT], 'the next batch copied all of them');
    const next = await store.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'next', client_id: 'z' });
    assert.deepEqual([next.created, next.message.seq], [true, COPY_CLIENT_IDS_AT + 1]);
    const afterCopy = await Promise.all([
      store.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'again', client_id: 'x' }),
      store.appendMessage(retry(room.id, 'a', 1)),
      store.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'again', client_id: 'y' }),
    ]);
    assert.deepEqual(afterCopy.map((r) => [r.created, r.message.seq]), [
      [false, COPY_CLIENT_IDS_AT],
      [false, 1],
      [true, COPY_CLIENT_IDS_AT + 2],
    ]);
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('sqlite: a version-6 file is migrated: its counters stand, its unread indexes serve, and system messages and data are stored from then on', async () => {
  const dataDir = tempDir();
  const first = new SqliteStore({ dataDir });
  const room = await first.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
  await first.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'one', client_id: null });
  await first.appendMessage({ request_id: room.id, sender: ANA, side: 'user', body: 'two', client_id: null });
  await first.appendMessage({ request_id: room.id, sender: BO, side: 'workshop', body: 'three', client_id: null });
  await first.close();
  backToVersion6(dataDir);

  const store = new SqliteStore({ dataDir });
  try {
    const workshop = { side: 'workshop', workshopId: 'w-1' } as const;
    const owner = { side: 'user', userId: 'u-ana' } as const;
    assert.deepEqual(await store.unread(workshop), { total: 2, rooms: { [room.id]: 2 } });
    assert.deepEqual(await store.unread(owner), { total: 1, rooms: { [room.id]: 1 } });
    const page = await store.listMessages(room.id, { limit: 10 });
    assert.deepEqual(page.messages.map((m) => 'data' in m), [false, false, false], 'no data on the messages of before');
    const system = await store.appendMessage({
      request_id: room.id,
      sender: { id: 'host', role: 'system', name: null },
      side: 'system',
      body: '',
      data: { kind: 'quote', total: 120 },
      client_id: 's-1',
    });
    assert.deepEqual(
      [system.message.seq, system.message.data, system.recipient, system.recipient_unread, system.owner_recipient],
      [4, { kind: 'quote', total: 120 }, 'w-1', { count: 3, total: 3 }, { recipient: 'u-ana', unread: { count: 2, total: 2 } }],
    );
    const unreadOnly = await store.listRooms(owner, { limit: 10, after: null, unread: true });
    assert.deepEqual(unreadOnly.rooms.map((r) => [r.id, r.unread, r.last_message?.data]), [[room.id, 2, { kind: 'quote', total: 120 }]]);
    const read = await store.advanceCursor(room.id, 'user', null);
    assert.deepEqual(read.reader_unread, { count: 0, total: 0 }, 'the owner read the workshop’s message and the system’s');
    const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 10);
    assert.deepEqual(db.prepare('SELECT system_sent, user_seen, workshop_seen FROM rooms').raw().get(), [1, 2, 0]);
    db.close();
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('sqlite: a retry of a copied client_id answers the stored message in a closed room and from a sender no longer holding it, and moves nothing', async () => {
  const dataDir = tempDir();
  const store = new SqliteStore({ dataDir, synchronous: 'normal' });
  try {
    const input = { id: 'sr-copied', user_id: 'u-ana', workshop_id: 'w-1', title: 'Copied' };
    await store.putRoom(input);
    await fill(store, input.id, 'c', COPY_CLIENT_IDS_AT);
    assert.deepEqual(copiedThrough(dataDir), [COPY_CLIENT_IDS_AT, COPY_CLIENT_IDS_AT]);
    await store.putRoom({ ...input, status: 'closed' });
    const closed = await store.appendMessage(retry(input.id, 'c', 2));
    assert.deepEqual([closed.created, closed.message.seq, closed.message.body, closed.recipient], [false, 2, 'c 2', null]);
    await assert.rejects(store.appendMessage({ ...retry(input.id, 'c', 2), client_id: 'new' }), { name: 'RoomClosedError' });
    await store.putRoom({ ...input, workshop_id: 'w-2', status: 'open' });
    const moved = await store.appendMessage({ ...retry(input.id, 'c', 4), holder: 'w-1' });
    assert.deepEqual([moved.created, moved.message.seq, moved.message.body], [false, 4, 'c 4']);
    await assert.rejects(store.appendMessage({ ...retry(input.id, 'c', 4), client_id: 'new', holder: 'w-1' }), { name: 'NotHolderError' });
    const room = await store.getRoom(input.id);
    assert.equal(room?.last_seq, COPY_CLIENT_IDS_AT);
    assert.equal((await store.unread({ side: 'workshop', workshopId: 'w-2' })).total, COPY_CLIENT_IDS_AT / 2);
  } finally {
    await store.close();
  }
  rmSync(dataDir, { recursive: true, force: true });
});
