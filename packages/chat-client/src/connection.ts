import { backoffDelay } from './backoff.js';
import { ChatError, codeForClose, toChatError } from './errors.js';
import type { TokenSource } from './token.js';
import type { ConnectionStatus, ReconnectOptions, WebSocketConstructorLike, WebSocketLike } from './types.js';
import { CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED } from './wire.js';

export interface ConnectionOptions {
  // The client's base URL (http or https), also named when the server cannot be reached, and the socket's path under it.
  base: string;
  path: string;
  tokens: TokenSource;
  // What the socket URL carries for a token (`ticket=...`, or `token=...` for a v1 server).
  auth: (token: string) => Promise<string>;
  WebSocket: WebSocketConstructorLike | undefined;
  reconnect: Required<ReconnectOptions>;
  pingIntervalMs: number;
  // More of the socket URL's query, after the ticket (`&name=value`), asked at each attempt.
  query?: () => string;
  onFrame: (frame: any) => void;
  // The owner's events: `status` on every change of state (with its reason), `error` when it stops
  // for good or when the server turns out unreachable (it keeps trying then).
  emit: {
    (type: 'status', e: { status: ConnectionStatus; reason?: ChatError }): void;
    (type: 'error', e: ChatError): void;
  };
  // The socket in use is gone (whatever the reason); anything sent on it without an answer is in doubt.
  onDown?: () => void;
  onFatal?: (error: ChatError) => void;
}

const OPEN = 1;
export const NO_ANSWER = 'No answer from the server';
const OFFLINE = 'Offline';
// Failed opens in a row (no first frame) after which the server counts as unreachable: the browser
// hides why an upgrade failed (an origin the server refuses, nothing listening, another HTTP server).
const UNREACHABLE_AFTER = 3;

/**
 * One logical socket as a state machine. Every change of state goes through `#to(status, reason)`,
 * the reason being the failure that put it there (none while open or after close()):
 *
 *   idle --start--> connecting --first frame--> open --lost--> reconnecting|offline --first frame--> open
 *   any --close()--> closed (no reason);  any --4403/4404/second 4401--> closed (that reason)
 *
 * A lost socket, a token provider that fails, a 4401 (after which the provider is asked once for a
 * fresh token) and any close but the final ones are transient: wait out the backoff and try again.
 * It counts as open from the server's first frame (`ready` / `unread`), because a refusal is an
 * accepted upgrade followed by a close. There is at most one timer at any moment (reconnect wait,
 * connect timeout or next ping), and the window/document listeners exist only between start() and close().
 */
export class Connection {
  #status: ConnectionStatus = 'idle';
  #reason: ChatError | undefined;
  #ws: WebSocketLike | undefined;
  #token = '';
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  // Attempts that failed since the last first frame; the third makes the reason `unreachable`.
  #failed = 0;
  #everOpen = false;
  // The last attempt was refused (4401, or 401 for its ticket) and a fresh token fetched: another refusal is final.
  #renewed = false;
  #silent = false;
  #opening = false;

  readonly #o: ConnectionOptions;

