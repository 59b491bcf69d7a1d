// Wire shapes of the MotoReach chat contract v1 (docs/protocol.md). snake_case, as on the wire.
// The SDK reads these and the reference server builds its answers and frames against them, so a
// change here that one end does not follow fails that end's typecheck.
import type { ErrorCode, FrameErrorCode } from './codes.js';

export type Role = 'user' | 'workshop_admin';

export interface Me {
  id: string;
  role: Role;
  name: string | null;
}

/** Who wrote a message: a participant, or (v1.2) the host's backend, `system`, which is neither side. */
export interface Sender {
  id: string;
  role: Role | 'system';
  name: string | null;
}

export interface ReadCursors {
  user: number;
  workshop: number;
}

export interface Message {
  id: string;
  request_id: string;
  seq: number;
  sender: Sender;
  body: string;
  client_id: string | null;
  created_at: string;
  /** v1.2: host-defined structured content (a JSON object of at most 4 KiB), stored and returned as given. */
  data?: Record<string, unknown>;
  /** v1.2: erased (`DELETE /api/users/{id}/messages/`): `body` is "", `sender.name` null, no `data`. */
  redacted?: true;
}

/** A closed room is read-only: sends are refused with `closed` (contract 1.2). */
export type RoomStatus = 'open' | 'closed';

export interface RoomInfo {
  id: string;
  user_id: string;
  workshop_id: string;
  title: string;
  created_at: string;
  status: RoomStatus;
  /** Display names the host's backend gave the room's two sides; null when unknown. */
  user_name: string | null;
  workshop_name: string | null;
}

export interface RoomDetail extends RoomInfo {
  read_cursors: ReadCursors;
  last_seq: number;
}

/** One room of the inbox: the room with its cursors and last seq, its unread and its last message. */
export interface RoomSummary extends RoomDetail {
  unread: number;
  last_message: Message | null;
}

/**
 * `GET /api/service-requests/?limit&cursor&q&unread`: one page of the inbox; `next_cursor` is null on the last, and
 * continues the same filtered list when sent with the same `q` and `unread`.
 */
export interface InboxPage {
  service_requests: RoomSummary[];
  next_cursor: string | null;
}

export interface MessagesPage {
  messages: Message[];
  has_more: boolean;
  read_cursors: ReadCursors;
}

/** `POST /api/service-requests/{id}/messages/`: the stored message (201, or 200 for a repeated client_id). */
export interface SentMessage {
  message: Message;
}

/** `POST .../messages/read/`: the cursors after the read, and the reader's unread count in the room. */
export interface ReadResult {
  read_cursors: ReadCursors;
  unread: number;
}

export interface UnreadSnapshot {
  total: number;
  rooms: Record<string, number>;
}

/** `POST /api/ws-tickets/`: a single-use ticket for a WebSocket URL, valid for `expires_in` seconds. */
export interface WsTicket {
  ticket: string;
  expires_in: number;
}

export interface WireErrorBody {
  error: { code: ErrorCode; message: string };
}

// Chat socket, server → client.
export interface ReadyFrame {
  type: 'ready';
  request_id: string;
  last_seq: number;
  read_cursors: ReadCursors;
  me: Me;
}
export interface MessageFrame {
  type: 'message';
  message: Message;
}
export interface ReadFrame {
  type: 'read';
  request_id: string;
  side: 'user' | 'workshop';
  reader: { id: string; role: Role };
  last_read_seq: number;
  read_cursors: ReadCursors;
}
export interface TypingFrame {
  type: 'typing';
  user: Me;
  is_typing: boolean;
}
export interface ErrorFrame {
  type: 'error';
  code: FrameErrorCode;
  message: string;
  client_id?: string;
}
export interface PongFrame {
  type: 'pong';
}
/** v1.2: the room's status, title or names changed; on chat and notifications sockets alike. */
export interface RoomFrame {
  type: 'room';
  room: RoomInfo;
}
/** v1.2: the message `seq` of the room was erased; a history fetch returns its redacted form. */
export interface MessageRedactedFrame {
  type: 'message_redacted';
  request_id: string;
  seq: number;
}
export type ChatServerFrame = ReadyFrame | MessageFrame | ReadFrame | TypingFrame | RoomFrame | MessageRedactedFrame | ErrorFrame | PongFrame;

// Chat socket, client → server.
export type ChatClientFrame =
  | { type: 'message'; body: string; client_id: string; data?: Record<string, unknown> }
  | { type: 'read'; last_read_seq?: number }
  | { type: 'typing'; is_typing: boolean }
  | { type: 'ping' };

// Notifications socket, server → client.
export interface UnreadFrame extends UnreadSnapshot {
  type: 'unread';
}
export interface NotificationFrame {
  type: 'notification';
  kind: 'message';
  request_id: string;
  message: Pick<Message, 'id' | 'seq' | 'sender' | 'body' | 'created_at'>;
  unread: { count: number; total: number };
}
export type NotificationsServerFrame = UnreadFrame | NotificationFrame | RoomFrame | ErrorFrame | PongFrame;
