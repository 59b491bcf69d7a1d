import { backoffDelay } from './backoff.js';
import { ChatError, codeForClose, toChatError } from './errors.js';
import type { TokenSource } from './token.js';
import type { ConnectionStatus, ReconnectOptions, WebSocketConstructorLike, WebSocketLike } from './types.js';
import { CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED } from './wire.js';

export interface ConnectionOptions {
  url: (token: string) => string;
  tokens: TokenSource;
  WebSocket: WebSocketConstructorLike | undefined;
  reconnect: ReconnectOptions;
  pingIntervalMs: number;
  onFrame: (frame: any) => void;
  onStatus: (status: ConnectionStatus) => void;
  // The socket in use is gone (whatever the reason); anything sent on it without an answer is in doubt.
  onDown: () => void;
  onFatal: (error: ChatError) => void;
}

const noop = (): void => {};
const OPEN = 1;

// One logical socket: connects, reconnects with backoff, notices a dead peer by pinging, and stops
// for good on refusals that a retry cannot fix. It counts as open from the server's first frame
// (`ready` / `unread`), because a refusal is an accepted upgrade followed by a close.
// There is at most one timer at any moment (reconnect wait, connect timeout or next ping), and the
// window/document listeners exist only between start() and close().
export class Connection {
  status: ConnectionStatus = 'idle';
  private ws: WebSocketLike | undefined;
  private token = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private everOpen = false;
  private renewed = false;
  private silent = false;

  constructor(private readonly o: ConnectionOptions) {}

  start(): void {
    if (this.status !== 'idle' && this.status !== 'closed') return;
    this.everOpen = false;
    this.attempt = 0;
    this.setStatus('connecting');
    listen(this.wake, true);
    void this.open();
  }

  send(frame: object): boolean {
    if (this.status !== 'open' || this.ws?.readyState !== OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // Give up on the current socket now (e.g. an ack never came) and connect again.
  drop(): void {
    if (this.ws) this.lost(this.ws, 0);
  }

  close(): void {
    if (this.status === 'closed' || this.status === 'idle') return;
    listen(this.wake, false);
    this.clearTimer();
    this.detach(true);
    this.setStatus('closed');
  }

  // `online`, or the page became visible: try now rather than when the backoff says so,
  // and check an open socket at once since a sleeping device may have lost it silently.
  private readonly wake = (ev: Event): void => {
    if (ev.type === 'visibilitychange' && document.visibilityState !== 'visible') return;
    if (this.status === 'open') {
      this.ping();
    } else if (!this.ws && (this.status === 'reconnecting' || this.status === 'offline' || this.status === 'connecting')) {
      this.attempt = 0;
      void this.open();
    }
  };

  private async open(): Promise<void> {
    this.clearTimer();
    let token: string;
    try {
      token = await this.o.tokens.get();
    } catch (e) {
      if (this.status !== 'closed') this.fatal(toChatError(e, 'unauthorized'));
      return;
    }
    if (this.status === 'closed' || this.ws) return;
    if (!this.o.WebSocket) {
      return this.fatal(new ChatError('network', 'No WebSocket implementation: pass options.WebSocket (e.g. from "ws") in Node'));
    }
    const ws = new this.o.WebSocket(this.o.url(token));
    this.ws = ws;
    this.token = token;
    ws.onmessage = (ev: { data: unknown }) => this.received(ws, ev.data);
    ws.onclose = (ev: { code: number }) => this.lost(ws, ev.code);
    ws.onerror = noop;
    // No first frame within two ping intervals: the attempt hangs, start over.
    this.timer = setTimeout(() => this.lost(ws, 0), this.o.pingIntervalMs * 2);
  }

  private received(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.ws) return;
    this.silent = false;
    if (this.status !== 'open') {
      this.attempt = 0;
      this.renewed = false;
      this.everOpen = true;
      this.clearTimer();
      this.setStatus('open');
      this.schedulePing();
    }
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if ((frame as { type?: string }).type !== 'pong') this.o.onFrame(frame);
  }

  private schedulePing(): void {
    this.clearTimer();
    this.timer = setTimeout(() => (this.silent ? this.drop() : this.ping()), this.o.pingIntervalMs);
  }

  private ping(): void {
    this.silent = true;
    this.send({ type: 'ping' });
    this.schedulePing();
  }

  private lost(ws: WebSocketLike, code: number): void {
    if (ws !== this.ws) return;
    this.clearTimer();
    this.detach(false);
    this.o.onDown();
    if (this.status === 'closed') return;
    if (code === CLOSE_FORBIDDEN || code === CLOSE_NOT_FOUND || (code === CLOSE_UNAUTHORIZED && this.renewed)) {
      return this.fatal(new ChatError(codeForClose(code), closeMessage(code), { closeCode: code }));
    }
    this.setStatus(this.everOpen ? 'reconnecting' : 'connecting');
    if (code === CLOSE_UNAUTHORIZED) {
      this.renewed = true;
      this.o.tokens.refresh(this.token).then(
        () => void this.open(),
        (e: unknown) => this.fatal(new ChatError('unauthorized', 'The token provider failed after the token was refused', { closeCode: code, cause: e })),
      );
      return;
    }
    this.retryLater();
  }

  private retryLater(): void {
    if (typeof navigator !== 'undefined' && navigator.onLine === false) this.setStatus('offline');
    this.timer = setTimeout(() => void this.open(), backoffDelay(this.attempt++, this.o.reconnect));
  }

  private fatal(error: ChatError): void {
    this.close();
    this.o.onFatal(error);
  }

  private detach(graceful: boolean): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = undefined;
    ws.onmessage = ws.onclose = null;
    // `ws` (Node) emits an error when closed before the handshake ends; it must have a listener.
    ws.onerror = noop;
    // A lost socket may be half-open and never finish a closing handshake; `ws` can drop it at once.
    const terminate = (ws as { terminate?: () => void }).terminate;
    if (!graceful && terminate) terminate.call(ws);
    else if (ws.readyState <= OPEN) ws.close(graceful ? 1000 : 4000);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.o.onStatus(status);
  }
}

function closeMessage(code: number): string {
  return code === CLOSE_FORBIDDEN
    ? 'Not a participant of this room (4403)'
    : code === CLOSE_NOT_FOUND
      ? 'No such room (4404)'
      : 'The token was refused again after a refresh (4401)';
}

function listen(handler: (ev: Event) => void, on: boolean): void {
  const method = on ? 'addEventListener' : 'removeEventListener';
  if (typeof globalThis.addEventListener === 'function') globalThis[method]('online', handler);
  if (typeof document !== 'undefined') document[method]('visibilitychange', handler);
}