  constructor(options: ConnectionOptions) {
    this.#o = options;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }
  get reason(): ChatError | undefined {
    return this.#reason;
  }

  // Once, right after construction: a room that connects again makes a new Connection.
  start(): void {
    this.#to('connecting');
    listen(this.#wake, true);
    void this.#open();
  }

  send(frame: object): boolean {
    if (this.#status !== 'open' || this.#ws?.readyState !== OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  // Give up on the current socket now (e.g. an ack never came) and connect again.
  drop(reason: ChatError): void {
    if (this.#ws) this.#lost(this.#ws, 0, reason);
  }

  close(): void {
    this.#stop(undefined);
  }

  // Stop for good with `error` as the reason (the server refused, or the room learnt it is final).
  fail(error: ChatError): void {
    if (!this.#stop(error)) return;
    this.#o.onFatal?.(error);
    this.#o.emit('error', error);
  }

  #stop(reason: ChatError | undefined): boolean {
    if (this.#status === 'closed') return false;
    const ws = this.#ws;
    listen(this.#wake, false);
    this.#clearTimer();
    this.#detach(true);
    this.#to('closed', reason);
    if (ws) this.#o.onDown?.();
    return true;
  }

  // `online`, or the page became visible: try now rather than when the backoff says so,
  // and check an open socket at once since a sleeping device may have lost it silently.
  // `offline`: the browser knows the network is gone, so say so now rather than when pings time out.
  readonly #wake = (ev: Event): void => {
    if (ev.type === 'visibilitychange' && document.visibilityState !== 'visible') return;
    if (ev.type == 'offline') {
      this.#ws ? this.drop(new ChatError('network', OFFLINE)) : this.#live() && this.#to('offline', this.#reason);
    } else if (this.#status === 'open') {
      this.#ping();
    } else if (this.#live()) {
      this.#attempt = 0;
      void this.#open();
    }
  };

  // Started (at construction, in effect), not stopped for good, and between sockets.
  #live(): boolean {
    return this.#status !== 'closed' && !this.#ws;
  }

  async #open(): Promise<void> {
    // One attempt at a time: a wake-up while the token or ticket is awaited would open a second socket.
    // And none after close(): a refresh may resolve later, and a ticket is a request to the server.
    if (this.#opening || !this.#live()) return;
    this.#clearTimer();
    this.#opening = true;
    let auth: string;
    try {
      auth = await this.#o.auth((this.#token = await this.#o.tokens.get()));
    } catch (e) {
      const error = toChatError(e);
      if (this.#live() && !this.#timer) error.code == 'unauthorized' ? this.#refused(error) : this.#retry(error);
      return;
    } finally {
      this.#opening = false;
    }
    if (!this.#live()) return;
    if (!this.#o.WebSocket) {
      return this.fail(new ChatError('network', 'options.WebSocket needed'));
    }
    const ws = new this.#o.WebSocket(`${this.#o.base.replace(/^http/, 'ws')}${this.#o.path}?${auth}${this.#o.query?.() ?? ''}`);
    this.#ws = ws;
    ws.onmessage = (ev: { data: unknown }) => this.#received(ws, ev.data);
    // An error ends the socket as a close with 1006 does: one follows it, except in Node 22's
    // WebSocket, which fires no close when it cannot connect. `ws` (Node) needs an error listener too.
    ws.onclose = ws.onerror = (ev: { code?: number }) => this.#lost(ws, ev.code ?? 1006);
    // No first frame within two ping intervals: the attempt hangs, start over.
    this.#timer = setTimeout(() => this.#lost(ws, 0, new ChatError('timeout', NO_ANSWER)), this.#o.pingIntervalMs * 2);
  }

  #received(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.#ws) return;
    this.#silent = false;
    if (this.#status !== 'open') {
      this.#attempt = this.#failed = 0;
      this.#renewed = false;
      this.#everOpen = true;
      this.#to('open');
      this.#schedulePing();
    }
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if ((frame as { type?: string }).type !== 'pong') this.#o.onFrame(frame);
  }

  #schedulePing(): void {
    this.#clearTimer();
    this.#timer = setTimeout(
      () => (this.#silent ? this.drop(new ChatError('timeout', NO_ANSWER)) : this.#ping()),
      this.#o.pingIntervalMs,
    );
  }

  #ping(): void {
    this.#silent = true;
    this.send({ type: 'ping' });
    this.#schedulePing();
  }

  #lost(ws: WebSocketLike, code: number, reason?: ChatError): void {
    if (ws !== this.#ws) return;
    this.#clearTimer();
    this.#detach(false);
    this.#o.onDown?.();
    if (this.#status === 'closed') return;
    const error = reason ?? new ChatError(codeForClose(code), `Connection closed (${code})`, { closeCode: code });
    if (code === CLOSE_FORBIDDEN || code === CLOSE_NOT_FOUND) return this.fail(error);
    code === CLOSE_UNAUTHORIZED ? this.#refused(error) : this.#retry(error);
  }

  // The token was refused (4401, or 401 for a ticket) or expired under an open socket (4401 too):
  // ask for a fresh one and try again at once. Refused again before a socket opened, it is final;
  // a socket that opened in between makes the next 4401 a first one again.
  #refused(error: ChatError): void {
    if (this.#renewed) return this.fail(error);
    this.#renewed = true;
    this.#to(this.#everOpen ? 'reconnecting' : 'connecting', error);
    this.#o.tokens.refresh(this.#token).then(
      () => void this.#open(),
      (e: unknown) => this.#live() && this.#retry(toChatError(e)),
    );
  }

  // Also the end of a failed attempt (the status is not `open` then): the third in a row, online,
  // turns the reason into `unreachable`, reported once as an `error` too, until a first frame.
  // A fresh token that then meets a transient failure may have expired by the next attempt: a refusal
  // after it is a first one again.
  #retry(reason: ChatError): void {
    this.#renewed = false;
    const offline = globalThis.navigator?.onLine === false;
    const failed = !offline && this.#status !== 'open' && ++this.#failed >= UNREACHABLE_AFTER;
    if (failed) reason = new ChatError('unreachable', `Can't reach the chat server at ${this.#o.base}`, { cause: reason, baseUrl: this.#o.base });
    this.#to(offline ? 'offline' : this.#everOpen ? 'reconnecting' : 'connecting', reason);
    if (failed && this.#failed === UNREACHABLE_AFTER) this.#o.emit('error', reason);
    this.#timer = setTimeout(() => void this.#open(), backoffDelay(this.#attempt++, this.#o.reconnect));
  }

  #detach(graceful: boolean): void {
    const ws = this.#ws;
    if (!ws) return;
    this.#ws = undefined;
    // onerror stays, for `ws`'s error when closed before the handshake ends (#lost ignores it then).
    ws.onmessage = ws.onclose = null;
    // A lost socket may be half-open and never finish a closing handshake; `ws` can drop it at once.
    const terminate = (ws as { terminate?: () => void }).terminate;
    if (!graceful && terminate) terminate.call(ws);
    else if (ws.readyState <= OPEN) ws.close(graceful ? 1000 : 4000);
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // The one place the state changes. Listeners hear of a new status, and of a new kind of reason
  // within one status (a connecting socket that was refused a token, then cannot reach the server).
  #to(status: ConnectionStatus, reason?: ChatError): void {
    const changed = status !== this.#status || reason?.code !== this.#reason?.code;
    this.#status = status;
    this.#reason = reason;
    if (changed) this.#o.emit('status', { status, reason });
  }
}

function listen(handler: (ev: Event) => void, on: boolean): void {
  const method = on ? 'addEventListener' : 'removeEventListener';
  if (typeof globalThis.addEventListener === 'function') globalThis[method]('online', handler), globalThis[method]('offline', handler);
  if (typeof document !== 'undefined') document[method]('visibilitychange', handler);
}
