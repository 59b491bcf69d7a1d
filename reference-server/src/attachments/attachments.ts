import type { Readable } from 'node:stream';
import type { Attachment, ExportedAttachment } from '@motoreach/protocol';
import { ChatError } from '../chat/errors.js';
import { callerKey, isParticipant, type Identity, type Message, type MessageSide, type RoomRef, sideOf } from '../chat/types.js';
import { randomId } from '../ids.js';
import type { KeyedRateLimiter } from '../rate-limit.js';
import { processUpload } from './content.js';
import { FairQueue } from './fair-queue.js';
import type { AttachmentRef } from './refs.js';
import type { AttachmentStore, StoredAttachment } from './store.js';
import type { AttachmentUrls, Variant } from './urls.js';

/** A message names at most this many uploads (contract 1.2). */
export const MAX_ATTACHMENTS = 10;

/** Uploads no message named are removed this long after they were made. */
export const UNCLAIMED_TTL_MS = 24 * 3600 * 1000;

const DAY_MS = 24 * 3600 * 1000;

/** Uploads one person may have on their way at once, body and processing: the SDK sends one at a time per room. */
export const OPEN_UPLOADS_PER_PERSON = 4;

/**
 * Images processed at once. sharp runs each on a thread of libuv's pool (4 unless UV_THREADPOOL_SIZE
 * says otherwise), two per image (the photo and its thumbnail), and that pool also does this
 * server's file I/O: half of it is left free for that.
 */
const IMAGES_AT_ONCE = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 4));

export interface AttachmentLimits {
  attachmentMaxBytes: number;
  attachmentUploadsPerHour: number;
  attachmentBytesPerDay: number;
}

function uploaderSide(identity: Identity): MessageSide {
  return isParticipant(identity) ? sideOf(identity.role) : 'system';
}


/**
 * Files in conversations: uploads checked and stored, claimed by the message that names them, and
 * handed out under signed, expiring URLs.
 */
export class Attachments {
  constructor(
    readonly store: AttachmentStore,
    private readonly urls: AttachmentUrls,
    private readonly limits: AttachmentLimits,
    private readonly uploadLimiter: KeyedRateLimiter | null,
    private readonly now: () => number = Date.now,
  ) {}

  /** Each person's uploads on their way: see OPEN_UPLOADS_PER_PERSON. */
  readonly #open = new Map<string, number>();
  /** Image work, the people taking turns: one person's ten photos do not hold up everyone else's. */
  readonly #processing = new FairQueue(IMAGES_AT_ONCE);

  get maxBytes(): number {
    return this.limits.attachmentMaxBytes;
  }

  /** The wire's form of a stored attachment, with fresh URLs. */
  present(ref: AttachmentRef): Attachment {
    const { id, kind, name, content_type, size, width, height } = ref;
    return {
      id,
      kind,
      name,
      content_type,
      size,
      ...(width != null && { width }),
      ...(height != null && { height }),
      url: this.urls.sign(id, 'file'),
      ...(kind === 'image' && { thumbnail_url: this.urls.sign(id, 'thumbnail') }),
    };
  }

