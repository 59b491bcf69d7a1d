import { DEFAULT_RECONNECT } from './backoff.js';
import type { ConnectionOptions } from './connection.js';
import { Http } from './http.js';
import { Notifications } from './notifications.js';
import { noop } from './noop.js';
import { memoryOutbox, type OutboxStorage } from './outbox.js';
import { personKey } from './person.js';
import { Room, type RoomHandle } from './room.js';
import { claimsOf, TokenSource } from './token.js';
import type { ChatClientOptions } from './types.js';
import type { InboxPage, Me, RoomDetail, RoomInfo } from './wire.js';

/** @internal What rooms and notifications share within one client. */
export interface ClientContext {
  http: Http;
  connection: Pick<ConnectionOptions, 'base' | 'tokens' | 'auth' | 'WebSocket' | 'reconnect' | 'pingIntervalMs'>;
  ackTimeoutMs: number;
  outboxStorage: OutboxStorage;
  outboxMaxAgeMs: number;
  maxFileBytes: number;
  // The rooms in use, one per id; a room removes itself when it closes.
  rooms: Map<string, Room>;
  // The person rooms learnt last (claims or `ready`), and every outbox key they opened: what
  // signOut() clears when the token is not a JWT, or the storage has no `clear`.
  me?: Me;
  keys: Set<string>;
}

export class ChatClient {
  /** `baseUrl` without a trailing slash: attachments' URLs may be paths on it (`new URL(a.url, client.baseUrl)`). */
  readonly baseUrl: string;
  readonly #ctx: ClientContext;
  #notifier: Notifications | undefined;
  // Where the outbox goes: the option's storage, until signOut() (then memory: nothing more reaches the device).
  #storage: OutboxStorage;

  constructor(options: ChatClientOptions) {
    const base = (this.baseUrl = options.baseUrl.replace(/\/+$/, ''));
    const tokens = new TokenSource(options.token);
    const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const http = new Http(base, tokens, fetchFn);
    // Even without storage, unsent messages outlive a closed Room for the next one of that id.
    this.#storage = options.outboxStorage ?? memoryOutbox();
    this.#ctx = {
      http,
      connection: {
        base,
        tokens,
        auth: (token) => http.socketAuth(token),
        WebSocket: options.WebSocket ?? (globalThis.WebSocket as ChatClientOptions['WebSocket']),
        reconnect: { ...DEFAULT_RECONNECT, ...options.reconnect },
        pingIntervalMs: options.pingIntervalMs ?? 10_000,
      },
      ackTimeoutMs: options.ackTimeoutMs ?? 5_000,
      outboxStorage: { load: (key) => this.#storage.load(key), save: (key, entries) => this.#storage.save(key, entries) },
      outboxMaxAgeMs: options.outboxMaxAgeMs ?? 7 * 864e5,
      maxFileBytes: options.maxFileBytes ?? 10 * 1048576,
      rooms: new Map(),
      keys: new Set(),
    };
  }

  room(requestId: string): Room {
    const rooms = this.#ctx.rooms;
    let room = rooms.get(requestId);
    if (!room) rooms.set(requestId, (room = new Room(requestId, this.#ctx)));
    return room;
  }

  /**
   * A hold on the room for one of several users of it (widgets, a host page): it connects on the
   * first hold and closes when the last one is released, unless `connect()` was called on it too.
   */
  openRoom(requestId: string): RoomHandle {
    return this.room(requestId).hold();
  }

  notifications(): Notifications {
    // One refused for good (a token refused twice) is replaced: the caller may hold a good token now.
    if (this.#notifier?.status == 'closed') this.#notifier = undefined;
    return (this.#notifier ??= new Notifications(this.#ctx));
  }

  /**
   * A page of the caller's rooms, the most recently active first: pass its `next_cursor` as `cursor` for the next page,
   * with the same `q` (the title or the other side's name holds it, case-insensitively; blank is no filter) and `unread`
   * (only rooms with unread), to page the filtered list.
   */
  rooms({
    limit = 50,
    cursor = '',
    q = '',
    unread,
  }: { limit?: number; cursor?: string | null; q?: string; unread?: boolean } = {}): Promise<InboxPage> {
    q = q.trim();
    return this.#ctx.http.request<InboxPage>(
      'GET',
      `/api/service-requests/?limit=${limit}&cursor=${encodeURIComponent(cursor ?? '')}${q ? '&q=' + encodeURIComponent(q) : ''}${unread ? '&unread=1' : ''}`,
    );
  }

  /**
   * Who the token in use names, read from its claims (the server verifies them); undefined for a token that is not a
   * JWT, and before a token provider was first asked (after any request, `rooms()` say, it is known).
   */
  get me(): Me | undefined {
    return claimsOf(this.#ctx.connection.tokens.current ?? '');
  }

  createRoom(input: { workshop_id: string; title: string }): Promise<RoomInfo> {
    return this.#ctx.http.request<RoomInfo>('POST', '/api/service-requests/', input);
  }

  getRoom(requestId: string): Promise<RoomDetail> {
    return this.#ctx.http.request<RoomDetail>('GET', `/api/service-requests/${encodeURIComponent(requestId)}/`);
  }

  close(): void {
    this.#close();
  }

  /**
   * Ends the session of the person of the token in use, on this device: closes the client as
   * `close()` does, empties its rooms, and removes that person's unsent messages for this server
   * from the outbox storage, every room, other tabs' too. Whatever the client writes afterwards stays
   * in memory. Call it before the token provider starts answering for someone else.
   */
  async signOut(): Promise<void> {
    const ctx = this.#ctx;
    const storage = this.#storage;
    this.#storage = memoryOutbox();
    this.#close(true);
    const { base, tokens } = ctx.connection;
    const me = claimsOf(tokens.current ?? (await tokens.get().catch(noop)) ?? '') ?? ctx.me;
    if (!me) return;
    const prefix = personKey(base, me);
    if (storage.clear) return storage.clear(prefix);
    for (const key of ctx.keys) if (key.startsWith(prefix)) await storage.save(key, []);
  }

  #close(wipe?: boolean): void {
    for (const room of [...this.#ctx.rooms.values()]) room.shutdown(wipe);
    this.#notifier?.close();
    this.#notifier = undefined;
  }
}
