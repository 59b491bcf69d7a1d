import Database from 'better-sqlite3';
import type { DeliverySource, EventPlace, PendingEvent } from '../webhooks/events.js';

/** Events held in memory, across rooms; past it a room's further events are read from the file. */
const HELD_EVENTS = 10_000;

/** Where a room's pending events lie, as the delivery thread knows them. */
interface ReaderRoom {
  /** No pending event of the room is below it: the ones delivered are passed, deleted or not yet. */
  from: number;
  tail: number;
  dueAt: number;
  /** The head's failed attempts, known here before the store's copy is written. */
  head: { position: number; attempts: number } | null;
  /**
   * The room's pending events from its oldest on, as the server recorded them, while they all are
   * (null: some are only in the file, from a start with a backlog or past HELD_EVENTS, and the
   * room's events are read from there until it has none left).
   */
  held: PendingEvent[] | null;
}

/** What the delivery thread asks the store's writer to write, in the transaction of its next turn. */
export interface OutboxChanges {
  removed: EventPlace[];
  retried: Array<EventPlace & { attempts: number; dueAt: number }>;
}

/**
 * The SQLite outbox as the delivery thread sees it. The server hands over each commit's events as it
 * recorded them, and they are sent from memory: a second connection reading all the time would keep
 * the WAL from starting over (a checkpoint takes in only the frames no reader may still need), and
 * the main thread would end up checkpointing. The read-only connection reads only what is not held:
 * the backlog found at start, and the events past HELD_EVENTS. It writes nothing: a delivered event,
 * or a failed attempt's next time, is handed to `write`, and the server's connection writes it in
 * the transaction of its next turn, as it did when delivery ran on the main thread. Until then this
 * reader's memory passes the event, so it is not sent twice; a crash before the write sends it
 * again after the restart, under the same webhook-id (at least once).
 */
export class SqliteEventReader implements DeliverySource {
  readonly #db: Database.Database;
  readonly #rooms = new Map<string, ReaderRoom>();
  readonly #write: (changes: OutboxChanges) => void;
  #last = 0;
  #held = 0;
  #changes: OutboxChanges | null = null;
  #listener: (() => void) | null = null;
  readonly #since;
  readonly #headOf;
  readonly #heldAtMost: number;

  /** `heldAtMost`: events held in memory, across rooms (tests lower it). */
  constructor(file: string, write: (changes: OutboxChanges) => void, heldAtMost = HELD_EVENTS) {
    this.#heldAtMost = heldAtMost;
    this.#db = new Database(file, { readonly: true, fileMustExist: true });
    this.#db.pragma('busy_timeout = 5000');
    this.#write = write;
    this.#since = this.#db.prepare<[number], { position: number; request_id: string; due_at: number }>(
      'SELECT position, request_id, due_at FROM webhook_events WHERE position > ? ORDER BY position',
    );
    this.#headOf = this.#db.prepare<{ room: string; from: number; tail: number }, PendingEvent>(
      `SELECT position, id, request_id, body, created_at, attempts FROM webhook_events
       WHERE position >= @from AND position <= @tail AND request_id = @room ORDER BY position LIMIT 1`,
    );
    // The backlog: where each room's events lie, read from the file when their turn comes.
    for (const row of this.#since.iterate(0)) {
      const known = this.#rooms.get(row.request_id);
      if (known) known.tail = row.position;
      else this.#rooms.set(row.request_id, { from: row.position, tail: row.position, dueAt: row.due_at, head: null, held: null });
      this.#last = row.position;
    }
  }

  /** The events of a commit, in recording order; the ones the backlog read already are passed. */
  recorded(events: PendingEvent[]): void {
    for (const event of events) {
      if (event.position <= this.#last) continue;
      this.#last = event.position;
      let known = this.#rooms.get(event.request_id);
      if (!known) {
        known = { from: event.position, tail: event.position, dueAt: 0, head: null, held: [] };
        this.#rooms.set(event.request_id, known);
      }
      known.tail = event.position;
      if (known.held && this.#held >= this.#heldAtMost) {
        this.#held -= known.held.length;
        known.held = null;
      }
      if (known.held) {
        known.held.push(event);
        this.#held++;
      }
    }
    this.#listener?.();
  }

  onRecorded(listener: () => void): void {
    this.#listener = listener;
  }

  async due(now: number, limit: number, busy: ReadonlySet<string>): Promise<PendingEvent[]> {
    const heads: PendingEvent[] = [];
    for (const [room, known] of this.#rooms) {
      if (heads.length === limit) break;
      if (known.dueAt > now || busy.has(room)) continue;
      const head = known.held ? known.held[0] : this.#headOf.get({ room, from: known.from, tail: known.tail });
      if (!head) {
        this.#rooms.delete(room);
        continue;
      }
      known.from = head.position;
      heads.push(known.head?.position === head.position ? { ...head, attempts: known.head.attempts } : head);
    }
    return heads.sort((a, b) => a.position - b.position);
  }

  async remove(event: EventPlace): Promise<void> {
    this.#pending().removed.push({ id: event.id, request_id: event.request_id, position: event.position });
    const known = this.#rooms.get(event.request_id);
    if (!known) return;
    known.from = event.position + 1;
    known.dueAt = 0;
    known.head = null;
    if (known.held?.[0]?.position === event.position) {
      known.held.shift();
      this.#held--;
    }
    if (known.from > known.tail) this.#rooms.delete(event.request_id);
  }

  async retryAt(event: EventPlace, attempts: number, dueAt: number): Promise<void> {
    this.#pending().retried.push({ id: event.id, request_id: event.request_id, position: event.position, attempts, dueAt });
    const known = this.#rooms.get(event.request_id);
    if (!known) return;
    known.dueAt = dueAt;
    known.head = { position: event.position, attempts };
  }

  /** The changes of one turn go to the writer together, at the turn's end. */
  #pending(): OutboxChanges {
    if (this.#changes) return this.#changes;
    const changes: OutboxChanges = { removed: [], retried: [] };
    this.#changes = changes;
    setImmediate(() => this.flush());
    return changes;
  }

  /** Hands the changes not yet handed over to the writer. */
  flush(): void {
    const changes = this.#changes;
    this.#changes = null;
    if (changes) this.#write(changes);
  }

  close(): void {
    this.flush();
    this.#db.close();
  }
}
