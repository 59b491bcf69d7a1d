import type { Message, Principal, ReadCursors, Room, RoomListing, RoomState, Sender, Side, UnreadSnapshot } from '../chat/types.js';

export interface NewRoom {
  user_id: string;
  workshop_id: string;
  title: string;
}

export interface NewMessage {
  request_id: string;
  sender: Sender;
  side: Side;
  body: string;
  client_id: string | null;
}

export interface AppendResult {
  message: Message;
  /** false when `client_id` had already been stored: `message` is the earlier one. */
  created: boolean;
}

export interface PageQuery {
  before?: number;
  after?: number;
  limit: number;
}

export interface MessagePage {
  messages: Message[];
  has_more: boolean;
}

export interface CursorResult {
  read_cursors: ReadCursors;
  moved: boolean;
}

/**
 * Durable chat state. Implementations: SQLite (embedded default) and MongoDB.
 * Every method is atomic: a failure leaves nothing half-written.
 */
export interface ChatStore {
  createRoom(input: NewRoom): Promise<Room>;
  getRoom(id: string): Promise<RoomState | null>;
  listRooms(principal: Principal): Promise<RoomListing[]>;
  /**
   * Stores a message with the next `seq` of its room (no gaps), or returns the
   * stored one when the sender already used this `client_id` in this room.
   * The room must exist. Appends to one room resolve in the order of their
   * seq, because the service broadcasts in resolution order and clients are
   * promised that messages sent one after another arrive in seq order.
   */
  appendMessage(input: NewMessage): Promise<AppendResult>;
  listMessages(requestId: string, query: PageQuery): Promise<MessagePage>;
  /** Moves a side's cursor forward to `seq` (null: the latest), clamped to the room's last seq. */
  advanceCursor(requestId: string, side: Side, seq: number | null): Promise<CursorResult>;
  unread(principal: Principal): Promise<UnreadSnapshot>;
  /** Finishes the appends already accepted, then releases the storage; later calls fail. */
  close(): Promise<void>;
}
