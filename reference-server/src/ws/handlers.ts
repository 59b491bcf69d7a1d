import { CLOSE, type RoomFrame } from '@motoreach/protocol';
import type { RawData } from 'ws';
import { answerFor, ChatError } from '../chat/errors.js';
import { messageInput, parse, readInput, typingInput } from '../chat/schemas.js';
import { type ChatService, mayAccess } from '../chat/service.js';
import { principalOf, type RoomRef, type RoomState } from '../chat/types.js';
import { type Fanout, type FanoutEvent, principalGroup, roomGroup } from '../fanout/fanout.js';
import type { Logger } from '../logger.js';
import { type ClientSocket, refusalCloseCode } from './client-socket.js';
import { frameBytes } from './frame-bytes.js';
import { messageFrame, PONG, readyFrame, unreadFrame } from '../chat/frames.js';
import { decodeFrame, type IncomingFrame, peekClientId } from './frames.js';
import type { Presence } from './presence.js';
import { type ReadyHistory, readyPageQuery } from './ready-history.js';
import type { MessagePage } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';

/** How a `room` frame starts (chat/frames.ts builds it so): one of the two frames a chat socket looks into. */
const ROOM_FRAME = '{"type":"room",';
/** How a `message_redacted` frame starts (chat/frames.ts), the other. */
const REDACTED_FRAME = '{"type":"message_redacted",';

export interface SocketDeps {
  service: ChatService;
  fanout: Fanout;
  logger: Logger;
  /** How long a room socket waits for a missing seq before it is closed to resynchronise. */
  gapMs: number;
  /** Which principals have a socket open here (for webhooks' unread reminders). */
  presence?: Presence;
  /** With METRICS_PORT: what the sockets count (refusals). */
  metrics?: Metrics | null;
}

/**
 * Subscribes before the first frame is sent and holds what arrives until then,
 * so nothing published between reading the state and sending it is lost.
 * Messages up to the `ready` frame's last_seq reach the client through its
 * history fetch; those are dropped whenever they arrive, held or live.
 *
 * Messages then go out strictly by seq, each once: servers that share a
 * fan-out publish concurrent appends in whatever order their commits return,
 * so one that arrives early waits for the seqs before it. A gap that stays
 * open for `gapMs` (its publisher died between commit and publish) or frames
 * lost between servers close the socket with 1012: the client reconnects and
 * fetches what it lacks from the store.
 *
 * A `message_redacted` never goes out before its message: an erasure may commit
 * between a message's commit and its publication (or beat it between servers),
 * and a client told of a redaction before it holds the message would then show
 * the erased text. It waits for the message, and follows it.
 */
function subscribeHeld(socket: ClientSocket, deps: SocketDeps, group: string, screen: (event: FanoutEvent) => boolean = () => true) {
  let held: FanoutEvent[] | null = [];
  let nextSeq = 0;
  /** Made when a frame first arrives ahead of its turn: most sockets never see one. */
  let early: Map<number, FanoutEvent> | null = null;
  let gapTimer: NodeJS.Timeout | undefined;
  /** Redactions of seqs not sent yet, by seq: made only when one comes first. */
  let redactLater: Map<number, FanoutEvent> | null = null;
  const sendMessage = (event: FanoutEvent, seq: number) => {
    socket.sendEncoded(frameBytes(event));
    nextSeq = seq + 1;
    const redaction = redactLater?.get(seq);
    if (!redaction) return;
    redactLater!.delete(seq);
    socket.sendEncoded(frameBytes(redaction));
  };
  const resync = (why: string) => {
    deps.logger.info({ user: socket.identity.id, group, why }, 'closing a socket to resynchronise');
    socket.close(CLOSE.resync, 'missed frames: reconnect');
  };
  const deliver = (event: FanoutEvent) => {
    if (event.seq === undefined || nextSeq === 0) {
      if (nextSeq !== 0 && event.frame.startsWith(REDACTED_FRAME)) {
        const { seq } = JSON.parse(event.frame) as { seq: number };
        if (seq >= nextSeq) {
          (redactLater ??= new Map()).set(seq, event);
          return;
        }
      }
      if (screen(event)) socket.sendEncoded(frameBytes(event));
      return;
    }
    if (event.seq < nextSeq) return;
    if (event.seq > nextSeq) {
      (early ??= new Map()).set(event.seq, event);
      gapTimer ??= setTimeout(() => resync(`seq ${nextSeq} did not arrive`), deps.gapMs);
      return;
    }
    sendMessage(event, event.seq);
    if (!early) return;
    for (let next = early.get(nextSeq); next; next = early.get(nextSeq)) {
      early.delete(nextSeq);
      sendMessage(next, nextSeq);
    }
    if (early.size === 0) {
      early = null;
      clearTimeout(gapTimer);
      gapTimer = undefined;
    }
  };
  const subscription = deps.fanout.subscribe(
    group,
    (event: FanoutEvent) => {
      if (event.exceptSocket === socket.id) return;
      if (held) held.push(event);
      else deliver(event);
    },
    () => resync('fan-out between servers was interrupted'),
  );
  socket.ws.on('close', () => {
    subscription.unsubscribe();
    clearTimeout(gapTimer);
  });
  return {
    ready: subscription.ready,
    /** `lastSeq`: the room's last seq as the `ready` frame told it; without it, frames go out as they come. */
    release(lastSeq?: number) {
      if (lastSeq !== undefined) nextSeq = lastSeq + 1;
      const events = held ?? [];
      held = null;
      for (const event of events) deliver(event);
    },
  };
}

