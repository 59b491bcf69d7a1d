import type { Readable } from 'node:stream';
import mongoose, { type Connection } from 'mongoose';
import type { MessageSide } from '../chat/types.js';
import { isStoreUnavailable, StoreUnavailableError } from '../store/failures.js';
import type { AttachmentStore, StoredAttachment } from './store.js';
import type { Variant } from './urls.js';

type Doc = Omit<StoredAttachment, 'id'> & { _id: string };

function toRecord({ _id, ...doc }: Doc): StoredAttachment {
  return { id: _id, ...doc };
}

function fileId(id: string, variant: Variant): string {
  return variant === 'file' ? id : `${id}.thumb`;
}

/**
 * Uploads in MongoDB: the bytes in GridFS (bucket `attachment_files`, so that every server of a
 * deployment serves every file), their records in `attachments`, inserted once the bytes are all
 * written: a record never names a half-written file.
 */
export class GridFsAttachmentStore implements AttachmentStore {
  readonly #conn: Connection;
  readonly #bucket: mongoose.mongo.GridFSBucket;
  readonly #records: mongoose.mongo.Collection<Doc>;

  private constructor(conn: Connection) {
    this.#conn = conn;
    const db = conn.db as mongoose.mongo.Db;
    this.#bucket = new mongoose.mongo.GridFSBucket(db, { bucketName: 'attachment_files' });
    this.#records = db.collection<Doc>('attachments');
  }

  static async connect(uri: string, dbName?: string): Promise<GridFsAttachmentStore> {
    const conn = mongoose.createConnection(uri, { ...(dbName === undefined ? {} : { dbName }), autoCreate: false, autoIndex: false, bufferCommands: false });
    await conn.asPromise();
    const store = new GridFsAttachmentStore(conn);
    await store.#records.createIndex(
      { request_id: 1, uploader_side: 1, uploader_id: 1, client_id: 1 },
      { name: 'attachments_by_client_id', unique: true, partialFilterExpression: { client_id: { $type: 'string' } } },
    );
    await store.#records.createIndex({ uploader_id: 1, created_at: 1 }, { name: 'attachments_by_uploader' });
    await store.#records.createIndex({ claim: 1, created_at: 1 }, { name: 'attachments_unclaimed' });
    return store;
  }

  async #unavailableOnFault<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isStoreUnavailable(error)) throw new StoreUnavailableError(`attachment storage: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  }

  async #write(id: string, bytes: Buffer): Promise<void> {
    const upload = this.#bucket.openUploadStreamWithId(id as never, id);
    upload.end(bytes);
    await new Promise<void>((resolve, reject) => {
      upload.once('finish', () => resolve());
      upload.once('error', reject);
    });
  }

  async #removeFiles(id: string): Promise<void> {
    for (const variant of ['file', 'thumbnail'] as const) {
      await this.#bucket.delete(fileId(id, variant) as never).catch((error: Error) => {
        if (!/FileNotFound|not found/i.test(error.message)) throw error;
      });
    }
  }

  async byClientId(requestId: string, side: MessageSide, uploaderId: string, clientId: string): Promise<StoredAttachment | null> {
    const doc = await this.#records.findOne({ request_id: requestId, uploader_side: side, uploader_id: uploaderId, client_id: clientId });
    return doc ? toRecord(doc) : null;
  }

  put(record: StoredAttachment, file: Buffer, thumbnail: Buffer | null): Promise<StoredAttachment> {
    return this.#unavailableOnFault(async () => {
      const { id, ...rest } = record;
      try {
        await this.#write(fileId(id, 'file'), file);
        if (thumbnail) await this.#write(fileId(id, 'thumbnail'), thumbnail);
        await this.#records.insertOne({ _id: id, ...rest });
        return record;
      } catch (error) {
        await this.#removeFiles(id).catch(() => undefined);
        if ((error as { code?: number }).code !== 11000 || record.client_id === null) throw error;
      }
      // Another upload with this client_id was stored first: it is the answer.
      const first = await this.byClientId(record.request_id, record.uploader_side, record.uploader_id, record.client_id);
      if (!first) throw new Error(`attachment ${id}: neither inserted nor found by its client_id`);
      return first;
    });
  }

  async get(id: string): Promise<StoredAttachment | null> {
    const doc = await this.#records.findOne({ _id: id });
    return doc ? toRecord(doc) : null;
  }

  async open(id: string, variant: Variant): Promise<Readable | null> {
    const name = fileId(id, variant);
    const found = await this.#bucket.find({ _id: name as never }, { limit: 1 }).toArray();
    return found.length === 0 ? null : this.#bucket.openDownloadStream(name as never);
  }

  async claim(ids: string[], claim: string): Promise<string[]> {
    let taken: string[] = [];
    await this.#conn.transaction(async (session) => {
      await this.#records.updateMany({ _id: { $in: ids }, claim: null }, { $set: { claim } }, { session });
      const mine = await this.#records.find({ _id: { $in: ids }, claim }, { session, projection: { _id: 1 } }).toArray();
      const claimed = new Set(mine.map((doc) => doc._id));
      taken = ids.filter((id) => !claimed.has(id));
      // All or none: a send refused for one upload leaves the others free for the next.
      if (taken.length > 0) await session.abortTransaction();
    }).catch((error: Error) => {
      if (taken.length === 0) throw error;
    });
    return taken;
  }

  async release(ids: string[], claim: string): Promise<void> {
    await this.#records.updateMany({ _id: { $in: ids }, claim }, { $set: { claim: null } });
  }

  async bytesSince(side: MessageSide, uploaderId: string, since: string): Promise<number> {
    const [sum] = await this.#records
      .aggregate<{ bytes: number }>([
        { $match: { uploader_id: uploaderId, uploader_side: side, created_at: { $gte: since } } },
        { $group: { _id: null, bytes: { $sum: '$size' } } },
      ])
      .toArray();
    return sum?.bytes ?? 0;
  }

  async removeUnclaimedBefore(before: string): Promise<number> {
    const docs = await this.#records.find({ claim: null, created_at: { $lt: before } }, { projection: { _id: 1 } }).toArray();
    for (const { _id } of docs) await this.#remove(_id);
    return docs.length;
  }

  async listOfUploader(uploaderId: string): Promise<StoredAttachment[]> {
    const docs = await this.#records.find({ uploader_id: uploaderId }).sort({ created_at: 1, _id: 1 }).toArray();
    return docs.map(toRecord);
  }

  async removeOfUploader(uploaderId: string): Promise<number> {
    const docs = await this.#records.find({ uploader_id: uploaderId }, { projection: { _id: 1 } }).toArray();
    for (const { _id } of docs) await this.#remove(_id);
    return docs.length;
  }

  async #remove(id: string): Promise<void> {
    await this.#records.deleteOne({ _id: id });
    await this.#removeFiles(id);
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }
}

