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
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    parentPort.postMessage('done');
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

/** A worker busy longer than this at close is stopped: SQLite resumes an interrupted checkpoint later. */
const CLOSE_TIMEOUT_MS = 10_000;

/** Starts the thread that checkpoints the database file `file`; it answers each 'checkpoint' with 'done'. */
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
  #closing = false;

  constructor(db: Database.Database, options: CheckpointerOptions = {}) {
    this.#db = db;
    this.#logger = options.logger;
    const worker = (options.spawn ?? spawnCheckpointWorker)(db.name);
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', () => {
      this.#running = false;
    });
    worker.on('error', (error: Error) => this.#lost(error));
    worker.once('exit', (code: number) => {
      if (!this.#closing) this.#lost(new Error(`the checkpoint worker exited with code ${code}`));
    });
    worker.unref();
  }

  /** Counts one committed write transaction. */
  committed(): void {
    if (!this.#worker || ++this.#commits < COMMITS_PER_CHECKPOINT || this.#running) return;
    this.#commits = 0;
    this.#running = true;
    this.#worker.postMessage('checkpoint');
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
