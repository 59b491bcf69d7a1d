// Wire shapes of the MotoReach chat contract v1 (docs/protocol.md). snake_case, as on the wire.

export type Role = 'user' | 'workshop_admin';

export interface Me {
  id: string;
  role: Role;
  name: string | null;
}

export type Sender = Me;

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
}

export interface RoomInfo {
  id: string;
  user_id: string;
  workshop_id: string;
  title: string;
  created_at: string;
}

export interface RoomSummary extends RoomInfo {
  unread: number;
  last_message: Message | null;
}

/** `GET /api/service-requests/?limit&cursor`: one page of the inbox; `next_cursor` is null on the last. */
export interface InboxPage {
  service_requests: RoomSummary[];
  next_cursor: string | null;
}

export interface RoomDetail extends RoomInfo {
  read_cursors: ReadCursors;
  last_seq: number;
}

export interface MessagesPage {
  messages: Message[];
  has_more: boolean;
  read_cursors: ReadCursors;
}

export interface ReadResult {
  read_cursors: ReadCursors;
  unread: number;
}

export interface UnreadSnapshot {
  total: number;
  rooms: Record<string, number>;
}

export interface WireErrorBody {
  error: { code: string; message: string };
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
  code: string;
  message: string;
  client_id?: string;
}
export interface PongFrame {
  type: 'pong';
}
export type ChatServerFrame = ReadyFrame | MessageFrame | ReadFrame | TypingFrame | ErrorFrame | PongFrame;

// Chat socket, client → server.
export type ChatClientFrame =
  | { type: 'message'; body: string; client_id: string }
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
export type NotificationsServerFrame = UnreadFrame | NotificationFrame | ErrorFrame | PongFrame;

// WebSocket close codes of the contract.
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;
