import { TICKET_TTL_MS } from './tickets.js';

/**
 * Where a ticket's use is recorded. With several servers it must be a place
 * every server sees (Redis, which they already share for fan-out): a ticket
 * issued by one server and used at another is honoured once in all.
 */
export interface SingleUse {
  /**
   * True the first time `id` is claimed, false ever after; `ttlMs` is how long the record must
   * last (at least the ticket's remaining life). Throws when the record cannot be reached.
   */
  claim(id: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One server: used ids in memory until their records' time is up. */
export class MemorySingleUse implements SingleUse {
  readonly #until = new Map<string, number>();
  #nextSweep = 0;

  async claim(id: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (now >= this.#nextSweep) this.#sweep(now);
    if ((this.#until.get(id) ?? 0) > now) return false;
    this.#until.set(id, now + ttlMs);
    return true;
  }

  /** Drops the records whose time is up, at most once per ticket lifetime: its cost is spread over that lifetime's claims. */
  #sweep(now: number): void {
    for (const [id, until] of this.#until) if (until <= now) this.#until.delete(id);
    this.#nextSweep = now + TICKET_TTL_MS;
  }

  async close(): Promise<void> {
    this.#until.clear();
  }
}
