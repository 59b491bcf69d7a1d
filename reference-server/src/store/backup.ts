import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ConfigError } from '../config.js';
import { DATABASE_FILE } from './data-dir.js';

export interface BackupResult {
  file: string;
  bytes: number;
}

/**
 * A consistent copy of DATA_DIR's database taken with SQLite's backup API while a server may be
 * writing it. The connection is read-only and leaves DATA_DIR's lock to the server. The copy is made
 * in one step, inside one read transaction (in WAL mode readers do not block the server's commits),
 * so it holds exactly the transactions committed before that step; a copy in small steps would start
 * over at every commit of the server and might never end. It is written next to `target` and renamed
 * once whole, so a backup cut short never leaves a partial file under the backup's name.
 */
export async function backupDatabase(dataDir: string, target: string): Promise<BackupResult> {
  const source = join(dataDir, DATABASE_FILE);
  if (!existsSync(source)) throw new ConfigError(`DATA_DIR ${dataDir} holds no database (${source} does not exist)`);
  const file = resolve(target);
  if (!existsSync(dirname(file))) throw new ConfigError(`cannot write the backup ${file}: its directory does not exist`);
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(source, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    // The first step only measures the database; the callback makes the second copy every page at once.
    const { totalPages } = await db.backup(partial, { progress: () => 0x7fffffff });
    const bytes = totalPages * (db.pragma('page_size', { simple: true }) as number);
    renameSync(partial, file);
    return { file, bytes };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

const BACKUP_USAGE = 'Usage: motoreach-reference-server backup <file> [--data-dir DIR]  (or DATA_DIR; SQLite only)';

/** `motoreach-reference-server backup <file>`: what it did, in one line; a ConfigError (exit 2) for a wrong use. */
export async function backupCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${BACKUP_USAGE}`);
  }
  const [target, ...rest] = parsed.positionals;
  if (target === undefined || rest.length > 0) throw new ConfigError(BACKUP_USAGE);
  if (env.MONGODB_URI) {
    throw new ConfigError('MONGODB_URI is set: back MongoDB up with mongodump or snapshots of the replica set (see docs/reference-server.md, Backups)');
  }
  const dataDir = resolve(parsed.values['data-dir'] ?? (env.DATA_DIR || './data'));
  const { file, bytes } = await backupDatabase(dataDir, target);
  return `backed up ${dataDir} to ${file} (${bytes} bytes)`;
}
