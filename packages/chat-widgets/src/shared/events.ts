import type { ChatError, ChatMessage, ConnectionStatus, ReadCursors, RoomInfo, RoomSummary, Side } from '@motoreach/chat-client';

export interface MessageSentDetail {
  requestId: string;
  message: ChatMessage;
}
export interface MessageReceivedDetail {
  requestId: string;
  message: ChatMessage;
}
export interface ReadDetail {
  requestId: string;
  /** The side whose cursor moved. */
  side: Side;
  /** True when it is the viewer's own side (this widget, or another tab of the same side). */
  own: boolean;
  lastReadSeq: number;
  readCursors: ReadCursors;
}
export interface ConnectionChangeDetail {
  requestId: string;
  status: ConnectionStatus;
  /** Messages waiting in the outbox. */
  waiting: number;
  /** Why the socket is not open (the last failure), where the SDK says; absent while open. */
  reason?: ChatError;
}
export interface RoomChangeDetail {
  requestId: string;
  /** The service request as the server has it now: `status` (`closed`: read-only), `title`, `user_name`, `workshop_name`. */
  room: RoomInfo;
}
export interface ErrorDetail {
  requestId: string | null;
  error: ChatError;
  /**
   * True when retrying cannot help: the room refuses the viewer (`forbidden`, `not_found`, the server
   * refused a fresh token too) or a message was refused (`invalid`, `too_large`). False for faults
   * that pass, which the SDK keeps retrying; tell them apart by this, not by the code.
   */
  final: boolean;
}
export interface UnreadChangeDetail {
  /** What the badge shows: one room's count with `request-id`, else the total. */
  count: number;
  total: number;
  requestId: string | null;
}

export interface TokenErrorDetail {
  /** The widget's `token-url`. */
  tokenUrl: string;
  /** Its HTTP status (401: the host's session is over), or null when nothing answered (offline, CORS). */
  status: number | null;
}

export interface SelectDetail {
  requestId: string;
  /** The row as the inbox has it: the room, its unread count and its last message. */
  room: RoomSummary;
}

export interface MotoreachEventMap {
  'motoreach-message-sent': CustomEvent<MessageSentDetail>;
  'motoreach-message-received': CustomEvent<MessageReceivedDetail>;
  'motoreach-read': CustomEvent<ReadDetail>;
  'motoreach-connection-change': CustomEvent<ConnectionChangeDetail>;
  'motoreach-room-change': CustomEvent<RoomChangeDetail>;
  'motoreach-error': CustomEvent<ErrorDetail>;
  'motoreach-unread-change': CustomEvent<UnreadChangeDetail>;
  'motoreach-token-error': CustomEvent<TokenErrorDetail>;
  'motoreach-select': CustomEvent<SelectDetail>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface HTMLElementEventMap extends MotoreachEventMap {}
}

/** Dispatches a typed event that bubbles and crosses shadow roots, so a host can listen on any ancestor. */
export function emit<K extends keyof MotoreachEventMap>(
  target: EventTarget,
  type: K,
  detail: MotoreachEventMap[K] extends CustomEvent<infer D> ? D : never,
): void {
  target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}
