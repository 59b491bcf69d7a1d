import type { ChatError } from './errors.js';
import type { Me, Message, NotificationFrame, ReadCursors, RoomInfo } from './wire.js';
import type { OutboxFile } from './files.js';
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
  /** Files bigger are refused by `send()` at once (`too_large`): the server's `ATTACHMENT_MAX_BYTES`. Default 10 MB. */
  maxFileBytes?: number;
  /** Unsent messages older than this (by `created_at`) are not sent: they fail with `expired`. Default 7 days. */
  outboxMaxAgeMs?: number;
}

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';
export type MessageState = 'pending' | 'sent' | 'failed';
export type Side = 'user' | 'workshop';

/** A wire `Message` with its local state: `id` and `seq` are null until the server stores it. */
export interface ChatMessage extends Omit<Message, 'id' | 'seq'> {
  id: string | null;
  seq: number | null;
  state: MessageState;
  error?: ChatError;
  /** While pending: the files it carries, uploaded before it is sent (`id` set once uploaded). */
  files?: OutboxFile[];
}

export interface RoomEvents {
  message: { message: ChatMessage; own: boolean };
  change: { messages: readonly ChatMessage[] };
  read: { side: Side; last_read_seq: number; read_cursors: ReadCursors };
  typing: { user: Me; is_typing: boolean };
  /** `reason`: why the socket is not open (the last failure), absent while open or after a clean close. */
  status: { status: ConnectionStatus; reason?: ChatError };
  resync: { after: number; fetched: number };
  /** One of a pending message's files is uploading (one at a time, in order): `sent` of its `file.size` bytes so far. */
  progress: { client_id: string; file: OutboxFile; sent: number };
  /** The service request itself: fetched on every (re)connect, then live from `room` frames (status, title, names). */
  room: RoomInfo;
  /** A message held here was erased on the server: `message` is its redacted form, now in `messages`. */
  redacted: { message: ChatMessage };
  error: ChatError;
}

export interface NotificationsEvents {
  unread: { total: number; rooms: Record<string, number> };
  notification: NotificationFrame;
  /** One of the user's rooms changed (status, title, names): the wire `room` frame's `room`. */
  room: RoomInfo;
  /** `reason`: why the socket is not open (the last failure), absent while open or after a clean close. */
  status: { status: ConnectionStatus; reason?: ChatError };
  error: ChatError;
}
