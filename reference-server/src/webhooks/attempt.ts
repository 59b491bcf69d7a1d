import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, Pool } from 'undici';
import type { WebhookConfig } from '../config.js';
import { type CheckedAddress, checkedAddress, checkedLiteral, pinnedLookup } from './address.js';
import { WebhookSigner } from './signing.js';

/** The longest Retry-After honoured: the schedule's longest wait. */
const MAX_RETRY_AFTER_MS = 36_000_000;

/** One event to send: its `webhook-id` and the payload's JSON, as recorded. */
export interface AttemptRequest {
  id: string;
  body: string;
}

export type Outcome = { kind: 'delivered' } | { kind: 'gone'; status: number } | { kind: 'failed'; reason: string; retryAfterMs: number | null };

const DELIVERED: Outcome = { kind: 'delivered' };

/** Retry-After as seconds or an HTTP date, in ms from now; null when absent or unreadable. */
function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  if (typeof header !== 'string') return null;
  if (/^\d+$/.test(header.trim())) return Math.min(Number(header) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function outcomeOf(status: number, headers: IncomingHttpHeaders): Outcome {
  if (status >= 200 && status < 300) return DELIVERED;
  if (status === 410) return { kind: 'gone', status };
  const retryAfter = status === 429 || status === 503 ? retryAfterMs(headers['retry-after'], Date.now()) : null;
  // A redirect is not followed: the configured URL is the only place events go.
  return { kind: 'failed', reason: `HTTP ${status}`, retryAfterMs: retryAfter };
}

/**
 * One attempt's request, as undici's handler: it settles once, at the answer's status line and
 * headers (the body is read and dropped), an error, or its deadline, whichever comes first.
 */
class Attempt implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | null = null;
  #settled = false;
  readonly deadline: number;
  readonly #resolve: (outcome: Outcome) => void;

  constructor(deadline: number, resolve: (outcome: Outcome) => void) {
    this.deadline = deadline;
    this.#resolve = resolve;
  }

  get settled(): boolean {
    return this.#settled;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Timed out while it waited for a connection: it is not sent late.
    if (this.#settled) controller.abort(new Error('timed out before it was sent'));
    else this.#controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status >= 200) this.settle(outcomeOf(status, headers));
  }

  onResponseData(): void {}

  onResponseEnd(): void {}

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle({ kind: 'failed', reason: error.message, retryAfterMs: null });
  }

  settle(outcome: Outcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(outcome);
  }

  /** No answer in time: failed, and its connection closed (a late answer cannot be told from the next one's). */
  expire(timeoutMs: number): void {
    if (this.#settled) return;
    this.settle({ kind: 'failed', reason: `no answer within ${timeoutMs} ms`, retryAfterMs: null });
    this.#controller?.abort(new Error(`no answer within ${timeoutMs} ms`));
  }
}

/**
 * Sends events to the receiver, one request each, signed, over connections kept alive between
 * attempts (each new connection still goes to an address checked for an attempt).
 *
 * undici's Pool, through `dispatch()`, rather than node:http: about a third fewer instructions per
 * request (bench/webhook-requests.ts, docs/webhooks.md#cost). Its own timeouts are off but for a
 * connection (connecting, reading an answer's body): an attempt's deadline counts from its start to
 * the answer's headers, kept by one timer for all the attempts in flight.
 */
export class Attempts {
  readonly #config: WebhookConfig;
  readonly #timeoutMs: number;
  readonly #signer: WebhookSigner;
  readonly #pool: Pool;
  readonly #path: string;
  /** The check of a host that is an IP address, made once (the reason as an Error when refused); undefined for a name. */
  readonly #literal: CheckedAddress | Error | undefined;
  /** The address the latest attempt checked: where a connection opened now goes. */
  #checked: CheckedAddress | null = null;
  /** The attempts in flight from `#head` on, in the order they started, which is their deadlines' order too. */
  #attempts: Attempt[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  /** `timeoutMs`: one attempt, from its start to the response's headers; `connections`: at most this many at once. */
  constructor(config: WebhookConfig, timeoutMs: number, connections: number) {
    this.#config = config;
    this.#timeoutMs = timeoutMs;
    this.#signer = new WebhookSigner([config.secret, ...(config.previousSecret === null ? [] : [config.previousSecret])]);
    this.#path = `${config.url.pathname}${config.url.search}`;
    try {
      this.#literal = checkedLiteral(config.url.hostname, config.allowPrivate) ?? undefined;
    } catch (error) {
      this.#literal = error as Error;
    }
    this.#pool = new Pool(config.url.origin, {
      connections,
      connectTimeout: timeoutMs,
      headersTimeout: 0,
      bodyTimeout: timeoutMs,
      connect: {
        lookup: (hostname, options, callback) => {
          if (this.#checked) pinnedLookup(this.#checked)(hostname, options, callback);
          else callback(new Error('no checked address'), '', 0);
        },
      },
    });
  }

  send(event: AttemptRequest): Promise<Outcome> {
    if (this.#closed) return Promise.resolve({ kind: 'failed', reason: 'delivery is closed', retryAfterMs: null });
    const literal = this.#literal;
    if (literal instanceof Error) return Promise.resolve({ kind: 'failed', reason: literal.message, retryAfterMs: null });
    if (literal) return this.#dispatch(event, literal);
    return checkedAddress(this.#config.url.hostname, this.#config.allowPrivate).then(
      (checked) => this.#dispatch(event, checked),
      (error: Error): Outcome => ({ kind: 'failed', reason: error.message, retryAfterMs: null }),
    );
  }

  #dispatch(event: AttemptRequest, checked: CheckedAddress): Promise<Outcome> {
    if (this.#closed) return Promise.resolve({ kind: 'failed', reason: 'delivery is closed', retryAfterMs: null });
    this.#checked = checked;
    const now = Date.now();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'motoreach-reference-server',
      ...this.#signer.headers(event.id, now, event.body),
    };
    return new Promise<Outcome>((resolve) => {
      const attempt = new Attempt(now + this.#timeoutMs, (outcome) => {
        resolve(outcome);
        this.#settled();
      });
      this.#attempts.push(attempt);
      this.#timer ??= setTimeout(() => this.#expire(), this.#timeoutMs);
      this.#pool.dispatch({ path: this.#path, method: 'POST', headers, body: event.body }, attempt);
    });
  }

  /** An attempt settled: the settled ones at the head leave the queue. */
  #settled(): void {
    const attempts = this.#attempts;
    while (this.#head < attempts.length && (attempts[this.#head] as Attempt).settled) this.#head++;
    if (this.#head === attempts.length) {
      this.#attempts = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > attempts.length) {
      this.#attempts = attempts.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The timer: fails the attempts past their deadline, then waits for the next deadline. */
  #expire(): void {
    this.#timer = null;
    const now = Date.now();
    for (const attempt of this.#attempts.slice(this.#head)) {
      if (attempt.deadline > now) break;
      attempt.expire(this.#timeoutMs);
    }
    const next = this.#attempts[this.#head];
    if (next && !this.#closed) this.#timer = setTimeout(() => this.#expire(), Math.max(1, next.deadline - now));
  }

  /** Abandons the attempts in flight (they resolve as failed) and closes the kept connections. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const attempt of this.#attempts.slice(this.#head)) attempt.settle({ kind: 'failed', reason: 'delivery is closed', retryAfterMs: null });
    void this.#pool.destroy();
  }
}
