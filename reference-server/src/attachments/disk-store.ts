import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import type { MessageSide } from '../chat/types.js';
import { StoreUnavailableError } from '../store/failures.js';
import { openWal } from '../store/wal.js';
import type { AttachmentStore, StoredAttachment } from './store.js';
import type { Variant } from './urls.js';

interface Row extends Omit<StoredAttachment, 'thumbnail'> {
  thumbnail: 0 | 1;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS attachments (
  id TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,
  uploader_side TEXT NOT NULL,
  uploader_id TEXT NOT NULL,
  client_id TEXT,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  width INTEGER,
  height INTEGER,
  thumbnail INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  claim TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS attachments_by_client_id ON attachments (request_id, uploader_side, uploader_id, client_id) WHERE client_id IS NOT NULL;
-- The daily budget, the export and the erasure look a person's uploads up; the sweep, the unclaimed ones.
CREATE INDEX IF NOT EXISTS attachments_by_uploader ON attachments (uploader_id, created_at);
CREATE INDEX IF NOT EXISTS attachments_unclaimed ON attachments (created_at) WHERE claim IS NULL;
`;

/** A full disk or a failing one: the upload is refused for now, never stored in part. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'SQLITE_FULL', 'SQLITE_BUSY'].includes(code) || code.startsWith('SQLITE_IOERR'));
}

function transient<T>(work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    if (isTransient(error)) throw new StoreUnavailableError(`attachment storage: ${(error as Error).message}`, { cause: error });
    throw error;
  });
}

/** Rolls a claim back: some of its uploads were another send's. */
class ClaimedBefore extends Error {
  constructor(readonly taken: string[]) {
    super(`claimed by another send: ${taken.join(', ')}`);
  }
}

function toRecord(row: Row): StoredAttachment {
  return { ...row, thumbnail: row.thumbnail === 1 };
}

/** Where DATA_DIR keeps the uploads' records, and their files. */
export const ATTACHMENTS_DATABASE = 'attachments.sqlite3';
export const ATTACHMENTS_DIR = 'attachments';

/**
 * Written under ATTACHMENTS_DIR at a close with no file on its way, and removed at the next start:
 * only a start that finds none looks for a crash's leftovers, a listing of every file there.
 */
const CLOSED_CLEANLY = '.closed-cleanly';

/** The files of an upload under ATTACHMENTS_DIR: `<id>`, and `<id>.thumb` when it has a thumbnail. */
export function attachmentFiles(id: string, thumbnail: boolean): string[] {
  return thumbnail ? [id, `${id}.thumb`] : [id];
}

/**
 * Uploads as files under DATA_DIR/attachments (`<id>` and `<id>.thumb`) and their records in
 * DATA_DIR/attachments.sqlite3. A file is written to a temporary name, synced and renamed, and its
 * record inserted after: a crash leaves no half file under a stored record, and the leftovers of one
 * (temporary files, files without a record) are removed when the store opens.
 */
export class DiskAttachmentStore implements AttachmentStore {
  readonly #db: Database.Database;
  readonly #dir: string;
  readonly #stmt;
  /** File writes and removals under way: a close during one leaves its leftovers to the next start. */
  #busy = 0;

  private constructor(dataDir: string) {
    this.#dir = join(dataDir, ATTACHMENTS_DIR);
    // On a full disk it opens in exclusive mode, as the chat's store does, and still serves the files it has.
    this.#db = openWal(join(dataDir, ATTACHMENTS_DATABASE), (db) => {
      db.pragma('synchronous = FULL');
      db.pragma('secure_delete = ON');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA);
    }).db;
    const db = this.#db;
    this.#stmt = {
      insert: db.prepare(
        `INSERT INTO attachments (id, request_id, uploader_side, uploader_id, client_id, kind, name, content_type, size, width, height, thumbnail, created_at, claim)
         VALUES (@id, @request_id, @uploader_side, @uploader_id, @client_id, @kind, @name, @content_type, @size, @width, @height, @thumbnail, @created_at, @claim)
         ON CONFLICT DO NOTHING`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM attachments WHERE id = ?'),
      byClientId: db.prepare<[string, string, string, string], Row>(
        'SELECT * FROM attachments WHERE request_id = ? AND uploader_side = ? AND uploader_id = ? AND client_id = ?',
      ),
      claim: db.prepare<[string, string], unknown>('UPDATE attachments SET claim = ? WHERE id = ? AND claim IS NULL'),
      release: db.prepare<[string, string]>('UPDATE attachments SET claim = NULL WHERE id = ? AND claim = ?'),
      claimOf: db.prepare<[string], string | null>('SELECT claim FROM attachments WHERE id = ?').pluck(),
      bytesSince: db
        .prepare<[string, string, string], number>(
          'SELECT coalesce(sum(size), 0) FROM attachments WHERE uploader_id = ? AND uploader_side = ? AND created_at >= ?',
        )
        .pluck(),
      unclaimedBefore: db.prepare<[string], string>('SELECT id FROM attachments WHERE claim IS NULL AND created_at < ?').pluck(),
      ofUploader: db.prepare<[string], Row>('SELECT * FROM attachments WHERE uploader_id = ? ORDER BY created_at, id'),
      remove: db.prepare<[string]>('DELETE FROM attachments WHERE id = ?'),
      ids: db.prepare<[], string>('SELECT id FROM attachments').pluck(),
    };
  }

  /** All or none: a send refused for one upload leaves the others free for the next. */
  readonly #claimAll = (ids: string[], claim: string): void =>
    this.#db
      .transaction(() => {
        for (const id of ids) this.#stmt.claim.run(claim, id);
        const taken = ids.filter((id) => this.#stmt.claimOf.get(id) !== claim);
        if (taken.length > 0) throw new ClaimedBefore(taken);
      })
      .immediate();

  static async open(dataDir: string): Promise<DiskAttachmentStore> {
    const store = new DiskAttachmentStore(dataDir);
    await mkdir(store.#dir, { recursive: true });
    // Removed before anything is written, so that a crash from now on leaves it absent.
    const closedCleanly = await rm(join(store.#dir, CLOSED_CLEANLY)).then(() => true, () => false);
    if (!closedCleanly) await store.#removeLeftovers();
    return store;
  }

  /** What a crash may have left: temporary files, and files whose record was never inserted. */
  async #removeLeftovers(): Promise<void> {
    const known = new Set(this.#stmt.ids.all());
    for (const name of await readdir(this.#dir)) {
      if (name.endsWith('.tmp') || !known.has(name.replace(/\.thumb$/, ''))) await rm(join(this.#dir, name), { force: true });
    }
  }

  #path(id: string, variant: Variant): string {
    const [file, thumbnail] = attachmentFiles(id, true);
    return join(this.#dir, variant === 'file' ? file! : thumbnail!);
  }

  async #write(path: string, bytes: Buffer): Promise<void> {
    const temp = `${path}.tmp`;
    try {
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      // A full disk leaves no part of the file behind: the space it took is free for the retry.
      await rm(temp, { force: true });
      throw error;
    }
  }

  async #removeFiles(id: string): Promise<void> {
    await rm(this.#path(id, 'file'), { force: true });
    await rm(this.#path(id, 'thumbnail'), { force: true });
  }

  async byClientId(requestId: string, side: MessageSide, uploaderId: string, clientId: string): Promise<StoredAttachment | null> {
    const row = this.#stmt.byClientId.get(requestId, side, uploaderId, clientId);
    return row ? toRecord(row) : null;
  }

  /** `work` counted as under way while it runs. */
  async #busyWith<T>(work: () => Promise<T>): Promise<T> {
    this.#busy++;
    try {
      return await work();
    } finally {
      this.#busy--;
    }
  }

  put(record: StoredAttachment, file: Buffer, thumbnail: Buffer | null): Promise<StoredAttachment> {
    return transient(() => this.#busyWith(() => this.#put(record, file, thumbnail)));
  }

  async #put(record: StoredAttachment, file: Buffer, thumbnail: Buffer | null): Promise<StoredAttachment> {
    try {
      await this.#write(this.#path(record.id, 'file'), file);
      if (thumbnail) await this.#write(this.#path(record.id, 'thumbnail'), thumbnail);
      const { changes } = this.#stmt.insert.run({ ...record, thumbnail: record.thumbnail ? 1 : 0 });
      if (changes === 1) return record;
    } catch (error) {
      await this.#removeFiles(record.id).catch(() => undefined);
      throw error;
    }
    // Another upload with this client_id was stored first: it is the answer, and these files go.
    await this.#removeFiles(record.id);
    const first = this.#stmt.byClientId.get(record.request_id, record.uploader_side, record.uploader_id, record.client_id as string);
    if (!first) throw new Error(`attachment ${record.id}: neither inserted nor found by its client_id`);
    return toRecord(first);
  }

  async get(id: string): Promise<StoredAttachment | null> {
    const row = this.#stmt.get.get(id);
    return row ? toRecord(row) : null;
  }

  async open(id: string, variant: Variant): Promise<Readable | null> {
    const stream = createReadStream(this.#path(id, variant));
    return new Promise((resolve, reject) => {
      stream.once('open', () => resolve(stream));
      stream.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(null) : reject(error)));
    });
  }

  async claim(ids: string[], claim: string): Promise<string[]> {
    try {
      this.#claimAll(ids, claim);
      return [];
    } catch (error) {
      if (error instanceof ClaimedBefore) return error.taken;
      throw error;
    }
  }

  async release(ids: string[], claim: string): Promise<void> {
    for (const id of ids) this.#stmt.release.run(id, claim);
  }

  async bytesSince(side: MessageSide, uploaderId: string, since: string): Promise<number> {
    return this.#stmt.bytesSince.get(uploaderId, side, since) ?? 0;
  }

  async removeUnclaimedBefore(before: string): Promise<number> {
    const ids = this.#stmt.unclaimedBefore.all(before);
    for (const id of ids) await this.#remove(id);
    return ids.length;
  }

  async listOfUploader(uploaderId: string): Promise<StoredAttachment[]> {
    return this.#stmt.ofUploader.all(uploaderId).map(toRecord);
  }

  async removeOfUploader(uploaderId: string): Promise<number> {
    const rows = this.#stmt.ofUploader.all(uploaderId);
    for (const row of rows) await this.#remove(row.id);
    return rows.length;
  }

  /** The record first: a file without one is a leftover, removed at the next start if not now. */
  #remove(id: string): Promise<void> {
    return this.#busyWith(async () => {
      this.#stmt.remove.run(id);
      await this.#removeFiles(id);
    });
  }

  async close(): Promise<void> {
    this.#db.close();
    // On a full disk the mark is not written: the next start then looks, as after a crash.
    if (this.#busy === 0) await writeFile(join(this.#dir, CLOSED_CLEANLY), '').catch(() => undefined);
  }
}
