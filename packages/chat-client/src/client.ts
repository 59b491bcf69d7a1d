import { DEFAULT_RECONNECT } from './backoff.js';
import type { ConnectionOptions } from './connection.js';
import { Http } from './http.js';
import { Notifications } from './notifications.js';
import { memoryOutbox, type OutboxStorage } from './outbox.js';
import { Room, type RoomHandle } from './room.js';
import { TokenSource } from './token.js';
import type { ChatClientOptions } from './types.js';
import type { InboxPage, RoomDetail, RoomInfo } from './wire.js';

/** @internal What rooms and notifications share within one client. */
export interface ClientContext {
  http: Http;
  connection: Pick<ConnectionOptions, 'base' | 'tokens' | 'auth' | 'WebSocket' | 'reconnect' | 'pingIntervalMs'>;
  ackTimeoutMs: number;
  outboxStorage: OutboxStorage;
  // The rooms in use, one per id; a room removes itself when it closes.
  rooms: Map<string, Room>;
}

export class ChatClient {
  readonly #ctx: ClientContext;
  #notifier: Notifications | undefined;

  constructor(options: ChatClientOptions) {
    const base = options.baseUrl.replace(/\/+$/, '');
    const tokens = new TokenSource(options.token);
    const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const http = new Http(base, tokens, fetchFn);
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
      // Even without storage, unsent messages outlive a closed Room for the next one of that id.
      outboxStorage: options.outboxStorage ?? memoryOutbox(),
      rooms: new Map(),
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

  /** A page of the caller's rooms, the most recently active first: pass its `next_cursor` as `cursor` for the next page. */
  rooms({ limit = 50, cursor = '' }: { limit?: number; cursor?: string | null } = {}): Promise<InboxPage> {
    return this.#ctx.http.request<InboxPage>('GET', `/api/service-requests/?limit=${limit}&cursor=${encodeURIComponent(cursor ?? '')}`);
  }

  createRoom(input: { workshop_id: string; title: string }): Promise<RoomInfo> {
    return this.#ctx.http.request<RoomInfo>('POST', '/api/service-requests/', input);
  }

  getRoom(requestId: string): Promise<RoomDetail> {
    return this.#ctx.http.request<RoomDetail>('GET', `/api/service-requests/${encodeURIComponent(requestId)}/`);
  }

  close(): void {
    for (const room of [...this.#ctx.rooms.values()]) room.shutdown();
    this.#notifier?.close();
    this.#notifier = undefined;
  }
}
