import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pino from 'pino';
import { CHECKPOINT_BYTES, Checkpointer, WAL_LIMIT_BYTES } from '../src/store/checkpointer.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { eventually, tempDir } from './helpers/harness.js';

/**
 * The WAL checkpointer: a dead worker neither crashes the process nor lets the
 * WAL grow without bound, close() always ends, and every kind of commit checks
 * the WAL's size for the next checkpoint.
 */

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

/** A database set up as the store sets up its own: WAL, no automatic checkpoints. */
function walDatabase(): Database.Database {
  const db = new Database(join(dir(), 'test.sqlite3'));
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (body TEXT)');
  return db;
}

function capturingLogger() {
  const lines: Array<Record<string, any>> = [];
  return { lines, logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }) };
}

const within = <T>(promise: Promise<T>, ms = 5000) =>
  Promise.race([promise.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('timed out'), ms).unref())]);

const evalWorker = (source: string) => () => new Worker(source, { eval: true });

describe('checkpointer', () => {
  test('truncate() empties the WAL file; while a reader holds the WAL it answers false and leaves it', async () => {
    const db = walDatabase();
    const checkpointer = new Checkpointer(db, { spawn: null });
    db.prepare('INSERT INTO t (body) VALUES (?)').run('x'.repeat(10_000));
    const wal = `${db.name}-wal`;
    assert.ok(statSync(wal).size > 10_000);
    // A read transaction on another connection still needs the WAL's frames: they cannot go.
    const reader = new Database(db.name);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM t').get();
    db.prepare('INSERT INTO t (body) VALUES (?)').run('y');
    assert.equal(checkpointer.truncate(), false);
    assert.ok(statSync(wal).size > 10_000);
    reader.exec('COMMIT');
    reader.close();
    assert.equal(checkpointer.truncate(), true);
    assert.equal(statSync(wal).size, 0);
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 2);
    await checkpointer.close();
    db.close();
  });

  test('a worker that dies at start: no crash, SQLite checkpoints on the main thread, close() ends, the WAL stays bounded', async () => {
    const db = walDatabase();
    const { lines, logger } = capturingLogger();
    const checkpointer = new Checkpointer(db, { logger, spawn: evalWorker('throw new Error("cannot open the database")') });
    await eventually(() => lines.some((l) => l.msg.startsWith('WAL checkpoint worker failed')), 'the failure logged');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.err.message, 'cannot open the database');
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), WAL_LIMIT_BYTES / 4096);

    // Three times WAL_LIMIT_BYTES in commits of 4 KB: with checkpoints off, the WAL would hold all of it.
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    const row = 'x'.repeat(4000);
    for (let i = 0; i < (3 * WAL_LIMIT_BYTES) / 4000; i++) {
      insert.run(row);
      checkpointer.committed();
    }
    const wal = statSync(`${db.name}-wal`).size;
    assert.ok(wal < 1.5 * WAL_LIMIT_BYTES, `the WAL is ${wal} bytes`);
    assert.equal(await within(checkpointer.close()), 'done');
    db.close();
  });

  test('a worker that dies later: the fallback takes over and close() still ends', async () => {
    const db = walDatabase();
    const { lines, logger } = capturingLogger();
    const checkpointer = new Checkpointer(db, {
      logger,
      spawn: evalWorker("require('node:worker_threads').parentPort.on('message', () => process.exit(3))"),
    });
    // Past CHECKPOINT_BYTES: the worker is asked for a checkpoint, and dies.
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    for (let i = 0; i < (1.2 * CHECKPOINT_BYTES) / 4000; i++) insert.run('x'.repeat(4000));
    checkpointer.committed();
    await eventually(() => lines.length > 0, 'the failure logged');
    assert.equal(lines[0]!.err.message, 'the checkpoint worker exited with code 3');
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), WAL_LIMIT_BYTES / 4096);
    for (let i = 0; i < 200; i++) checkpointer.committed();
    assert.equal(await within(checkpointer.close()), 'done');
    db.close();
  });

  test('close() ends while a healthy worker is idle', async () => {
    const db = walDatabase();
    const checkpointer = new Checkpointer(db);
    assert.equal(await within(checkpointer.close()), 'done');
    db.close();
  });
});

