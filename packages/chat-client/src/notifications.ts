import { createEmitter } from './emitter.js';
import { Connection } from './connection.js';
import type { ClientContext } from './client.js';
import type { ConnectionStatus, NotificationsEvents } from './types.js';
import type { NotificationsServerFrame } from './wire.js';

// Unread counts of the signed-in user over all rooms. The server sends a full snapshot on connect
// and after every read (from any tab or device), so the counts here never drift for long.
export class Notifications {
  readonly #emitter = createEmitter<NotificationsEvents>();
  readonly #conn: Connection;
  #total = 0;
  #rooms: Record<string, number> = {};

  /** @internal Use `ChatClient.notifications()`. */
  constructor(ctx: ClientContext) {
    this.#conn = new Connection({
      ...ctx.connection,
      path: '/ws/notifications/',
      onFrame: (f: NotificationsServerFrame) => this.#frame(f),
      emit: this.#emitter.emit,
    });
    this.#conn.start();
  }

  get total(): number {
    return this.#total;
  }
  get rooms(): Readonly<Record<string, number>> {
    return this.#rooms;
  }
  get status(): ConnectionStatus {
    return this.#conn.status;
  }

  on<K extends keyof NotificationsEvents>(type: K, handler: (e: NotificationsEvents[K]) => void): () => void {
    this.#emitter.on(type, handler);
    return () => this.#emitter.off(type, handler);
  }
  off<K extends keyof NotificationsEvents>(type: K, handler: (e: NotificationsEvents[K]) => void): void {
    this.#emitter.off(type, handler);
  }

  unread(requestId?: string): number {
    return requestId === undefined ? this.#total : (this.#rooms[requestId] ?? 0);
  }

  /** @internal */
  close(): void {
    this.#conn.close();
  }

  #frame(f: NotificationsServerFrame): void {
    if (f.type === 'unread') {
      this.#set(f.total, { ...f.rooms });
    } else if (f.type === 'notification') {
      this.#set(f.unread.total, { ...this.#rooms, [f.request_id]: f.unread.count });
      this.#emitter.emit('notification', f);
    } else if (f.type === 'room') {
      this.#emitter.emit('room', f.room);
    }
  }

  #set(total: number, rooms: Record<string, number>): void {
    this.#total = total;
    this.#rooms = rooms;
    this.#emitter.emit('unread', { total, rooms: { ...rooms } });
  }
}
