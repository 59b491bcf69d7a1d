import type {
  ErrorFrame,
  FrameErrorCode,
  MessageFrame,
  NotificationFrame,
  PongFrame,
  ReadFrame,
  ReadyFrame,
  TypingFrame,
  UnreadFrame,
} from '@motoreach/protocol';
import type { RawData } from 'ws';
import { ChatError } from '../chat/errors.js';
import type { Identity, Message, ReadCursors, RoomState, Side, UnreadSnapshot } from '../chat/types.js';
import type { UnreadCounts } from '../store/store.js';

// Every frame the server sends is built below, each `satisfies` its type in @motoreach/protocol,
// the types the SDK reads: a frame that leaves the contract, or a contract change the server does
// not follow, fails the typecheck. Keys in the wire's order (test/frames.test.ts pins the bytes).

export const PONG = JSON.stringify({ type: 'pong' } satisfies PongFrame);

/** The first frame of a chat socket: the room's state when the socket subscribed, and who the caller is. */
export function readyFrame(state: RoomState, identity: Identity): string {
  return JSON.stringify({
    type: 'ready',
    request_id: state.id,
    last_seq: state.last_seq,
    read_cursors: state.read_cursors,
    me: { id: identity.id, role: identity.role, name: identity.name },
  } satisfies ReadyFrame);
}

export function messageFrame(message: Message): string {
  return JSON.stringify({ type: 'message', message } satisfies MessageFrame);
}

/** A side's read cursor moved: `reader` read up to `read_cursors[side]`. */
export function readFrame(requestId: string, side: Side, reader: Identity, readCursors: ReadCursors): string {
  return JSON.stringify({
    type: 'read',
    request_id: requestId,
    side,
    reader: { id: reader.id, role: reader.role },
    last_read_seq: readCursors[side],
    read_cursors: readCursors,
  } satisfies ReadFrame);
}

export function typingFrame(typist: Identity, isTyping: boolean): string {
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
    message: { id: message.id, seq: message.seq, sender: message.sender, body, created_at: message.created_at },
    unread: { count: unread.count, total: unread.total },
  } satisfies NotificationFrame);
}

export function unreadFrame(snapshot: UnreadSnapshot): string {
  return JSON.stringify({ type: 'unread', total: snapshot.total, rooms: snapshot.rooms } satisfies UnreadFrame);
}

/** `clientId`: that of the frame the error answers, echoed so the client knows which send failed. */
export function errorFrame(code: FrameErrorCode, message: string, clientId: string | null): string {
  return JSON.stringify({ type: 'error', code, message, ...(clientId ? { client_id: clientId } : {}) } satisfies ErrorFrame);
}

export interface IncomingFrame {
  type: string;
  data: Record<string, unknown>;
}

/** A decoded frame or why it is not one; the client_id is kept either way, for the error's echo. */
export type Decoded = { frame: IncomingFrame; clientId: string | null } | { error: ChatError; clientId: string | null };

function clientIdOf(data: Record<string, unknown>): string | null {
  const id = data.client_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : null;
}

const CLIENT_ID_KEY = Buffer.from('"client_id"');
const CLIENT_ID_VALUE = /^\s*:\s*"([^"\\]{1,128})"/;

/**
 * The client_id of a frame that is refused before it is parsed (over the rate
 * limit), so that its error still tells the client which message to send
 * again: a search for the key in the raw bytes, then at most 600 bytes read
 * (128 characters of up to 4 bytes each, and the colon). Inside a JSON string
 * a quote is escaped, so the key's bytes followed by a colon are a key, never
 * text of the body. Null when there is none, or when it holds an escape.
 */
export function peekClientId(raw: RawData): string | null {
  if (!Buffer.isBuffer(raw)) return null;
  const at = raw.indexOf(CLIENT_ID_KEY);
  if (at < 0) return null;
  const start = at + CLIENT_ID_KEY.length;
  const match = CLIENT_ID_VALUE.exec(raw.toString('utf8', start, start + 600));
  return match ? (match[1] as string) : null;
}

export function decodeFrame(raw: RawData, isBinary: boolean): Decoded {
  if (isBinary) return { error: new ChatError('invalid', 'frames must be JSON text'), clientId: null };
  let data: unknown;
  try {
    data = JSON.parse(raw.toString());
  } catch {
    return { error: new ChatError('invalid', 'frame is not valid JSON'), clientId: null };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { error: new ChatError('invalid', 'frame must be a JSON object'), clientId: null };
  }
  const record = data as Record<string, unknown>;
  const clientId = clientIdOf(record);
  if (typeof record.type !== 'string') return { error: new ChatError('invalid', 'frame has no "type"'), clientId };
  return { frame: { type: record.type, data: record }, clientId };
}
