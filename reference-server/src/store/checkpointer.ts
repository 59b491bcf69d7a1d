import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

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

/**
 * Copies the WAL back into the database file on a worker thread with its own
 * connection. Left to SQLite, a checkpoint (and its fsyncs) runs inside
 * whichever commit crosses the threshold: on the event loop, stalling every
 * socket. Durability is unchanged: a commit is durable in the WAL.
 */
export class Checkpointer {
  readonly #worker: Worker;
  #commits = 0;
  #running = false;

  constructor(file: string) {
    const require = createRequire(import.meta.url);
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, driver: require.resolve('better-sqlite3') },
    });
    this.#worker.on('message', () => {
      this.#running = false;
    });
    this.#worker.unref();
  }

  committed(): void {
    if (++this.#commits < COMMITS_PER_CHECKPOINT || this.#running) return;
    this.#commits = 0;
    this.#running = true;
    this.#worker.postMessage('checkpoint');
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    // Kept out of the way of process exit while idle; held open while it closes its connection.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await exited;
  }
}
