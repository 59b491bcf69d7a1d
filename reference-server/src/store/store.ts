import type { Attachment } from '@motoreach/protocol';
import type { EventOutbox } from '../webhooks/events.js';
import type { Message, MessageData, MessageSide, Principal, RoomStatus, ReadCursors, Room, RoomListing, RoomState, Sender, Side, UnreadSnapshot } from '../chat/types.js';

export interface NewRoom {
  user_id: string;
  workshop_id: string;
  title: string;
}

/** A room under the host's own id (`PUT`): an omitted optional field keeps its stored value, or its default. */
export interface RoomPut {
  id: string;
  user_id: string;
  workshop_id: string;
  title: string;
  status?: RoomStatus;
  user_name?: string | null;
  workshop_name?: string | null;
}

export type PutResult =
  | { outcome: 'created'; room: RoomState }
  /** `before`: the room as it was stored, so that the caller can tell what changed. */
  | { outcome: 'updated'; room: RoomState; before: RoomState }
  /** The stored room has another owner: nothing was written. */
  | { outcome: 'moved'; room: RoomState };

export interface NewMessage {
  request_id: string;
  sender: Sender;
  side: MessageSide;
  body: string;
  /** Stored and returned as given; absent when the message carries none. */
  data?: MessageData;
  /**
   * The uploads the message carries, with URLs signed for now: the message the append returns (and
   * its webhook event) carries them so; the store keeps them without `url` and `thumbnail_url`.
   */
  attachments?: Attachment[];
  client_id: string | null;
  /**
   * The principal the sender writes for (the owner's id, or the admin's workshop id): when given,
   * the append fails with NotHolderError unless the room's side is still held by it, checked in
   * the append's transaction so that no write passes a reassignment that committed first.
   */
  holder?: string;
}

/** A principal's unread counts as they stood in the same transaction as a write. */
export interface UnreadCounts {
  /** Its unread count in the written room. */
  count: number;
  /** Its unread count over all its rooms. */
  total: number;
}

export interface AppendResult {
  message: Message;
  /** false when `client_id` had already been stored: `message` is the earlier one. */
  created: boolean;
  /**
   * The RECIPIENT's counts (the principal of the side opposite `input.side`
   * in this room), read in the transaction that stored the message, so that
   * the notification needs no query of its own. Taken from counters kept
   * with each write, never by counting rooms or messages. When `created` is
   * false nothing was written and the service ignores it: `{count: 0, total: 0}`.
   */
  recipient_unread: UnreadCounts;
  /**
   * Who held the recipient's side (the owner's id, or the workshop's) in the transaction that
   * stored the message, so that the notification follows a reassignment that the caller's view of
   * the room may not have caught up with. null when `created` is false.
   */
  recipient: string | null;
  /**
   * A system message (side `system`) has two recipients: `recipient_unread` and `recipient` are
   * then the workshop side's, and this the owner side's, read in the same transaction. Absent
   * otherwise, and when `created` is false.
   */
  owner_recipient?: { unread: UnreadCounts; recipient: string };
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
  /**
   * The READER's counts (the principal of the side whose cursor moved) after
   * the move, read in the same transaction; unchanged counts when `moved` is false.
   */
  reader_unread: UnreadCounts;
}

/** A message an erasure redacted. */
export interface RedactedMessage {
  request_id: string;
  seq: number;
}

/** Where an inbox page starts: the sort key of the last row of the page before. */
export interface InboxCursor {
  last_activity: string;
  id: string;
}

export interface InboxQuery {
  /** 1..100, already validated and clamped. */
  limit: number;
  /** null: the first page. */
  after: InboxCursor | null;
  /** Only rooms whose title or other side's name holds this text, case-insensitively (trimmed, 1..100 characters). */
  q?: string;
  /** true: only rooms where the principal has unread. */
  unread?: boolean;
}

export interface InboxPage {
  rooms: RoomListing[];
  /** The key of the page's last row when more rows follow, else null. */
  next: InboxCursor | null;
}

/**
 * Durable chat state. Implementations: SQLite (embedded default) and MongoDB.
 * Every method is atomic: a failure leaves nothing half-written.
 */
