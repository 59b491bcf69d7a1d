import type { OutboxFile } from './files.js';
import { randomId } from './random.js';
import { noop } from './noop.js';

// A message that has been written but not yet confirmed stored by the server.
export interface OutboxEntry {
  client_id: string;
  body: string;
  created_at: string;
  data?: Record<string, unknown>;
  /** Files it carries, uploaded before it is sent. */
  files?: OutboxFile[];
}

// Where unsent messages survive a page reload. `key` names the backend, the principal and the room:
// `{baseUrl}|{side}:{id}|{requestId}`, so that two users of one device never see each other's drafts.
// `clear` (optional, for storages written before it existed) removes every key that starts with
// `keyPrefix` (`{baseUrl}|{side}:{id}|`: one person on one server), for `ChatClient.signOut()`.
export interface OutboxStorage {
  load(key: string): OutboxEntry[] | Promise<OutboxEntry[]>;
  save(key: string, entries: OutboxEntry[]): void | Promise<void>;
  clear?(keyPrefix: string): void | Promise<void>;
}

export function memoryOutbox(): OutboxStorage {
  const data = new Map<string, OutboxEntry[]>();
  return {
    load: (key) => data.get(key)?.slice() ?? [],
    save: (key, entries) => void (entries.length ? data.set(key, entries.slice()) : data.delete(key)),
    clear: (keyPrefix) => {
      for (const key of data.keys()) if (key.startsWith(keyPrefix)) data.delete(key);
    },
  };
}

/**
 * Each page (tab) writes its own key, `prefix + key + "#" + tabId`, so tabs never overwrite each
 * other. A tab holds a Web Lock named after its id for as long as it lives; loading adopts the keys
 * of tabs whose lock is gone (closed while messages were unsent): their entries are written under
 * this tab's key before the orphaned keys are removed, so a crash in between doubles, never loses
 * (the server stores a client_id once). Without Web Locks every other key is adopted.
 */
export function localStorageOutbox(prefix = 'motoreach-outbox:'): OutboxStorage {
  const locks = globalThis.navigator?.locks;
  if (!tab) {
    // Its own statement: inside `locks?.request(...)` the id would not be made where Web Locks are missing.
    tab = randomId();
    void locks?.request(tab, () => new Promise(noop));
  }
  const save = (key: string, entries: OutboxEntry[]): void => {
    const own = `${prefix}${key}#${tab}`;
    entries.length ? localStorage.setItem(own, JSON.stringify(entries)) : localStorage.removeItem(own);
  };
  return {
    async load(key) {
      const live = new Set((await locks?.query())?.held?.map((l) => l.name));
      const start = `${prefix}${key}#`;
      const keys = Object.keys(localStorage).filter((k) => k === start + tab || (k.startsWith(start) && !live.has(k.slice(start.length))));
      const all: OutboxEntry[] = keys.flatMap((k) => JSON.parse(localStorage.getItem(k)!));
      save(key, all);
      for (const k of keys) if (k !== start + tab) localStorage.removeItem(k);
      return all;
    },
    save,
    // Every tab's key of that person, open tabs' too: a sign-out leaves nothing of theirs on the device.
    clear(keyPrefix) {
      for (const k of Object.keys(localStorage)) if (k.startsWith(prefix + keyPrefix)) localStorage.removeItem(k);
    },
  };
}

// One id (and lock, named by the id) per page, not per storage: a client made later in the same
// page (a widget put back, a new client for a refreshed session) finds what an earlier one left.
let tab: string | undefined;

/**
 * Keeps the pending messages of one room in storage. Nothing is written before `open()` has read
 * what an earlier page left (a write before that would overwrite it), and writes are coalesced to
 * one per tick, so a burst of sends does not serialise the whole queue once per message.
 */
export class Outbox {
  #key: string | undefined;
  #dirty = false;
  // Set once the room is done with this outbox (another person signed in, or this one signed out):
  // all it still writes under its key.
  #kept: OutboxEntry[] | undefined;
  readonly #storage: OutboxStorage;
  readonly #pending: () => OutboxEntry[];
  readonly #onError: (e: unknown) => void;

  constructor(storage: OutboxStorage, pending: () => OutboxEntry[], onError: (e: unknown) => void) {
    this.#storage = storage;
    this.#pending = pending;
    this.#onError = onError;
  }

  get ready(): boolean {
    return this.#key !== undefined;
  }

  // Entries stored by an earlier page (or another tab that has closed). From here on, what
  // `pending()` returns is written under `key`, merged with them by the caller.
  // Storage that cannot be read is reported, and then written over: the room must not stall on it.
  async open(key: string): Promise<OutboxEntry[]> {
    let saved: OutboxEntry[] = [];
    try {
      saved = await this.#storage.load(key);
    } catch (e) {
      this.#onError(e);
    }
    this.#key = key;
    // Let go of while loading: what was stored stays, with what the room handed back. Nothing handed
    // back (a sign-out, or nothing new) writes nothing: storage keeps what it has.
    if (this.#kept?.length) this.keep([...saved, ...this.#kept]);
    return saved;
  }

  // The room is done with this outbox: from now on it writes `entries` only.
  keep(entries: OutboxEntry[]): void {
    this.#kept = entries;
    this.persist();
  }

  persist(): void {
    if (this.#key === undefined || this.#dirty) return;
    this.#dirty = true;
    queueMicrotask(() => {
      this.#dirty = false;
      Promise.resolve()
        .then(() => this.#storage.save(this.#key!, this.#kept ?? this.#pending()))
        .catch(this.#onError);
    });
  }
}
