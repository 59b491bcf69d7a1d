import type {
  ErrorFrame,
  FrameErrorCode,
  MessageFrame,
  MessageRedactedFrame,
  NotificationFrame,
  PongFrame,
  ReadFrame,
  ReadyFrame,
  RoomFrame,
  TypingFrame,
  UnreadFrame,
} from '@motoreach/protocol';
import type { Participant, Message, Room, ReadCursors, RoomState, Side, UnreadSnapshot } from './types.js';
import type { MessagePage, UnreadCounts } from '../store/store.js';

// Every frame the server sends is built below: the service publishes them, the sockets send them.
// Each `satisfies` its type in @motoreach/protocol, the types the SDK reads: a frame that leaves the
// contract, or a contract change the server does not follow, fails the typecheck. Keys in the
// wire's order (test/frames.test.ts pins the bytes).

export const PONG = JSON.stringify({ type: 'pong' } satisfies PongFrame);

/**
 * The first frame of a chat socket: the room's state when the socket subscribed, and who the caller
 * is; with the room and a page of its messages when the socket asked for them (`?history=`).
 */
export function readyFrame(state: RoomState, identity: Participant, page?: MessagePage): string {
  return JSON.stringify({
    type: 'ready',
    request_id: state.id,
    last_seq: state.last_seq,
    read_cursors: state.read_cursors,
    me: { id: identity.id, role: identity.role, name: identity.name },
    ...(page && { room: state, messages: page.messages, has_more: page.has_more }),
  } satisfies ReadyFrame);
}

export function messageFrame(message: Message): string {
  return JSON.stringify({ type: 'message', message } satisfies MessageFrame);
}

/** The message `seq` of the room was redacted (erasure): clients show it as removed. */
export function messageRedactedFrame(requestId: string, seq: number): string {
  return JSON.stringify({ type: 'message_redacted', request_id: requestId, seq } satisfies MessageRedactedFrame);
}

/** A side's read cursor moved: `reader` read up to `read_cursors[side]`. */
export function readFrame(requestId: string, side: Side, reader: Participant, readCursors: ReadCursors): string {
  return JSON.stringify({
    type: 'read',
    request_id: requestId,
    side,
    reader: { id: reader.id, role: reader.role },
    last_read_seq: readCursors[side],
    read_cursors: readCursors,
  } satisfies ReadFrame);
}

export function typingFrame(typist: Participant, isTyping: boolean): string {
  return JSON.stringify({
    type: 'typing',
    user: { id: typist.id, role: typist.role, name: typist.name },
    is_typing: isTyping,
  } satisfies TypingFrame);
}

/** `body` is the message's preview; `unread`, the recipient's counts after it. */
export function notificationFrame(requestId: string, message: Message, body: string, unread: UnreadCounts): string {
  return JSON.stringify({
    type: 'notification',
    kind: 'message',
    request_id: requestId,
    // `data` whole, beside the preview: hosts render it (a quote) in their own notification UI. Two
    // literals rather than a spread, which would make V8 define created_at in its runtime.
    message:
      message.data === undefined
        ? { id: message.id, seq: message.seq, sender: message.sender, body, created_at: message.created_at }
        : { id: message.id, seq: message.seq, sender: message.sender, body, data: message.data, created_at: message.created_at },
    unread: { count: unread.count, total: unread.total },
  } satisfies NotificationFrame);
}

/** The room's own fields after a change (status, title, names), without its cursors, which have their own frames. */
export function roomFrame(room: Room): string {
  return JSON.stringify({
    type: 'room',
    room: {
      id: room.id,
      user_id: room.user_id,
      workshop_id: room.workshop_id,
      title: room.title,
      created_at: room.created_at,
      status: room.status,
      user_name: room.user_name,
      workshop_name: room.workshop_name,
    },
  } satisfies RoomFrame);
}

export function unreadFrame(snapshot: UnreadSnapshot): string {
  return JSON.stringify({ type: 'unread', total: snapshot.total, rooms: snapshot.rooms } satisfies UnreadFrame);
}

/** `clientId`: that of the frame the error answers, echoed so the client knows which send failed. */
export function errorFrame(code: FrameErrorCode, message: string, clientId: string | null): string {
  return JSON.stringify({ type: 'error', code, message, ...(clientId ? { client_id: clientId } : {}) } satisfies ErrorFrame);
}

