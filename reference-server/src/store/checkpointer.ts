import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from '../logger.js';

// Plain CommonJS evaluated in the worker: no build step or TypeScript loader needed there.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (command) => {
  if (command === 'checkpoint') {
    let result = null;
    try { result = db.pragma('wal_checkpoint(PASSIVE)')[0]; } catch {}
    parentPort.postMessage(result);
  } else {
    db.close();
    parentPort.close();
  }
});
`;

/** Commits between checkpoints: SQLite's own default is about 1000 pages. */
const COMMITS_PER_CHECKPOINT = 64;

/** SQLite's default, in pages: what the main connection falls back to. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/** WAL frames (1 MiB of 4 KiB pages) past which a checkpoint the worker left unfinished is finished on the main thread. */
const WAL_BOUND_FRAMES = 256;

/** How often, at most, a failed write tries a checkpoint of its own. */
const RESCUE_INTERVAL_MS = 1000;

/** `PRAGMA wal_checkpoint`'s answer: frames in the WAL, and how many of them are in the database file. */
interface CheckpointResult {
  log: number;
  checkpointed: number;
}

/** A worker busy longer than this at close is stopped: SQLite resumes an interrupted checkpoint later. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Starts the thread that checkpoints the database file `file`; it answers each 'checkpoint' with its result (null if it failed). */
export type CheckpointWorkerFactory = (file: string) => Worker;

export function spawnCheckpointWorker(file: string): Worker {
  const require = createRequire(import.meta.url);
  return new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver: require.resolve('better-sqlite3') } });
}

export interface CheckpointerOptions {
  logger?: Logger | undefined;
  spawn?: CheckpointWorkerFactory;
}

/**
 * Copies the WAL back into the database file on a worker thread with its own
 * connection. Left to SQLite, a checkpoint (and its fsyncs) runs inside
 * whichever commit crosses the threshold: on the event loop, stalling every
 * socket. Durability is unchanged: a commit is durable in the WAL.
 *
 * The WAL starts over only when a write begins after a checkpoint that took
 * in every frame. The worker's checkpoint runs beside the writes, so under a
 * stream of commits that never pauses, new frames always arrive while it runs:
 * the WAL would grow until the disk is full, and then, with no room left for a
 * checkpoint to grow the database file, stay full for good (seen on a full
 * disk that got space back: the retried backlog ate all of it). So once the
 * worker reports a WAL past WAL_BOUND_FRAMES, the main thread checkpoints at
 * once, between writes, where it catches up. And a write that failed
 * on the storage tries one too, so the WAL starts over in the space it already
 * has as soon as the database file can take its pages.
 *
 * If the worker dies (it cannot open the file, runs out of memory...), the
 * main connection's own autocheckpoint is turned back on: slower commits now
 * and then, but a WAL that stays bounded. Not a restarted worker: whatever
 * killed it would likely kill the next one, over and over.
 */
export class Checkpointer {
  readonly #db: Database.Database;
  readonly #logger: Logger | undefined;
  #worker: Worker | null;
  readonly #exited: Promise<void>;
  #commits = 0;
  #running = false;
  #unanswered = 0;
  #closing = false;
  #lastRescue = -Infinity;

  constructor(db: Database.Database, options: CheckpointerOptions = {}) {
    this.#db = db;
    this.#logger = options.logger;
    const worker = (options.spawn ?? spawnCheckpointWorker)(db.name);
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (result: CheckpointResult | null) => {
      this.#running = false;
      this.#unanswered = 0;
      if (result !== null && result.log > WAL_BOUND_FRAMES) this.#checkpointHere();
    });
    worker.on('error', (error: Error) => this.#lost(error));
    worker.once('exit', (code: number) => {
      if (!this.#closing) this.#lost(new Error(`the checkpoint worker exited with code ${code}`));
    });
    worker.unref();
  }

  /** Counts one committed write transaction. */
  committed(): void {
    // The worker's checkpoint has not answered for a long stretch of commits: it cannot keep up
    // (or hangs). Catching up here fails harmlessly (busy) while it still holds the checkpoint.
    if (this.#running && ++this.#unanswered > COMMITS_PER_CHECKPOINT * 4) {
      this.#unanswered = 0;
      this.#checkpointHere();
    }
    if (!this.#worker || ++this.#commits < COMMITS_PER_CHECKPOINT || this.#running) return;
    this.#commits = 0;
    this.#running = true;
    this.#worker.postMessage('checkpoint');
  }

  /** A write failed on the storage (disk full, I/O). */
  writeFailed(): void {
    const now = performance.now();
    if (now - this.#lastRescue < RESCUE_INTERVAL_MS) return;
    this.#lastRescue = now;
    this.#checkpointHere();
  }

  #checkpointHere(): void {
    try {
      this.#db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Still no room for the database file to grow: the next failed write tries again.
    }
  }

  #lost(error: Error): void {
    if (!this.#worker) return;
    this.#worker = null;
    if (this.#closing || !this.#db.open) return;
    this.#logger?.error({ err: error }, 'WAL checkpoint worker failed; SQLite now checkpoints on the main thread');
    this.#db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
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
