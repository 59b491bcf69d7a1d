import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../config.js';

/** DATA_DIR cannot be used: a configuration error, told in one line (exit 2 from the CLI). */
export class DataDirError extends ConfigError {
  override name = 'DataDirError';
}

const LOCK_FILE = 'motoreach-chat.lock';
/** The chat database in DATA_DIR. */
export const DATABASE_FILE = 'motoreach-chat.sqlite3';

function reason(error: unknown): string {
  return (error as { code?: string }).code ?? (error as Error).message;
}

/** Creates the directory if it is missing and checks that the server can write in it. */
export function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    if (reason(error) === 'EEXIST') throw new DataDirError(`DATA_DIR ${dir} is not a directory`);
    throw new DataDirError(`DATA_DIR ${dir} does not exist and cannot be created (${reason(error)})`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new DataDirError(`DATA_DIR ${dir} is not writable (${reason(error)})`);
  }
}

/**
 * One server per DATA_DIR: two would each fan out only their own messages.
 * The lock is SQLite's exclusive lock on a small file of its own, held by an
 * open connection in exclusive locking mode. It is an OS file lock, so it dies
 * with the process (a server killed with -9 restarts at once, no stale lock
 * to clear), and it needs no separate library. Taking it writes nothing once
 * the file exists: a restart on a full disk still gets it, and serves reads.
 * The chat database itself stays in normal locking mode: the checkpointer
 * opens a second connection to it (unless a full disk leaves no room for
 * that, see SqliteStore).
 */
export class DataDirLock {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  static acquire(dir: string): DataDirLock {
    const file = join(dir, LOCK_FILE);
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 0 });
    } catch (error) {
      throw new DataDirError(`DATA_DIR ${dir}: cannot open ${file} (${reason(error)})`);
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // An empty transaction that takes the exclusive lock, which exclusive locking mode keeps until
      // close. Only a new, empty file gets its first page written here.
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      db.close();
      if (reason(error).startsWith('SQLITE_BUSY')) {
        throw new DataDirError(`DATA_DIR ${dir} is in use by another server process (it holds ${file})`);
      }
      throw new DataDirError(`DATA_DIR ${dir}: cannot lock ${file} (${reason(error)})`);
    }
    return new DataDirLock(db);
  }

  release(): void {
    this.#db.close();
  }
}