describe('every commit of the SQLite store checks the WAL for a checkpoint', () => {
  const hashOf = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  /** Runs `commits` against a fresh store and waits until the worker's checkpoint reaches the database file. */
  async function checkpointed(commits: (store: SqliteStore) => Promise<void>) {
    const dataDir = dir();
    const store = new SqliteStore({ dataDir, synchronous: 'normal' });
    const file = join(dataDir, 'motoreach-chat.sqlite3');
    const before = hashOf(file);
    try {
      await commits(store);
      // Only a checkpoint writes the database file: commits go to the WAL.
      await eventually(() => hashOf(file) !== before, 'a checkpoint');
    } finally {
      await store.close();
    }
  }

  const append = (store: SqliteStore, requestId: string, i: number, body = `m${i}`) =>
    store.appendMessage({
      request_id: requestId,
      sender: { id: 'u', role: 'user', name: null },
      side: 'user',
      body,
      client_id: `c${i}`,
    });
  /** Rows of 20 KB, and how many of them pass CHECKPOINT_BYTES. */
  const large = (i: number) => `${i}:${'x'.repeat(20_000)}`;
  const LARGE_PAST_CHECKPOINT = Math.ceil((1.25 * CHECKPOINT_BYTES) / 20_000);

  test('room creations', async () => {
    await checkpointed(async (store) => {
      for (let i = 0; i < LARGE_PAST_CHECKPOINT; i++) await store.createRoom({ user_id: 'u', workshop_id: 'w', title: large(i) });
    });
  });

  test('cursor moves', async () => {
    await checkpointed(async (store) => {
      const room = await store.createRoom({ user_id: 'u', workshop_id: 'w', title: 'r' });
      // Each move rewrites the room's page: a frame of 4 KiB each at least.
      const moves = Math.ceil((1.5 * CHECKPOINT_BYTES) / 4096);
      // One turn, one batch, one commit: a small WAL.
      await Promise.all(Array.from({ length: moves }, (_, i) => append(store, room.id, i)));
      for (let seq = 1; seq <= moves; seq++) assert.equal((await store.advanceCursor(room.id, 'workshop', seq)).moved, true);
    });
  });

  test('the one-by-one commits after a batch failed on one bad append', async () => {
    await checkpointed(async (store) => {
      const room = await store.createRoom({ user_id: 'u', workshop_id: 'w', title: 'r' });
      const good = Array.from({ length: LARGE_PAST_CHECKPOINT }, (_, i) => append(store, room.id, i, large(i)));
      const bad = append(store, 'no-such-room', -1);
      await assert.rejects(bad, /no such room/);
      assert.deepEqual(
        (await Promise.all(good)).map((r) => r.message.seq),
        Array.from({ length: LARGE_PAST_CHECKPOINT }, (_, i) => i + 1),
      );
    });
  });
});

test('a worker whose checkpoints leave frames behind (as under commits that never pause) is asked again, the event loop checkpoints only past WAL_LIMIT_BYTES, the WAL stays bounded', async () => {
  const db = walDatabase();
  // What the real worker answers while commits stream beside it: more frames arrived than it saw.
  let answers = 0;
  const checkpointer = new Checkpointer(db, {
    spawn: () => {
      const worker = evalWorker("const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => m === 'checkpoint' ? parentPort.postMessage({ busy: 0, log: 0, checkpointed: 0 }) : process.exit(0))")();
      worker.on('message', () => answers++);
      return worker;
    },
  });
  // The store's connection is the event loop's: count the checkpoints run on it.
  const walSizesAtMainCheckpoints: number[] = [];
  const wal = `${db.name}-wal`;
  const pragma = db.pragma.bind(db);
  db.pragma = ((source: string, options?: Database.PragmaOptions) => {
    if (source.startsWith('wal_checkpoint')) walSizesAtMainCheckpoints.push(statSync(wal).size);
    return pragma(source, options);
  }) as typeof db.pragma;
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  const body = 'x'.repeat(1000);
  let largest = 0;
  let commits = 0;
  // One and a half times WAL_LIMIT_BYTES, a commit per event-loop turn, as the store commits.
  for (; commits < (1.5 * WAL_LIMIT_BYTES) / 1000; commits++) {
    insert.run(body);
    checkpointer.committed();
    largest = Math.max(largest, statSync(wal).size);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // The limit plus one commit (a row of 1000 bytes: its leaf, and when the leaf splits a new one and their parent).
  assert.ok(largest <= WAL_LIMIT_BYTES + 3 * 4120, `the WAL reached ${largest} bytes`);
  // This worker copies nothing, so the event loop does it each time the WAL passes the limit, and only
  // then: never at CHECKPOINT_BYTES after the worker's answer. The worker was asked again after each answer.
  assert.ok(walSizesAtMainCheckpoints.length >= 1);
  for (const size of walSizesAtMainCheckpoints) assert.ok(size > WAL_LIMIT_BYTES, `the event loop checkpointed at ${size} bytes`);
  assert.ok(answers > commits / 4, `${answers} answers for ${commits} commits`);
  await checkpointer.close();
  db.close();
});