  #presentRecord(record: StoredAttachment): Attachment {
    return this.present({ ...record, width: record.width ?? undefined, height: record.height ?? undefined });
  }

  /** The message with fresh URLs for what it carries (URLs expire: every frame and page gets new ones). */
  withUrls<M extends Message | null>(message: M): M {
    if (!message?.attachments) return message;
    return { ...message, attachments: message.attachments.map((a) => this.present(a)) };
  }

  /** The upload this caller already made with `clientId` in the room: a retry is answered without its body. */
  async repeated(identity: Identity, room: RoomRef, clientId: string): Promise<Attachment | null> {
    const record = await this.store.byClientId(room.id, uploaderSide(identity), identity.id, clientId);
    return record && this.#presentRecord(record);
  }

  /**
   * Refuses an upload over the size limit or the caller's budgets before its body is read.
   * `declared`: its Content-Length, when given.
   */
  async admit(identity: Identity, declared: number | null): Promise<void> {
    if (declared !== null && declared > this.maxBytes) throw this.tooLarge();
    if (this.uploadLimiter && !this.uploadLimiter.take(callerKey(identity))) {
      throw new ChatError('rate_limited', 'too many uploads; try again later', Math.ceil(3600 / this.limits.attachmentUploadsPerHour));
    }
    if (this.limits.attachmentBytesPerDay > 0) {
      const since = new Date(this.now() - DAY_MS).toISOString();
      const used = await this.store.bytesSince(uploaderSide(identity), identity.id, since);
      if (used + (declared ?? 0) > this.limits.attachmentBytesPerDay) {
        throw new ChatError('rate_limited', 'the daily upload budget is spent; try again later', 3600);
      }
    }
  }

  /**
   * Counts an upload as on its way until the returned function is called (once); refused (transient:
   * the client retries) while its person has OPEN_UPLOADS_PER_PERSON others on their way.
   */
  begin(identity: Identity): () => void {
    const key = callerKey(identity);
    const open = this.#open.get(key) ?? 0;
    if (open >= OPEN_UPLOADS_PER_PERSON) {
      throw new ChatError('rate_limited', `at most ${OPEN_UPLOADS_PER_PERSON} uploads at once; send the next when one is done`, 1);
    }
    this.#open.set(key, open + 1);
    return () => {
      const left = this.#open.get(key)! - 1;
      if (left === 0) this.#open.delete(key);
      else this.#open.set(key, left);
    };
  }

  tooLarge(): ChatError {
    return new ChatError('too_large', `the file is over the limit of ${this.maxBytes} bytes`);
  }

  /** Checks, converts and stores an upload; `created` false when a racing upload with the same client_id won. */
  async upload(identity: Identity, room: RoomRef, bytes: Buffer, name: string | undefined, clientId: string | null): Promise<{ attachment: Attachment; created: boolean }> {
    const processed = await this.#processing.run(callerKey(identity), () => processUpload(bytes, name));
    const record: StoredAttachment = {
      id: `a_${randomId()}`,
      request_id: room.id,
      uploader_side: uploaderSide(identity),
      uploader_id: identity.id,
      client_id: clientId,
      kind: processed.kind,
      name: processed.name,
      content_type: processed.content_type,
      size: processed.bytes.length,
      width: processed.width,
      height: processed.height,
      thumbnail: processed.thumbnail !== null,
      created_at: new Date(this.now()).toISOString(),
      claim: null,
    };
    // A full disk or a lost database fails as StoreUnavailableError: answered 503, retried by the client.
    const stored = await this.store.put(record, processed.bytes, processed.thumbnail);
    return { attachment: this.#presentRecord(stored), created: stored.id === record.id };
  }

  /**
   * Takes the uploads a send names, for that send: they must be the sender's own, in the room, and
   * unused or claimed by this same send before (a retry with its client_id). Answers them as the
   * message carries them.
   */
  async claim(identity: Identity, room: RoomRef, ids: string[], clientId: string | null): Promise<{ attachments: Attachment[]; release: () => Promise<void> }> {
    if (ids.length > MAX_ATTACHMENTS) throw new ChatError('invalid', `attachments: at most ${MAX_ATTACHMENTS} per message`);
    if (new Set(ids).size !== ids.length) throw new ChatError('invalid', 'attachments: an upload is named twice');
    const side = uploaderSide(identity);
    const records: StoredAttachment[] = [];
    for (const id of ids) {
      const record = await this.store.get(id);
      if (!record || record.request_id !== room.id) throw new ChatError('invalid', `attachments: ${id} is no upload of this service request`);
      if (record.uploader_id !== identity.id || record.uploader_side !== side) {
        throw new ChatError('forbidden', `attachments: ${id} is another person's upload; a message carries only its sender's own`);
      }
      records.push(record);
    }
    // A send without a client_id cannot be retried as the same send: its claim is its own.
    const claim = `${callerKey(identity)}\n${clientId ?? `once:${randomId()}`}`;
    const taken = await this.store.claim(ids, claim);
    if (taken.length > 0) throw new ChatError('conflict', `attachments: ${taken.join(', ')} already sent in another message; upload the file again`);
    return { attachments: records.map((record) => this.#presentRecord(record)), release: () => this.store.release(ids, claim) };
  }

  /** The bytes behind a signed URL: 403 for a URL altered or expired, 404 for a file that is gone. */
  async open(id: string, variant: Variant, expires: string | undefined, signature: string | undefined): Promise<{ record: StoredAttachment; body: Readable }> {
    const check = this.urls.check(id, variant, expires, signature);
    if (check === 'bad_signature') throw new ChatError('forbidden', 'this attachment link is not valid');
    if (check === 'expired') throw new ChatError('forbidden', 'this attachment link has expired; fetch the message again for a fresh one');
    const record = await this.store.get(id);
    const body = record && (variant === 'file' || record.thumbnail) ? await this.store.open(id, variant) : null;
    if (!record || !body) throw new ChatError('not_found', 'this attachment no longer exists');
    return { record, body };
  }

  /** Removes uploads no message named within a day; answers how many. */
  sweep(): Promise<number> {
    return this.store.removeUnclaimedBefore(new Date(this.now() - UNCLAIMED_TTL_MS).toISOString());
  }

  async exportOf(userId: string): Promise<ExportedAttachment[]> {
    const records = await this.store.listOfUploader(userId);
    return records.map((record) => ({ ...this.#presentRecord(record), request_id: record.request_id, created_at: record.created_at, used: record.claim !== null }));
  }

  eraseOf(userId: string): Promise<number> {
    return this.store.removeOfUploader(userId);
  }
}
