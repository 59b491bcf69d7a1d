import type { Message, Principal, RoomState, Side } from '../chat/types.js';
import { newId } from '../ids.js';

/**
 * A webhook event as a store records it, in the transaction of the change it reports: `body` is
 * the payload's JSON text, signed and sent as it is on every attempt, so a retry is byte for byte
 * the first one.
 */
export interface RecordedEvent {
  /** `evt_…`: the `webhook-id` of every attempt, the receiver's dedupe key. */
  id: string;
  request_id: string;
  body: string;
  created_at: string;
}

/** A recorded event waiting for delivery. */
export interface PendingEvent extends RecordedEvent {
  /** Its place in the store's order of events (a room's events are in ascending order). */
  position: number;
  /** Failed attempts so far. */
  attempts: number;
}

/**
 * What the delivery loop reads from the store. Events of one room come out in the order they were
 * recorded; an event leaves the outbox once delivered or given up (pruned, not kept).
 */
export interface EventOutbox {
  /**
   * The oldest pending event of each room but the `busy` ones, when its time has come (`now`, ms
   * since the epoch), in recording order, at most `limit`. A room's later events wait behind it.
   * Where several servers share the store, each event returned is leased to this server until
   * `leaseUntil` (ms since the epoch): no other server gets it before then, unless it is retried
   * or removed first, so one server at a time delivers it, and one that dies hands it over.
   */
  due(now: number, limit: number, busy: ReadonlySet<string>, leaseUntil: number): Promise<PendingEvent[]>;
  /** Delivered or given up: the event is deleted. */
  remove(event: PendingEvent): Promise<void>;
  /** A failed attempt: the event waits until `dueAt` (ms since the epoch). */
  retryAt(event: PendingEvent, attempts: number, dueAt: number): Promise<void>;
  /**
   * After a 410 Gone: the fingerprint of the settings (URL and secret) the receiver refused, kept
   * across restarts so that delivery stays off for them; null when none was refused.
   */
  deliveryOffFor(): Promise<string | null>;
  /** Records that the receiver answered 410 Gone to the settings of `fingerprint`. */
  turnDeliveryOff(fingerprint: string): Promise<void>;
  /** How many events wait, and when the oldest was recorded (null: none). */
  backlog(): Promise<{ count: number; oldest: string | null }>;
  /** Called after a commit that recorded events, so that delivery starts without polling. */
  onRecorded(listener: () => void): void;
  /**
   * Records a `room.unread_reminder` for each room side whose unread began at or before `before`
   * (ISO time) and that has read nothing since, once per such episode (across servers too), each in
   * the transaction that marks the side reminded. `connected` says whether a socket of the side's
   * principal is open. Resolves with how many it recorded (at most a few hundred per call).
   */
  remindUnread(before: string, connected: (principal: Principal) => boolean): Promise<number>;
}

export type EventType = 'message.created' | 'room.read' | 'room.created' | 'room.updated' | 'room.unread_reminder';

function event(type: EventType, request_id: string, timestamp: string, data: unknown): RecordedEvent {
  return { id: newId('evt'), request_id, body: JSON.stringify({ type, timestamp, data }), created_at: timestamp };
}

/** `data.message`: the message as history returns it. */
export function messageCreated(message: Message): RecordedEvent {
  return event('message.created', message.request_id, message.created_at, { message });
}

/** A side's read cursor moved: where both cursors stand now. */
export function roomRead(request_id: string, side: Side, read_cursors: RoomState['read_cursors'], unread: number): RecordedEvent {
  return event('room.read', request_id, new Date().toISOString(), { request_id, side, read_cursors, unread });
}

/**
 * A side has had unread in the room since `unread_since` and read nothing since: whom to notify (the
 * owner, or the workshop), how much is unread, the oldest unread message, and whether a socket of
 * the side was open when it fired.
 */
export function unreadReminder(
  room: RoomState,
  side: Side,
  unread: number,
  oldest: Message | null,
  unread_since: string,
  connected: boolean,
): RecordedEvent {
  const notify = side === 'user' ? { user_id: room.user_id } : { workshop_id: room.workshop_id };
  return event('room.unread_reminder', room.id, new Date().toISOString(), {
    room,
    side,
    notify,
    unread,
    oldest_unread: oldest,
    unread_since,
    connected,
  });
}

export function roomCreated(room: RoomState): RecordedEvent {
  return event('room.created', room.id, room.created_at, { room });
}

/** `changed`: the fields that differ from `before` (status, reassignment, title, names). */
export function roomUpdated(room: RoomState, before: RoomState): RecordedEvent | null {
  const fields = ['workshop_id', 'title', 'status', 'user_name', 'workshop_name'] as const;
  const changed = fields.filter((field) => room[field] !== before[field]);
  if (changed.length === 0) return null;
  const previous = Object.fromEntries(changed.map((field) => [field, before[field]]));
  return event('room.updated', room.id, new Date().toISOString(), { room, changed, previous });
}

/**
 * What an event body holds of a sender's messages, found by text: the stores pick the pending
 * events an erasure must rewrite with it (a superset; `redactedEventBody` decides).
 */
export function senderMention(senderId: string): string {
  return `"id":${JSON.stringify(senderId)}`;
}

/**
 * An event waiting for delivery carries messages in full (`message.created`'s message, a
 * reminder's oldest unread): once their sender is erased, the event goes out as history now
 * shows them, redacted, under the same `webhook-id`. Null: the event holds no message of theirs.
 */
export function redactedEventBody(body: string, senderId: string): string | null {
  const payload = JSON.parse(body) as { data: Record<string, unknown> };
  const key = 'message' in payload.data ? 'message' : 'oldest_unread';
  const message = payload.data[key] as (Message & { attachments?: unknown }) | null | undefined;
  if (!message || message.sender.id !== senderId || message.redacted) return null;
  const { data: _data, attachments: _attachments, ...kept } = message;
  payload.data[key] = { ...kept, sender: { ...message.sender, name: null }, body: '', redacted: true };
  return JSON.stringify(payload);
}
