// A message that has been written but not yet confirmed stored by the server.
export interface OutboxEntry {
  client_id: string;
  body: string;
  created_at: string;
}

// Where unsent messages survive a page reload. `key` is per room.
export interface OutboxStorage {
  load(key: string): OutboxEntry[] | Promise<OutboxEntry[]>;
  save(key: string, entries: OutboxEntry[]): void | Promise<void>;
}

export function memoryOutbox(): OutboxStorage {
  const data = new Map<string, OutboxEntry[]>();
  return {
    load: (key) => data.get(key)?.slice() ?? [],
    save: (key, entries) => void (entries.length ? data.set(key, entries.slice()) : data.delete(key)),
  };
}

export function localStorageOutbox(prefix = 'motoreach-outbox:'): OutboxStorage {
  return {
    load: (key) => JSON.parse(localStorage.getItem(prefix + key) ?? '[]') as OutboxEntry[],
    save: (key, entries) =>
      entries.length ? localStorage.setItem(prefix + key, JSON.stringify(entries)) : localStorage.removeItem(prefix + key),
  };
}

// Ordered unsent messages of one room. Writes to storage are coalesced to one per tick,
// so a burst of sends does not serialise the whole queue once per message.
export class Outbox {
  readonly entries: OutboxEntry[] = [];
  private dirty = false;

  constructor(
    private readonly key: string,
    private readonly storage: OutboxStorage | undefined,
    private readonly onError: (e: unknown) => void,
  ) {}

  // Entries stored by an earlier page, minus those already queued here.
  async load(): Promise<OutboxEntry[]> {
    if (!this.storage) return [];
    const saved = await this.storage.load(this.key);
    const fresh = saved.filter((s) => !this.has(s.client_id));
    this.entries.unshift(...fresh);
    return fresh;
  }

  has(clientId: string): boolean {
    return this.entries.some((e) => e.client_id === clientId);
  }

  add(entry: OutboxEntry): void {
    this.entries.push(entry);
    this.persist();
  }

  remove(clientId: string): boolean {
    const i = this.entries.findIndex((e) => e.client_id === clientId);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    this.persist();
    return true;
  }

  private persist(): void {
    if (!this.storage || this.dirty) return;
    this.dirty = true;
    queueMicrotask(() => {
      this.dirty = false;
      Promise.resolve()
        .then(() => this.storage!.save(this.key, this.entries.slice()))
        .catch(this.onError);
    });
  }
}
