import { backoffDelay } from './backoff.js';
import { isFinal, toChatError } from './errors.js';
import { contiguousEnd } from './merge.js';
import type { Emitter } from './emitter.js';
import type { ChatMessage, ReconnectOptions, RoomEvents } from './types.js';
import type { Message, MessagesPage, ReadyFrame } from './wire.js';

const PAGE = 50;
const GAP_PAGE = 100;

/** @internal What the history sync needs from its room. */
export interface SyncHost {
  reconnect: Required<ReconnectOptions>;
  // A page of the room's stored messages (`?limit=...&before=...|after=...`).
  page(query: string): Promise<MessagesPage>;
  // The stored messages the room holds, ascending by seq.
  held(): readonly ChatMessage[];
  // Merges messages into the room; `live` ones are announced as new. Answers those not held before.
  insert(messages: readonly Message[], live: boolean): ChatMessage[];
  // The room's events: `resync` when messages that came after `after` were fetched to fill a gap,
  // `error` for a fetch that failed and will be tried again.
  emit: Emitter<RoomEvents>['emit'];
  // The history is whole again: the room's last step of a (re)connect.
  synced(): void;
  // Refused for good: the room stops.
  fail(e: ReturnType<typeof toChatError>): void;
}

/**
 * The room's history without holes: after every (re)connect, the first time the newest page, later
 * everything after the last seq held without a hole, whatever happened meanwhile; and older pages on
 * request. The socket asks for those in its URL (`query()`), and `ready` carries them (a reference
 * server extension); what it does not carry (all of it from other servers, or more than a page) is
 * fetched page by page. A fetch that fails for a passing reason (a 429, a 502 from a proxy) is tried
 * again with backoff while the socket it was for lasts; a final refusal stops the room.
 */
export class HistorySync {
  hasOlder = false;
  #synced = false;
  // Bumped when the socket goes down: a fetch for the old socket stops retrying (the next `ready` starts its own).
  #epoch = 0;
  #wake: () => void = () => {};
  #chain: Promise<void> = Promise.resolve();
  readonly #host: SyncHost;

  constructor(host: SyncHost) {
    this.#host = host;
  }

  // The rest of the socket URL's query, asked at each attempt to open one: `ready` is to carry the
  // first page the resume asks for (`#resume`), the newest or the one after the held messages.
  query(): string {
    return this.#synced ? `&history=${GAP_PAGE}&after=${contiguousEnd(this.#host.held())}` : `&history=${PAGE}`;
  }

  // A socket is ready (`ready.last_seq` is the server's newest seq). Resumes run one after the other.
  resume(ready: ReadyFrame): Promise<void> {
    const epoch = this.#epoch;
    return (this.#chain = this.#chain.then(() => this.#resume(ready, epoch)));
  }

  // The socket is gone: a resume for it stops.
  down(): void {
    this.#epoch++;
    this.#wake();
  }

  // Another person's room now: the next resume starts from the newest page.
  reset(): void {
    this.#synced = this.hasOlder = false;
  }

  async older(limit = PAGE): Promise<ChatMessage[]> {
    const first = this.#host.held()[0]?.seq;
    if (!first) return [];
    const page = await this.#host.page(`before=${first}&limit=${limit}`);
    this.hasOlder = page.has_more;
    return this.#host.insert(page.messages, false);
  }

  async #resume({ last_seq: lastSeq, messages = [], has_more }: ReadyFrame, epoch: number): Promise<void> {
    const host = this.#host;
    // `ready` carried what `query()` asked for: the newest page, or what came after the held messages.
    if (!this.#synced) {
      this.hasOlder = !!has_more;
      host.insert(messages, false);
      this.#synced = true;
      messages = [];
    }
    const from = contiguousEnd(host.held());
    let fetched = host.insert(messages, true).length;
    for (let attempt = 0; epoch === this.#epoch; ) {
      try {
        // More than `ready` could carry: fetched page by page.
        let after = contiguousEnd(host.held());
        while (lastSeq > after) {
          const page = await host.page(`after=${after}&limit=${GAP_PAGE}`);
          fetched += host.insert(page.messages, true).length;
          after = page.messages[page.messages.length - 1]?.seq ?? lastSeq;
          if (!page.has_more) break;
        }
        if (after > from) host.emit('resync', { after: from, fetched });
        return host.synced();
      } catch (err) {
        if (epoch !== this.#epoch) return;
        const e = toChatError(err);
        if (isFinal(e)) return host.fail(e);
        host.emit('error', e);
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, backoffDelay(attempt++, host.reconnect));
          this.#wake = () => (clearTimeout(timer), wake());
        });
      }
    }
  }
}
