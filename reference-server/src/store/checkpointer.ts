import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from '../logger.js';

// Plain CommonJS evaluated in the worker: no build step or TypeScript loader needed there.
// `busy` is 1 while its checkpoint runs, so the main thread can wait for it (see #catchUp).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const busy = new Int32Array(workerData.busy);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (command) => {
  if (command === 'checkpoint') {
    Atomics.store(busy, 0, 1);
    let result = null;
    try { result = db.pragma('wal_checkpoint(PASSIVE)')[0]; } catch {}
    Atomics.store(busy, 0, 0);
    Atomics.notify(busy, 0);
    parentPort.postMessage(result);
  } else {
    db.close();
    parentPort.close();
  }
});
`;

/**
 * WAL bytes past which the worker checkpoints; also the size the WAL file is cut back to when it
 * starts over (journal_size_limit). Each checkpoint copies again the pages nearly every commit
 * writes (the rooms' rows, the ends of the indexes), so checkpoints farther apart write fewer bytes
 * per message: at 4 MiB, not 1, about a sixth fewer (docs/benchmarks.md).
 */
export const CHECKPOINT_BYTES = 4 * 1024 * 1024;

/**
 * WAL bytes past which the main thread checkpoints before the next write: the
 * bound of the WAL file is this plus one commit (the writes of one event-loop turn).
 */
export const WAL_LIMIT_BYTES = 16 * 1024 * 1024;

/** SQLite's autocheckpoint, in pages, when no worker checkpoints: WAL_LIMIT_BYTES of 4 KiB pages. */
const AUTOCHECKPOINT_PAGES = WAL_LIMIT_BYTES / 4096;

/** How long the main thread waits for the worker's checkpoint in progress before it catches up itself. */
const CATCH_UP_WAIT_MS = 2000;

/** How often, at most, a failed write tries a checkpoint of its own. */
const RESCUE_INTERVAL_MS = 1000;

/** `PRAGMA wal_checkpoint`'s answer: 1 if another checkpoint held the lock; frames in the WAL, and how many of them are in the database file. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** Frames in a WAL file of `bytes`: a 32-byte header, then each page with a 24-byte header of its own. */
const framesIn = (bytes: number, pageSize: number) => Math.floor((bytes - 32) / (pageSize + 24));

/** A worker busy longer than this at close is stopped: SQLite resumes an interrupted checkpoint later. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Starts the thread that checkpoints the database file `file`; it answers each
 * 'checkpoint' with its result (null if it failed), and holds `busy[0]` at 1 while it runs.
 */
export type CheckpointWorkerFactory = (file: string, busy: SharedArrayBuffer) => Worker;

export function spawnCheckpointWorker(file: string, busy: SharedArrayBuffer): Worker {
  const require = createRequire(import.meta.url);
  return new Worker(WORKER_SOURCE, { eval: true, workerData: { file, busy, driver: require.resolve('better-sqlite3') } });
}

export interface CheckpointerOptions {
  logger?: Logger | undefined;
  /** null: no worker (the database is open in exclusive locking mode); SQLite checkpoints on the main thread. */
  spawn?: CheckpointWorkerFactory | null;
}

/**
 * Copies the WAL back into the database file on a worker thread with its own
 * connection. Left to SQLite, a checkpoint (and its fsyncs) runs inside
 * whichever commit crosses the threshold: on the event loop, stalling every
 * socket. Durability is unchanged: a commit is durable in the WAL.
 *
 * Checkpoints follow the WAL's size in bytes, not a count of commits: one
 * commit may hold a burst of large messages (64 commits of them once made a
 * 56 MiB WAL). Past CHECKPOINT_BYTES after a commit, the worker checkpoints.
 *
 * The WAL starts over only when a write begins after a checkpoint that took
 * in every frame, and is then cut back to CHECKPOINT_BYTES (journal_size_limit;
 * without it, the file keeps its largest size for good). The worker's checkpoint
 * runs beside the writes, so under a stream of commits that never pauses, new
 * frames may arrive while it runs, and the WAL would grow until the disk is
 * full. So when the worker answers and frames arrived meanwhile, it goes again
 * over what is left, a shorter run each time, until one ends with nothing new
 * and the next write starts the WAL over. (The main thread did that catch-up
 * once, between writes: a copy and two fsyncs on the event loop every 4 MiB,
 * which made the fan-out's p99, docs/benchmarks.md.) And past WAL_LIMIT_BYTES
 * (commits outran the worker), the main
 * thread checkpoints before the next write, first waiting for a worker's
 * checkpoint in progress (SQLite runs one at a time): the WAL file never holds
 * more than WAL_LIMIT_BYTES plus one commit. A write that failed on the storage
 * tries a checkpoint too, so the WAL starts over in the space it already has as
 * soon as the database file can take its pages.
 *
 * If the worker dies (it cannot open the file, runs out of memory...), the
 * main connection's own autocheckpoint is turned on: slower commits now
 * and then, but a WAL that stays bounded. Not a restarted worker: whatever
 * killed it would likely kill the next one, over and over.
 */
export class Checkpointer {
  readonly #db: Database.Database;
  readonly #wal: string;
  readonly #logger: Logger | undefined;
  readonly #busy = new Int32Array(new SharedArrayBuffer(4));
  #worker: Worker | null = null;
  readonly #pageSize: number;
  readonly #exited: Promise<void>;
  #running = false;
  #closing = false;
  #lastRescue = -Infinity;

  constructor(db: Database.Database, options: CheckpointerOptions = {}) {
    this.#db = db;
    this.#wal = `${db.name}-wal`;
    this.#logger = options.logger;
    db.pragma(`journal_size_limit = ${CHECKPOINT_BYTES}`);
    this.#pageSize = db.pragma('page_size', { simple: true }) as number;
    const spawn = options.spawn === undefined ? spawnCheckpointWorker : options.spawn;
    if (spawn === null) {
      db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      this.#exited = Promise.resolve();
      return;
    }
    const worker = spawn(db.name, this.#busy.buffer as SharedArrayBuffer);
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (result: CheckpointResult | null) => {
      this.#running = false;
      // Frames committed while it ran are left behind: it goes again, not the event loop (a copy and
      // two fsyncs there stalled every socket: issue 20's tail). A run that finds none new lets the
      // next write start the WAL over.
      if (result !== null && this.#walBytes() > CHECKPOINT_BYTES && framesIn(this.#walBytes(), this.#pageSize) > result.log) {
        this.#running = true;
        worker.postMessage('checkpoint');
      }
    });
    worker.on('error', (error: Error) => this.#lost(error));
    worker.once('exit', (code: number) => {
      if (!this.#closing) this.#lost(new Error(`the checkpoint worker exited with code ${code}`));
    });
    worker.unref();
  }

  /** After each committed write transaction. */
  committed(): void {
    const bytes = this.#walBytes();
    if (bytes > WAL_LIMIT_BYTES) this.#catchUp();
    else if (bytes > CHECKPOINT_BYTES && this.#worker && !this.#running) {
      this.#running = true;
      this.#worker.postMessage('checkpoint');
    }
  }

  /** A write failed on the storage (disk full, I/O). */
  writeFailed(): void {
    const now = performance.now();
    if (now - this.#lastRescue < RESCUE_INTERVAL_MS) return;
    this.#lastRescue = now;
    this.#checkpointHere();
  }

  /**
   * The WAL's size. Past journal_size_limit it is also how much of it is in use:
   * the file grows only by frames written past its end, and is cut back when the WAL starts over.
   */
  #walBytes(): number {
    return statSync(this.#wal, { throwIfNoEntry: false })?.size ?? 0;
  }

  #catchUp(): void {
    // A checkpoint the worker holds makes ours busy: wait for it to end (a no-op when it does not run), then copy the rest.
    for (let attempt = 0; attempt < 2; attempt++) {
      Atomics.wait(this.#busy, 0, 1, CATCH_UP_WAIT_MS);
      if (this.#checkpointHere()?.busy === 0) return;
    }
  }

  /**
   * Copies the whole WAL into the database file and cuts the WAL to zero bytes, so that no earlier
   * version of a page is left in it (an erasure). Waits for a worker's checkpoint in progress, as
   * #catchUp does; false when the WAL could not be truncated (another checkpoint or a reader held it).
   * A stall of the event loop of one checkpoint, as #catchUp's.
   */
  truncate(): boolean {
    // Unlike a passive one, a truncating checkpoint would wait out the busy timeout for a lock or a
    // reader, on the event loop: the worker is waited for here instead, and nothing else holds them.
    const busyTimeout = this.#db.pragma('busy_timeout', { simple: true }) as number;
    this.#db.pragma('busy_timeout = 0');
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        Atomics.wait(this.#busy, 0, 1, CATCH_UP_WAIT_MS);
        if (this.#checkpointHere('TRUNCATE')?.busy === 0) return true;
      }
      return false;
    } finally {
      this.#db.pragma(`busy_timeout = ${busyTimeout}`);
    }
  }

  #checkpointHere(mode: 'PASSIVE' | 'TRUNCATE' = 'PASSIVE'): CheckpointResult | null {
    try {
      return (this.#db.pragma(`wal_checkpoint(${mode})`) as CheckpointResult[])[0] ?? null;
    } catch {
      // Still no room for the database file to grow: the next failed write tries again.
      return null;
    }
  }

  #lost(error: Error): void {
    if (!this.#worker) return;
    this.#worker = null;
    // A worker that died inside its checkpoint left `busy` set: nothing is left to wait for.
    Atomics.store(this.#busy, 0, 0);
    if (this.#closing || !this.#db.open) return;
    this.#logger?.error({ err: error }, 'WAL checkpoint worker failed; SQLite now checkpoints on the main thread');
    this.#db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }

  async close(): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    if (!worker) return;
    // Kept out of the way of process exit while idle; held open while it closes its connection.
    worker.ref();
    worker.postMessage('close');
    const stop = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(stop);
    this.#worker = null;
  }
}