/**
 * Handles each frame of a socket, answering every failure with an `error` frame. The rate limit
 * comes first: a frame over it costs a bucket check and a byte search, never a parse.
 */
function onFrames(socket: ClientSocket, logger: Logger, handle: (frame: IncomingFrame, clientId: string | null) => void): void {
  socket.ws.on('message', (raw: RawData, isBinary: boolean) => {
    if (socket.expired()) return;
    if (!socket.admit(() => peekClientId(raw))) return;
    const decoded = decodeFrame(raw, isBinary);
    try {
      if ('error' in decoded) throw decoded.error;
      handle(decoded.frame, decoded.clientId);
    } catch (error) {
      answerError(socket, logger, error, decoded.clientId);
    }
  });
}

function answerError(socket: ClientSocket, logger: Logger, error: unknown, clientId: string | null): void {
  const answer = answerFor(error, logger, { user: socket.identity.id, client_id: clientId });
  // An error frame has no status: a bug of ours goes out as the contract's transient frame code.
  const code = answer.code === 'internal' ? 'unavailable' : answer.code;
  socket.sendError(code, answer.message, clientId);
}

/** Closes a socket whose setup failed, with the code that tells the client why. */
export function refuse(socket: ClientSocket, error: unknown, logger: Logger): void {
  // A paused socket would not read the client's half of the closing handshake.
  socket.ws.resume();
  const answer = answerFor(error, logger, { user: socket.identity.id, during: 'socket setup' });
  socket.close(refusalCloseCode(answer), answer.message);
}

export async function openChatSocket(socket: ClientSocket, requestId: string, deps: SocketDeps, history: ReadyHistory = null): Promise<void> {
  const { service, logger } = deps;
  const { identity } = socket;
  // Subscribed before the room is read, so the state the `ready` frame tells is read after the
  // subscription: one read both authorizes and tells it. Nothing held is sent to a refused socket.
  // What the socket keeps for its life: not the title, times and cursors of the state read. Who
  // holds each side follows the room's `room` frames: a reassignment moves the workshop side.
  const room: RoomRef = { id: requestId, user_id: '', workshop_id: '' };
  const subscription = subscribeHeld(socket, deps, roomGroup(requestId), (event) => {
    if (!event.frame.startsWith(ROOM_FRAME)) return true;
    const changed = (JSON.parse(event.frame) as RoomFrame).room;
    room.user_id = changed.user_id;
    room.workshop_id = changed.workshop_id;
    if (mayAccess(identity, changed)) return true;
    // Reassigned away from the caller's workshop: no further frame of the room, nor where it went.
    socket.close(CLOSE.forbidden, 'no longer a participant of this service request');
    return false;
  });
  let state: RoomState;
  let page: MessagePage | undefined;
  try {
    await subscription.ready;
    if (!socket.open) return;
    state = await service.authorize(identity, requestId);
    if (history && 'limit' in history) page = await service.listMessages(state, readyPageQuery(history, state.last_seq));
  } catch (error) {
    refuse(socket, error, logger);
    return;
  }
  if (!socket.open) return;
  room.user_id = state.user_id;
  room.workshop_id = state.workshop_id;
  socket.send(readyFrame(state, identity, page));
  if (history && 'invalid' in history) socket.sendError('invalid', history.invalid);
  subscription.release(state.last_seq);

  onFrames(socket, logger, (frame, clientId) => {
    switch (frame.type) {
      case 'message': {
        const input = parse(messageInput, frame.data);
        service.sendMessage(identity, room, input.body, input.client_id ?? null, input.data, input.attachments, 'ws').then(
          ({ message, created }) => {
            // A repeat is acknowledged to its sender alone: no second broadcast.
            if (!created) socket.send(messageFrame(message));
          },
          (error: unknown) => answerError(socket, logger, error, clientId),
        );
        return;
      }
      case 'read': {
        const input = parse(readInput, frame.data);
        service
          .markRead(identity, room, input.last_read_seq ?? null)
          .catch((error: unknown) => answerError(socket, logger, error, clientId));
        return;
      }
      case 'typing':
        service.typing(identity, room, parse(typingInput, frame.data).is_typing, socket.id);
        return;
      case 'ping':
        socket.send(PONG);
        return;
      default:
        throw new ChatError('invalid', `unknown frame type "${frame.type}"`);
    }
  });
  socket.ws.resume();
}

export async function openNotificationsSocket(socket: ClientSocket, deps: SocketDeps): Promise<void> {
  const { service, logger } = deps;
  const subscription = subscribeHeld(socket, deps, principalGroup(principalOf(socket.identity)));
  try {
    await subscription.ready;
    if (!socket.open) return;
    socket.send(unreadFrame(await service.unread(socket.identity)));
  } catch (error) {
    refuse(socket, error, logger);
    return;
  }
  subscription.release();
  onFrames(socket, logger, (frame) => {
    if (frame.type !== 'ping') throw new ChatError('invalid', `unknown frame type "${frame.type}"`);
    socket.send(PONG);
  });
  socket.ws.resume();
}
