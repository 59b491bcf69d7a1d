import Database from 'better-sqlite3';
import { isOutOfSpace } from './failures.js';

export interface OpenedWal {
  db: Database.Database;
  /**
   * False when the file could only be opened in exclusive locking mode: then no other connection
   * (a checkpoint worker) may open it until the next start.
   */
  shared: boolean;
  /** Why it could not be shared. */
  cause?: unknown;
}

/**
 * Opens `file` in WAL mode and `configure`s it. On a disk with no room for the WAL's shared-memory
 * index (-shm, made anew at each start) it opens the file again in exclusive locking mode, which
 * keeps that index in this process's memory: a restart on a full disk serves reads now and takes
 * writes once space is back.
 */
export function openWal(file: string, configure: (db: Database.Database) => void): OpenedWal {
  try {
    return { db: configured(file, false, configure), shared: true };
  } catch (error) {
    if (!isOutOfSpace(error)) throw error;
    return { db: configured(file, true, configure), shared: false, cause: error };
  }
}

function configured(file: string, exclusive: boolean, configure: (db: Database.Database) => void): Database.Database {
  const db = new Database(file);
  try {
    // Before the first read: a connection that has used the shared-memory index keeps it.
    if (exclusive) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    configure(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
