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

/**
 * Who sent a message: a side's participant, or (contract 1.2) the host's backend as `system`, whose
 * messages belong to neither side and are unread for both. `id` is then the service token's `sub`.
 */
export interface Sender {
  id: string;
  role: Role | 'system';
  name: string | null;
}

/** Host-defined structured content a message may carry (contract 1.2): a JSON object of at most 4 KiB. */
export type MessageData = Record<string, unknown>;

/**
 * v1.2: a file a message carries. `url` and `thumbnail_url` (images only) are signed and expire: take
 * fresh ones from the message frames and history fetches. Without a host they are paths on the chat
 * server, resolved against its base URL.
 */
export interface Attachment {
  id: string;
  kind: 'image' | 'file';
  name: string;
  content_type: string;
  /** Bytes of the stored file (an image as re-encoded). */
  size: number;
  width?: number;
  height?: number;
  url: string;
  thumbnail_url?: string;
}

/** v1.2, `POST /api/service-requests/{id}/attachments/`: the stored upload (201, or 200 for a repeated client_id). */
export interface UploadedAttachment {
  attachment: Attachment;
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
  /** Absent when the message carries none: never null. */
  data?: MessageData;
  client_id: string | null;
  created_at: string;
  /** v1.2: the files it carries, at most 10; absent when none. */
  attachments?: Attachment[];
  /** v1.2: the sender's messages were erased: `body` is "", `sender.name` null, no `data` or `attachments`. */
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

/** v1.2, `GET /api/users/{user_id}/export/`: one owned room as stored, with the owner's unread in it. */
export interface ExportedRoom extends RoomDetail {
  unread: number;
}

/** v1.2, `GET /api/users/{user_id}/export/`: everything stored about the person (service only). */
export interface UserExport {
  user_id: string;
  /** The rooms the person owns (`user_id`). */
  rooms: ExportedRoom[];
  /** Every message the person sent (`sender.id`), in any room and any role. */
  messages: Message[];
  /** Every file the person uploaded, sent in a message (`used`) or not yet. */
  attachments: ExportedAttachment[];
}

/** v1.2: an upload as the export lists it: where it was uploaded, when, and whether a message carries it. */
export interface ExportedAttachment extends Attachment {
  request_id: string;
  created_at: string;
  used: boolean;
}

/** v1.2, `DELETE /api/users/{user_id}/messages/`: how many messages this call redacted (0 when repeated). */
export interface ErasureResult {
  redacted: number;
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
/** v1.2: the message with this seq was redacted; it now reads as its redacted form (Message.redacted). */
export interface MessageRedactedFrame {
  type: 'message_redacted';
  request_id: string;
  seq: number;
}
export type ChatServerFrame = ReadyFrame | MessageFrame | ReadFrame | TypingFrame | RoomFrame | MessageRedactedFrame | ErrorFrame | PongFrame;

// Chat socket, client → server.
export type ChatClientFrame =
  | { type: 'message'; body: string; client_id: string; data?: MessageData }
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
  message: Pick<Message, 'id' | 'seq' | 'sender' | 'body' | 'data' | 'created_at'>;
  unread: { count: number; total: number };
}
export type NotificationsServerFrame = UnreadFrame | NotificationFrame | RoomFrame | ErrorFrame | PongFrame;
