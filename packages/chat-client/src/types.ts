import type { ChatError } from './errors.js';
import type { Me, NotificationFrame, ReadCursors } from './wire.js';
import type { OutboxStorage } from './outbox.js';

// Just the part of the WebSocket API the SDK uses. The handlers take `any` so that both the browser's
// WebSocket and `ws` (whose event classes differ) are assignable without a cast.
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructorLike = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ReconnectOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
}

export interface ChatClientOptions {
  baseUrl: string;
  token: string | (() => string | Promise<string>);
  WebSocket?: WebSocketConstructorLike;
  fetch?: typeof fetch;
  reconnect?: ReconnectOptions;
  ackTimeoutMs?: number;
  pingIntervalMs?: number;
  outboxStorage?: OutboxStorage;
  /** Unsent messages older than this (by `created_at`) are not sent: they fail with `expired`. Default 7 days. */
  outboxMaxAgeMs?: number;
}

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';
export type MessageState = 'pending' | 'sent' | 'failed';
export type Side = 'user' | 'workshop';

export interface ChatMessage {
  id: string | null;
  request_id: string;
  seq: number | null;
  sender: Me;
  body: string;
  client_id: string | null;
  created_at: string;
  state: MessageState;
  error?: ChatError;
}

export interface RoomEvents {
  message: { message: ChatMessage; own: boolean };
  change: { messages: readonly ChatMessage[] };
  read: { side: Side; last_read_seq: number; read_cursors: ReadCursors };
  typing: { user: Me; is_typing: boolean };
  /** `reason`: why the socket is not open (the last failure), absent while open or after a clean close. */
  status: { status: ConnectionStatus; reason?: ChatError };
  resync: { after: number; fetched: number };
  error: ChatError;
}

export interface NotificationsEvents {
  unread: { total: number; rooms: Record<string, number> };
  notification: NotificationFrame;
  /** `reason`: why the socket is not open (the last failure), absent while open or after a clean close. */
  status: { status: ConnectionStatus; reason?: ChatError };
  error: ChatError;
}
