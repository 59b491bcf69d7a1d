import type { Readable } from 'node:stream';
import type { MessageSide } from '../chat/types.js';
import type { Variant } from './urls.js';

/** An upload as stored: what the wire's Attachment is made from, and who may use it. */
export interface StoredAttachment {
  id: string;
  request_id: string;
  /** The uploader's side (`system`: the host's backend) and id: only they may attach it. */
  uploader_side: MessageSide;
  uploader_id: string;
  /** The upload's idempotency key, per room and uploader; null when none was given. */
  client_id: string | null;
  kind: 'image' | 'file';
  name: string;
  content_type: string;
  size: number;
  width: number | null;
  height: number | null;
  thumbnail: boolean;
  created_at: string;
  /**
   * The send that took it (its sender and client_id), set once: a message names only unclaimed
   * uploads, or those its own retry claimed. Null while unused; unused uploads are removed after a day.
   */
  claim: string | null;
}

/**
 * Where uploads live: files under DATA_DIR with SQLite, GridFS with MongoDB (so that every server of
 * a deployment serves every file). An upload is stored whole or not at all; storage that says no for
 * now (a full disk, a lost database) fails with StoreUnavailableError: the client retries the upload.
 */
export interface AttachmentStore {
  byClientId(requestId: string, side: MessageSide, uploaderId: string, clientId: string): Promise<StoredAttachment | null>;
  /** Stores the file, its thumbnail and its record; of two uploads with one client_id, the first stays and is answered. */
  put(record: StoredAttachment, file: Buffer, thumbnail: Buffer | null): Promise<StoredAttachment>;
  get(id: string): Promise<StoredAttachment | null>;
  /** The stored bytes, or null when they are gone (erased, swept). */
  open(id: string, variant: Variant): Promise<Readable | null>;
  /** Claims the uploads for one send; answers the ids another send claimed first (none claimed then). */
  claim(ids: string[], claim: string): Promise<string[]>;
  /** Frees the uploads `claim` took: its message was refused for good (the room closed). */
  release(ids: string[], claim: string): Promise<void>;
  /** Bytes the uploader stored since `since` (ISO time), for the daily budget. */
  bytesSince(side: MessageSide, uploaderId: string, since: string): Promise<number>;
  /** Removes the uploads no message claimed that were made before `before` (ISO time); answers how many. */
  removeUnclaimedBefore(before: string): Promise<number>;
  /** Every upload of the person, in any room and role (export). */
  listOfUploader(uploaderId: string): Promise<StoredAttachment[]>;
  /** Removes every upload of the person, files and records (erasure); answers how many. */
  removeOfUploader(uploaderId: string): Promise<number>;
  close(): Promise<void>;
}
