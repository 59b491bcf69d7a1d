import { DEFAULT_RECONNECT } from './backoff.js';
import type { ConnectionOptions } from './connection.js';
import { Http } from './http.js';
import { Notifications } from './notifications.js';
import type { OutboxStorage } from './outbox.js';
import { Room } from './room.js';
import { TokenSource } from './token.js';
import type { ChatClientOptions } from './types.js';
import type { RoomDetail, RoomInfo, RoomSummary } from './wire.js';

/** @internal What rooms and notifications share within one client. */
export interface ClientContext {
  http: Http;
  wsUrl: (path: string, token: string) => string;
  connection: Pick<ConnectionOptions, 'tokens' | 'WebSocket' | 'reconnect' | 'pingIntervalMs'>;
  ackTimeoutMs: number;
  outboxStorage: OutboxStorage | undefined;
}

export class ChatClient {
  private readonly ctx: ClientContext;
  private readonly rooms = new Map<string, Room>();
  private notifier: Notifications | undefined;

  constructor(options: ChatClientOptions) {
    const base = options.baseUrl.replace(/\/+$/, '');
    const tokens = new TokenSource(options.token);
    const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.ctx = {
      http: new Http(base, tokens, fetchFn),
      wsUrl: (path, token) => `${base.replace(/^http/, 'ws')}${path}?token=${encodeURIComponent(token)}`,
      connection: {
        tokens,
        WebSocket: options.WebSocket ?? (globalThis.WebSocket as ChatClientOptions['WebSocket']),
        reconnect: { ...DEFAULT_RECONNECT, ...options.reconnect },
        pingIntervalMs: options.pingIntervalMs ?? 10_000,
      },
      ackTimeoutMs: options.ackTimeoutMs ?? 5_000,
      outboxStorage: options.outboxStorage,
    };
  }

  room(requestId: string): Room {
    let room = this.rooms.get(requestId);
    if (!room) this.rooms.set(requestId, (room = new Room(requestId, this.ctx)));
    return room;
  }

  notifications(): Notifications {
    return (this.notifier ??= new Notifications(this.ctx));
  }

  async listRooms(): Promise<RoomSummary[]> {
    const r = await this.ctx.http.request<{ service_requests: RoomSummary[] }>('GET', '/api/service-requests/');
    return r.service_requests;
  }

  createRoom(input: { workshop_id: string; title: string }): Promise<RoomInfo> {
    return this.ctx.http.request<RoomInfo>('POST', '/api/service-requests/', input);
  }

  getRoom(requestId: string): Promise<RoomDetail> {
    return this.ctx.http.request<RoomDetail>('GET', `/api/service-requests/${encodeURIComponent(requestId)}/`);
  }

  close(): void {
    for (const room of this.rooms.values()) room.close();
    this.notifier?.close();
    this.notifier = undefined;
  }
}
