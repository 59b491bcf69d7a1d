import type { MessageSide } from '../chat/types.js';

function keyOf(requestId: string, side: MessageSide, senderId: string, clientId: string): string {
  return `${requestId}\n${side}\n${senderId}\n${clientId}`;
}

/**
 * The client_ids of the messages stored since the store last copied them into
 * its `client_ids` table, with their seq. The table is what makes a retried
 * send answer the stored message, in one lookup whatever the size of the room;
 * written one message at a time it would cost each append a page in a random
 * place of the file, a copy of a few thousand at once shares those pages
 * (docs/benchmarks.md). Until they are copied, they are looked up here. The
 * store loads this from the messages past the last copy when it opens (only
 * the process holding the data directory's lock writes, so that is all of
 * them), and empties it when a copy commits. Additions since the last
 * `commit()` are undone by `rollback()`, with the transaction that made them.
 */
export class RecentClientIds {
  readonly #seqs = new Map<string, number>();
  #uncommitted: string[] = [];
  #copiedInTransaction = false;

  get size(): number {
    return this.#seqs.size;
  }

  /** The seq of the message `senderId` stored in the room with this client_id, if it is not copied yet. */
  seqOf(requestId: string, side: MessageSide, senderId: string, clientId: string): number | undefined {
    return this.#seqs.get(keyOf(requestId, side, senderId, clientId));
  }

  add(requestId: string, side: MessageSide, senderId: string, clientId: string, seq: number): void {
    const key = keyOf(requestId, side, senderId, clientId);
    this.#seqs.set(key, seq);
    this.#uncommitted.push(key);
  }

  /** Everything added so far, this transaction's additions included, was copied into the table in this transaction. */
  copied(): void {
    this.#copiedInTransaction = true;
  }

  commit(): void {
    if (this.#copiedInTransaction) this.#seqs.clear();
    this.#copiedInTransaction = false;
    this.#uncommitted = [];
  }

  rollback(): void {
    for (const key of this.#uncommitted) this.#seqs.delete(key);
    this.#copiedInTransaction = false;
    this.#uncommitted = [];
  }
}
