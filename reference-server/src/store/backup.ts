import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ConfigError } from '../config.js';
import { ATTACHMENTS_DATABASE, ATTACHMENTS_DIR, attachmentFiles } from '../attachments/disk-store.js';
import { DATABASE_FILE } from './data-dir.js';

export interface BackupResult {
  file: string;
  bytes: number;
  /** Uploads copied beside it (`<file>.attachments.sqlite3`, `<file>.attachments/`); 0 when DATA_DIR holds none. */
  attachments: number;
}

/**
 * A consistent copy of DATA_DIR's database taken with SQLite's backup API while a server may be
 * writing it, with its uploads beside it (backupAttachments). The connection is read-only and leaves DATA_DIR's lock to the server. The copy is made
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
  const bytes = await copyDatabase(source, file);
  return { file, bytes, attachments: await backupAttachments(dataDir, file) };
}

/** One SQLite file copied whole, in one step of the backup API, to `<target>.partial` then renamed: its size in bytes. */
async function copyDatabase(source: string, target: string): Promise<number> {
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(source, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    // The first step only measures the database; the callback makes the second copy every page at once.
    const { totalPages } = await db.backup(partial, { progress: () => 0x7fffffff });
    renameSync(partial, target);
    return totalPages * (db.pragma('page_size', { simple: true }) as number);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

/**
 * The uploads (issue 18): their records copied as the database is, after it, then the files those
 * records name. A message in the chat's copy names uploads recorded before it was sent, so their
 * records are in this later copy; and stored files never change, so copying them after their records
 * is consistent. A file erased in between is left out (it would be 404 anyway); its record stays.
 */
async function backupAttachments(dataDir: string, file: string): Promise<number> {
  const source = join(dataDir, ATTACHMENTS_DATABASE);
  if (!existsSync(source)) return 0;
  const records = `${file}.${ATTACHMENTS_DATABASE}`;
  await copyDatabase(source, records);
  const dir = `${file}.${ATTACHMENTS_DIR}`;
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  const db = new Database(records, { readonly: true, fileMustExist: true });
  try {
    const uploads = db.prepare('SELECT id, thumbnail FROM attachments').all() as Array<{ id: string; thumbnail: 0 | 1 }>;
    for (const { id, thumbnail } of uploads) {
      for (const name of attachmentFiles(id, thumbnail === 1)) {
        try {
          copyFileSync(join(dataDir, ATTACHMENTS_DIR, name), join(partial, name));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    return uploads.length;
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
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
  const { file, bytes, attachments } = await backupDatabase(dataDir, target);
  const uploads = attachments > 0 ? `, and ${attachments} attachments beside it (${file}.${ATTACHMENTS_DATABASE}, ${file}.${ATTACHMENTS_DIR}/)` : '';
  return `backed up ${dataDir} to ${file} (${bytes} bytes)${uploads}`;
}
