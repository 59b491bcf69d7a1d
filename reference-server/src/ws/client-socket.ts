import type { Duplex } from 'node:stream';
import { CLOSE, type CloseCode, type FrameErrorCode } from '@motoreach/protocol';
import type { WebSocket } from 'ws';
import type { ChatError, ErrorCode } from '../chat/errors.js';
import { callerKey, type Participant } from '../chat/types.js';
import type { Limits } from '../config.js';
import type { Logger } from '../logger.js';
import { type Clock, BurstDetector, type KeyedRateLimiter, TokenBucket } from '../rate-limit.js';
import { randomId } from '../ids.js';
import { errorFrame } from '../chat/frames.js';
import type { Metrics } from '../metrics/metrics.js';

/** The close reason of a socket whose token expired: the client takes a fresh token and resumes. */
export const TOKEN_EXPIRED = 'token expired';

const CLOSE_FOR: Partial<Record<ErrorCode, CloseCode>> = {
  unauthorized: CLOSE.unauthorized,
  forbidden: CLOSE.forbidden,
  not_found: CLOSE.notFound,
  unavailable: CLOSE.tryLater,
};

const TEXT = { binary: false } as const;

/**
 * The sockets that corked in this turn, uncorked together by one nextTick: one per socket cost a
 * tick object each (about 6,000 instructions, its symbol keys defined in V8's runtime), and a
 * message reaches three or more sockets.
 */
let corked: ClientSocket[] = [];

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.flush();
}

/**
 * Starts the closing handshake, and cuts the connection if the peer has not
 * completed it within `timeoutMs`: `ws` alone would hold a socket whose peer
 * never answers for 30 s, which a script refused in a loop turns into
 * thousands of held connections.
 */
export function closeSocket(ws: WebSocket, code: CloseCode, reason: string, timeoutMs: number): void {
  if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) return;
  ws.close(code, reason);
  const cut = setTimeout(() => ws.terminate(), timeoutMs);
  cut.unref();
  ws.once('close', () => clearTimeout(cut));
}

/** The close code that tells a browser why a connection was refused; 1011 (transient) for a failure of ours. */
export function refusalCloseCode(error: ChatError): CloseCode {
  return CLOSE_FOR[error.code] ?? CLOSE.internalError;
}

/**
 * One accepted WebSocket with the rules every socket follows: rate limits
 * (its own and its user's), a bounded send buffer, liveness for heartbeats.
 */
export class ClientSocket {
  /** Unique across servers: it travels with a typing event, to leave out the typist's own socket. */
  readonly id = randomId();
  alive = true;
  /** Made at the first refused frame: most sockets never have one. */
  #flood: BurstDetector | null = null;
  /**
   * The client_id of a frame refused here and not sent again yet. Frames with another client_id
   * are refused until it comes again: those a client wrote behind it would otherwise be stored
   * before it (docs/protocol.md, "Bad input and floods").
   */
  #fence: string | null = null;
  readonly #bucket: TokenBucket | null;
  #corked = false;

  constructor(
    readonly ws: WebSocket,
    /** The connection under `ws`, the one its upgrade came on. */
    private readonly transport: Duplex,
    readonly identity: Participant,
    private readonly limits: Limits,
    private readonly userLimiter: KeyedRateLimiter,
    private readonly logger: Logger,
    private readonly clock: Clock,
    /** With METRICS_PORT: counts the frames refused and the floods closed. */
    private readonly metrics: Metrics | null = null,
  ) {
    this.#bucket = limits.wsRateLimit > 0 ? new TokenBucket(limits.wsRateLimit, limits.wsRateLimit * 2, clock) : null;
    ws.on('pong', () => {
      this.alive = true;
    });
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Sends a text frame. */
  send(frame: string): void {
    if (this.#writable()) this.ws.send(frame, TEXT);
  }

  /** Sends a whole WebSocket frame as frameBytes built it, header included: the same bytes `ws` would write. */
  sendEncoded(frame: Buffer): void {
    if (this.#writable()) this.transport.write(frame);
  }

  /** Whether a frame may be written now; corks the connection for the rest of the turn when it may. */
  #writable(): boolean {
    if (!this.open) return false;
    if (!this.#corked) {
      // Measured before this turn's frames: what is still buffered then is what the reader did not take.
      if (this.ws.bufferedAmount > this.limits.maxSendBufferBytes) {
        // A reader that cannot keep up would otherwise make the server hold its backlog forever.
        this.logger.warn({ user: this.identity.id, buffered: this.ws.bufferedAmount }, 'dropping slow consumer');
        this.ws.terminate();
        return false;
      }
      // Every frame for this socket in this turn (a batch of messages, their notifications) goes out in one write.
      this.#corked = true;
      this.transport.cork();
      if (corked.push(this) === 1) process.nextTick(uncorkAll);
    }
    return true;
  }

  /** Writes what the turn's frames left in the connection's buffer. */
  flush(): void {
    this.#corked = false;
    this.transport.uncork();
  }

  sendError(code: FrameErrorCode, message: string, clientId: string | null = null): void {
    this.send(errorFrame(code, message, clientId));
  }

  /**
   * Whether the token the socket was opened with has expired, closing it with 4401 then: checked
   * at every frame, since the sweep that closes idle ones (upgrade.ts) may be up to a second late.
   */
  expired(now = Date.now()): boolean {
    if (now < this.identity.expiresAt) return false;
    this.close(CLOSE.unauthorized, TOKEN_EXPIRED);
    return true;
  }

  /**
   * Whether one more frame may be handled; answers and counts the refusal when not. Asked before the
   * frame is parsed: `clientIdOf` is read only for a refused frame, to echo its client_id, and while
   * an earlier refusal fences the socket.
   */
  admit(clientIdOf: () => string | null): boolean {
    const clientId = this.#fence === null ? undefined : clientIdOf();
    if (clientId && clientId !== this.#fence) return this.#refuse(clientId, 'an earlier message was refused; send it again first');
    if (clientId) this.#fence = null;
    if ((this.#bucket?.take() ?? true) && this.userLimiter.take(callerKey(this.identity))) return true;
    const refused = clientId === undefined ? clientIdOf() : clientId;
    if (refused) this.#fence = refused;
    return this.#refuse(refused, 'too many frames; slow down');
  }

  /** Answers a refused frame and counts the refusal: a burst of them closes the socket. */
  #refuse(clientId: string | null, message: string): false {
    this.sendError('rate_limited', message, clientId);
    this.metrics?.refused('rate_limited');
    this.#flood ??= new BurstDetector(this.limits.wsFloodStrikes, this.limits.wsFloodWindowMs, this.clock);
    if (this.#flood.hit()) {
      this.metrics?.refused('1008');
      this.close(CLOSE.policy, 'rate limit exceeded');
    }
    return false;
  }

  close(code: CloseCode, reason: string): void {
    closeSocket(this.ws, code, reason, this.limits.closeTimeoutMs);
  }
}