export interface ChatStore {
  /**
   * Webhook events (webhooks/), when the store was opened to record them: each is written in the
   * transaction of the change it reports (an append, a cursor move, a room's creation or update).
   * Absent or null: nothing is recorded, and a write costs nothing more.
   */
  readonly outbox?: EventOutbox | null;
  createRoom(input: NewRoom): Promise<Room>;
  /**
   * Creates the room with the caller's id, or updates its title, status and names, atomically:
   * of racing puts of one new id (on any server sharing the store) one creates it and the others
   * update it. A put naming another `workshop_id` reassigns the room: in the same transaction the
   * workshop side's unread in the room moves from the old workshop's total to the new one's (the
   * side's cursor stays). A put naming another `user_id` writes nothing (`moved`).
   */
  putRoom(input: RoomPut): Promise<PutResult>;
  getRoom(id: string): Promise<RoomState | null>;
  /**
   * One page of the principal's rooms (an owner's own, or all of a workshop's),
   * ordered by `last_activity` descending, then `id` descending, starting
   * strictly after `query.after` in that order. `last_activity` is the
   * `created_at` of the room's newest message, or the room's `created_at`
   * without one; it never decreases (an append sets it to the later of the
   * two). Each row's `unread` is the principal's side's count in that room and
   * `last_message` the message with seq `last_seq` (null when 0), both from
   * the same read, with no query per row; the page is served by an index on
   * (principal, last_activity, id), not by skipping rows. `next` is the key of
   * the last row when at least one more row follows it, else null.
   * Filters keep the order and the keys: `unread` pages along an index of the
   * principal's rooms with unread, in the same order; `q` is matched against
   * each side's folded search key (search-keys.ts) while walking the inbox's
   * index, so its cost is the rows read until the page is full.
   */
  listRooms(principal: Principal, query: InboxQuery): Promise<InboxPage>;
  /**
   * Stores a message with the next `seq` of its room (no gaps), or returns the
   * stored one when the sender already used this `client_id` in this room.
   * The room must exist, and be open: an append to a closed room fails with RoomClosedError, decided
   * in the append's own transaction, so no send passes a close that committed first. Appends to one room resolve in the order of their
   * seq, because the service broadcasts in resolution order and clients are
   * promised that messages sent one after another arrive in seq order.
   * In the same transaction: the room's `last_seq`, `last_activity` and the
   * recipient's per-room and per-principal unread counters move by one (a system message's: both
   * sides' counters).
   */
  appendMessage(input: NewMessage): Promise<AppendResult>;
  listMessages(requestId: string, query: PageQuery): Promise<MessagePage>;
  /**
   * Moves a side's cursor forward to `seq` (null: the latest), clamped to the
   * room's last seq, and takes the messages it passes that are not the side's own (the other
   * side's and system messages) off that side's per-room and per-principal unread counters, in one transaction.
   * The room must exist; with `holder` (as for appendMessage), its side must still be held by it,
   * or the move fails with NotHolderError. Cursor moves and appends to one store resolve in the
   * order they were called (a SQLite store commits those of one event-loop
   * turn together).
   */
  advanceCursor(requestId: string, side: Side, seq: number | null, holder?: string): Promise<CursorResult>;
  /**
   * The principal's unread snapshot: `rooms` holds exactly its rooms with a
   * count above 0, `total` their sum. One indexed read of the rooms with
   * unread, not a scan of all of the principal's rooms.
   */
  unread(principal: Principal): Promise<UnreadSnapshot>;
  /**
   * Every message whose `sender.id` is `senderId` (in any room, as any role), as stored, in pages of
   * at most a few hundred, in the order the store holds them. There is no index by sender (it would
   * cost every append a write): an export reads the whole message store once, a bounded part per step.
   */
  exportMessages(senderId: string): AsyncIterable<Message[]>;
  /**
   * Redacts every message whose `sender.id` is `senderId` and that is not redacted yet: `body` "",
   * `sender.name` null, `redacted` set, its `data` and attachments removed; its seq, the room's
   * counters and cursors stay. Reads the message store once, in parts: each part is written in one
   * transaction and then given to `onRedacted`, so a failure leaves some parts redacted and a repeat
   * finishes (it skips what is redacted). When it resolves, the old content is gone from the storage
   * this store controls (SQLite: overwritten, and the WAL checkpointed and truncated). Resolves with
   * the number of messages this call redacted.
   */
  redactMessagesOf(senderId: string, onRedacted: (part: RedactedMessage[]) => void): Promise<number>;
  /** Finishes the appends already accepted, then releases the storage; later calls fail. */
  close(): Promise<void>;
}
