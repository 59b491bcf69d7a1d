import Database from 'better-sqlite3';
import type { ServerOptions } from '../../src/config.js';
import type { Principal } from '../../src/chat/types.js';
import type { Logger } from '../../src/logger.js';
import type { AppendResult, ChatStore, InboxQuery, NewMessage, NewRoom,
  RedactedMessage, RoomPut, PageQuery } from '../../src/store/store.js';
import { startTestServer, tempDir, type TestServer } from './harness.js';
import { openTestStore } from './test-store.js';

/**
 * A real store with faults on cue, for the fault-injection tests: chosen calls
 * fail (once, N times, or for a while) instead of reaching the store, or run
 * and then have their answer held until the test releases it.
 */

export type StoreCall = Exclude<keyof ChatStore, 'close' | 'outbox' | 'onCommit'>;

/** What the SQLite driver throws when the disk is full; `code` picks another SQLite failure. */
export function sqliteError(code = 'SQLITE_FULL', message = 'database or disk is full'): Error {
  return new Database.SqliteError(message, code);
}

/** A call held after it ran: `reached` resolves with its arguments; the caller gets the answer on release(). */
export interface HeldCall {
  reached: Promise<unknown[]>;
  release(): void;
}

type Match = (...args: any[]) => boolean;

interface Fault {
  method: StoreCall;
  match: Match;
  remaining: number;
  apply(args: unknown[], run: () => Promise<unknown>): Promise<unknown>;
}

export class FaultyStore implements ChatStore {
  readonly #faults: Fault[] = [];
  /** Calls that reached the real store, by method. */
  readonly calls: Record<StoreCall, number> = {
    createRoom: 0,
    putRoom: 0,
    getRoom: 0,
    listRooms: 0,
    appendMessage: 0,
    listMessages: 0,
    advanceCursor: 0,
    unread: 0,
    exportMessages: 0,
    redactMessagesOf: 0,
  };

  constructor(readonly inner: ChatStore) {}

  /** The next `times` calls of `method` that `match` fail with `error()`. */
  fail(method: StoreCall, error: () => unknown, options: { times?: number; match?: Match } = {}): void {
    this.#faults.push({
      method,
      match: options.match ?? (() => true),
      remaining: options.times ?? 1,
      apply: () => Promise.reject(error()),
    });
  }

  /** Every call of `method` fails with `error()` until the returned function is called. */
  failWhile(method: StoreCall, error: () => unknown): () => void {
    const fault: Fault = { method, match: () => true, remaining: Infinity, apply: () => Promise.reject(error()) };
    this.#faults.push(fault);
    return () => {
      fault.remaining = 0;
    };
  }

  /** The next call of `method` that `match` runs on the real store; its answer waits for release(). */
  hold(method: StoreCall, match: Match = () => true): HeldCall {
    let reached!: (args: unknown[]) => void;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: HeldCall = { reached: new Promise((resolve) => (reached = resolve)), release };
    this.#faults.push({
      method,
      match,
      remaining: 1,
      async apply(args, run) {
        const settled = run().then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        await settled;
        reached(args);
        await released;
        const outcome = await settled;
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      },
    });
    return held;
  }

  #call<T>(method: StoreCall, args: unknown[], run: () => Promise<T>): Promise<T> {
    const counted = () => {
      this.calls[method]++;
      return run();
    };
    const fault = this.#faults.find((f) => f.method === method && f.remaining > 0 && f.match(...args));
    if (!fault) return counted();
    fault.remaining--;
    return fault.apply(args, counted) as Promise<T>;
  }

  createRoom(input: NewRoom) {
    return this.#call('createRoom', [input], () => this.inner.createRoom(input));
  }

  putRoom(input: RoomPut) {
    return this.#call('putRoom', [input], () => this.inner.putRoom(input));
  }
  getRoom(id: string) {
    return this.#call('getRoom', [id], () => this.inner.getRoom(id));
  }
  listRooms(principal: Principal, query: InboxQuery) {
    return this.#call('listRooms', [principal, query], () => this.inner.listRooms(principal, query));
  }
  appendMessage(input: NewMessage): Promise<AppendResult> {
    return this.#call('appendMessage', [input], () => this.inner.appendMessage(input));
  }
  listMessages(requestId: string, query: PageQuery) {
    return this.#call('listMessages', [requestId, query], () => this.inner.listMessages(requestId, query));
  }
  advanceCursor(requestId: string, side: 'user' | 'workshop', seq: number | null, holder?: string) {
    return this.#call('advanceCursor', [requestId, side, seq], () => this.inner.advanceCursor(requestId, side, seq, holder));
  }
  unread(principal: Principal) {
    return this.#call('unread', [principal], () => this.inner.unread(principal));
  }
  exportMessages(senderId: string) {
    this.calls.exportMessages++;
    return this.inner.exportMessages(senderId);
  }
  redactMessagesOf(senderId: string, onRedacted: (part: RedactedMessage[]) => void) {
    return this.#call('redactMessagesOf', [senderId], () => this.inner.redactMessagesOf(senderId, onRedacted));
  }
  close() {
    return this.inner.close();
  }
}

/** The real server on a real store (SQLite, or MongoDB in that pass), wrapped in a FaultyStore the test controls. */
export async function startFaultyServer(
  options: ServerOptions = {},
  logger?: Logger,
): Promise<{ server: TestServer; store: FaultyStore }> {
  const dataDir = options.dataDir ?? tempDir();
  const store = new FaultyStore(await openTestStore(dataDir));
  const server = await startTestServer({ ...options, dataDir }, { store, ...(logger ? { logger } : {}) });
  return { server, store };
}
