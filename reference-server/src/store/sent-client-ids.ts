import type { Side } from '../chat/types.js';

/** One stored message that carried a client_id. */
export interface SentClientId {
  side: Side;
  sender_id: string;
  client_id: string;
  seq: number;
}

interface LoadedRoom {
  /** seq by side, sender and client_id. */
  seqs: Map<string, number>;
  lastUse: number;
}

function keyOf(side: Side, senderId: string, clientId: string): string {
  return `${side}\n${senderId}\n${clientId}`;
}

/**
 * Which client_ids each recently written room has stored, and at which seq:
 * what makes a retried send answer the stored message instead of a second one.
 * A unique index did this before, and it cost every append a page write in a
 * random place of the file: about a third of the append's time and of its WAL
 * bytes (docs/benchmarks.md). Only the process holding the data directory's
 * lock writes, so what it has loaded from the messages table and added since
 * is the whole truth. A room is loaded on its first append after start or
 * after it was evicted; past `maxEntries`, the least recently used rooms are
 * evicted first. Additions since the last `commit()` are undone by
 * `rollback()`, with the transaction that made them.
 */
export class SentClientIds {
  readonly #rooms = new Map<string, LoadedRoom>();
  #entries = 0;
  /** Counts uses, so that eviction can tell the least recently used rooms without reordering the map on each use. */
  #uses = 0;
  #uncommitted: Array<[requestId: string, key: string]> = [];

  constructor(
    private readonly load: (requestId: string) => Iterable<SentClientId>,
    private readonly maxEntries = 100_000,
  ) {}

  /** The seq of the message `senderId` already stored in the room with this client_id. */
  seqOf(requestId: string, side: Side, senderId: string, clientId: string): number | undefined {
    return this.#room(requestId).seqs.get(keyOf(side, senderId, clientId));
  }

  add(requestId: string, side: Side, senderId: string, clientId: string, seq: number): void {
    const key = keyOf(side, senderId, clientId);
    this.#room(requestId).seqs.set(key, seq);
    this.#entries += 1;
    this.#uncommitted.push([requestId, key]);
  }

  commit(): void {
    this.#uncommitted = [];
  }

  rollback(): void {
    for (const [requestId, key] of this.#uncommitted) {
      if (this.#rooms.get(requestId)?.seqs.delete(key)) this.#entries -= 1;
    }
    this.#uncommitted = [];
  }

  #room(requestId: string): LoadedRoom {
    let room = this.#rooms.get(requestId);
    if (!room) {
      const seqs = new Map<string, number>();
      for (const sent of this.load(requestId)) seqs.set(keyOf(sent.side, sent.sender_id, sent.client_id), sent.seq);
      this.#entries += seqs.size;
      if (this.#entries > this.maxEntries) this.#evict();
      room = { seqs, lastUse: 0 };
      this.#rooms.set(requestId, room);
    }
    room.lastUse = ++this.#uses;
    return room;
  }

  /** Drops the least recently used rooms until the entries fit; called before a newly loaded room joins. */
  #evict(): void {
    const byUse = [...this.#rooms].sort(([, a], [, b]) => a.lastUse - b.lastUse);
    for (const [requestId, room] of byUse) {
      if (this.#entries <= this.maxEntries) return;
      this.#rooms.delete(requestId);
      this.#entries -= room.seqs.size;
    }
  }
}
