import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The durable baseline's storage, (b) of the fan-out bench: one synchronous
 * better-sqlite3 INSERT per message, its own transaction, with the reference
 * server's pragmas (WAL, the same `synchronous`). Returns the insert.
 */
export function openBaselineInsert(dataDir: string, synchronous: string): (room: string, clientId: string | null, body: string) => void {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'baseline.sqlite3'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec(
    'CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, room TEXT NOT NULL, client_id TEXT, body TEXT NOT NULL, created_at TEXT NOT NULL)',
  );
  const stmt = db.prepare('INSERT INTO messages (room, client_id, body, created_at) VALUES (?, ?, ?, ?)');
  return (room, clientId, body) => void stmt.run(room, clientId, body, new Date().toISOString());
}
