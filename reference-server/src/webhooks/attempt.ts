import { type ClientRequest, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { WebhookConfig } from '../config.js';
import { checkedAddress, pinnedLookup } from './address.js';
import { WebhookSigner } from './signing.js';

/** The longest Retry-After honoured: the schedule's longest wait. */
const MAX_RETRY_AFTER_MS = 36_000_000;

/** One event to send: its `webhook-id` and the payload's JSON, as recorded. */
export interface AttemptRequest {
  id: string;
  body: string;
}

export type Outcome = { kind: 'delivered' } | { kind: 'gone'; status: number } | { kind: 'failed'; reason: string; retryAfterMs: number | null };

/** Retry-After as seconds or an HTTP date, in ms from now; null when absent or unreadable. */
function retryAfterMs(header: string | undefined, now: number): number | null {
  if (header === undefined) return null;
  if (/^\d+$/.test(header.trim())) return Math.min(Number(header) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/**
 * Sends events to the receiver, one request each, signed, over connections kept alive between
 * attempts (each new connection still goes to an address checked for this attempt).
 */
export class Attempts {
  readonly #config: WebhookConfig;
  readonly #timeoutMs: number;
  readonly #signer: WebhookSigner;
  readonly #agent: HttpAgent;
  /** The requests in flight, ended at close. */
  readonly #inFlight = new Set<ClientRequest>();
  #closed = false;

  /** `timeoutMs`: one attempt, from the connection to the response's headers. */
  constructor(config: WebhookConfig, timeoutMs: number) {
    this.#config = config;
    this.#timeoutMs = timeoutMs;
    this.#signer = new WebhookSigner([config.secret, ...(config.previousSecret === null ? [] : [config.previousSecret])]);
    // Node's global agent keeps connections alive too; an agent of its own lets close() end them.
    this.#agent = config.url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  async send(event: AttemptRequest): Promise<Outcome> {
    if (this.#closed) return { kind: 'failed', reason: 'delivery is closed', retryAfterMs: null };
    const { url } = this.#config;
    let checked;
    try {
      checked = await checkedAddress(url.hostname, this.#config.allowPrivate);
    } catch (error) {
      return { kind: 'failed', reason: (error as Error).message, retryAfterMs: null };
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'motoreach-reference-server',
      ...this.#signer.headers(event.id, new Date(), event.body),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeoutMs = this.#timeoutMs;
    return new Promise<Outcome>((resolve) => {
      // One timer, not AbortSignal.timeout composed with a close signal by AbortSignal.any, which
      // showed in the fan-out bench's CPU profile at 1 to 2 µs per request.
      let timedOut = false;
      const req = send(url, { method: 'POST', headers, agent: this.#agent, lookup: pinnedLookup(checked) }, (res) => {
        clearTimeout(timer);
        this.#inFlight.delete(req);
        res.resume();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve({ kind: 'delivered' });
        else if (status === 410) resolve({ kind: 'gone', status });
        else {
          const retryAfter = status === 429 || status === 503 ? retryAfterMs(res.headers['retry-after'], Date.now()) : null;
          // A redirect is not followed: the configured URL is the only place events go.
          resolve({ kind: 'failed', reason: `HTTP ${status}`, retryAfterMs: retryAfter });
        }
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, timeoutMs);
      this.#inFlight.add(req);
      req.on('error', (error) => {
        clearTimeout(timer);
        this.#inFlight.delete(req);
        resolve({ kind: 'failed', reason: timedOut ? `no answer within ${timeoutMs} ms` : error.message, retryAfterMs: null });
      });
      req.end(event.body);
    });
  }

  /** Abandons the attempts in flight (they resolve as failed) and closes the kept connections. */
  close(): void {
    this.#closed = true;
    for (const req of this.#inFlight) req.destroy();
    this.#agent.destroy();
  }
}
