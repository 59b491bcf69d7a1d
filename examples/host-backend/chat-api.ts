// The backend's calls to the chat server's REST API, as its service. Every call here is
// idempotent (a PUT by id, a system message with a client_id of the backend's own, a GET, a
// DELETE), so a call that failed for a passing reason is simply made again, with backoff. A
// refusal (a 4xx but 408 and 429) is final: it is thrown at once as a ChatApiError with the chat's code.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, RoomDetail, SentMessage, WireErrorBody } from '@motoreach/protocol';

/** `PUT /api/service-requests/{id}/`: the whole room as the backend's record has it. */
export interface RoomPut {
  user_id: string;
  workshop_id: string;
  title: string;
  status: 'open' | 'closed';
  user_name: string | null;
  workshop_name: string | null;
}

/** A system message: `data` is the backend's own structured content (a JSON object, at most 4 KiB). */
export interface SystemMessage {
  body: string;
  client_id: string;
  data: Record<string, unknown>;
}

export interface ChatApiOptions {
  /** The chat server, e.g. `https://chat.example.com`. */
  baseUrl: string;
  /** A service token; called for every attempt, so an expired one is never sent again. */
  token: () => string;
  /** Attempts per call, the first included. */
  attempts?: number;
  /** Backoff: the wait after the first failed attempt, doubled after each one, up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** One attempt longer than this is abandoned and counts as a passing failure. */
  timeoutMs?: number;
  /** Where retries are told. It gets the method, path and why; never a token or a body. */
  log?: (line: string) => void;
}

export class ChatApiError extends Error {
  constructor(
    /** The chat's HTTP status; null when nothing answered (network, timeout). */
    readonly status: number | null,
    /** The chat's `error.code` (`invalid`, `closed`, `unavailable`...), or `network`. */
    readonly code: string,
    message: string,
    /** Final: the request itself is wrong, and repeating it cannot help. */
    readonly final: boolean,
  ) {
    super(message);
    this.name = 'ChatApiError';
  }
}

export class ChatApi {
  readonly #baseUrl: string;
  readonly #token: () => string;
  readonly #attempts: number;
  readonly #minDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #log: (line: string) => void;

  constructor({ baseUrl, token, attempts = 5, minDelayMs = 250, maxDelayMs = 8000, timeoutMs = 10_000, log = console.warn }: ChatApiOptions) {
    this.#baseUrl = baseUrl.replace(/\/$/, '');
    this.#token = token;
    this.#attempts = attempts;
    this.#minDelayMs = minDelayMs;
    this.#maxDelayMs = maxDelayMs;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
  }

  // #region calls
  /** Creates the room under the backend's id, or brings it in line with the backend's record. */
  async putRoom(id: string, room: RoomPut): Promise<{ room: RoomDetail; created: boolean }> {
    const { status, body } = await this.#call<RoomDetail>('PUT', `/api/service-requests/${encodeURIComponent(id)}/`, room);
    return { room: body, created: status === 201 };
  }

  /** Posts as the backend: shown to both sides as a system message, unread for both. */
  async postSystemMessage(requestId: string, message: SystemMessage): Promise<Message> {
    const { body } = await this.#call<SentMessage>('POST', `/api/service-requests/${encodeURIComponent(requestId)}/messages/`, message);
    return body.message;
  }

  /** Everything the chat stores about a person: their rooms and the messages they sent. */
  async exportUser(userId: string): Promise<unknown> {
    return (await this.#call<unknown>('GET', `/api/users/${encodeURIComponent(userId)}/export/`)).body;
  }

  /** Redacts every message the person sent, in every room; seq and counts stay. */
  async eraseUser(userId: string): Promise<void> {
    await this.#call<unknown>('DELETE', `/api/users/${encodeURIComponent(userId)}/messages/`);
  }
  // #endregion calls

  // #region retry
  async #call<T>(method: string, path: string, payload?: object): Promise<{ status: number; body: T }> {
    for (let attempt = 1; ; attempt++) {
      let failure: ChatApiError;
      let retryAfterMs = 0;
      const token = this.#token();
      try {
        const res = await fetch(this.#baseUrl + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload && { 'content-type': 'application/json' }),
          },
          ...(payload && { body: JSON.stringify(payload) }),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        const text = await res.text();
        // A proxy in front of the chat may answer an error as HTML: no body of the contract's then.
        const body: unknown = res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : null;
        if (res.ok) return { status: res.status, body: body as T };
        const error = (body as Partial<WireErrorBody> | null)?.error;
        // 408, 429 and every 5xx may pass (contract section 9); any other 4xx is a refusal.
        const final = res.status < 500 && res.status !== 408 && res.status !== 429;
        failure = new ChatApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? res.statusText, final);
        retryAfterMs = 1000 * (Number(res.headers.get('retry-after')) || 0);
      } catch (error) {
        // No whole answer: refused connection, reset, DNS, or our own timeout.
        const cause = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.name) : String(error);
        failure = new ChatApiError(null, 'network', `no answer from the chat server (${cause})`, false);
      }
      if (failure.final || attempt >= this.#attempts) throw failure;
      const delayMs = Math.max(retryAfterMs, Math.min(this.#maxDelayMs, this.#minDelayMs * 2 ** (attempt - 1)));
      this.#log(`chat ${method} ${path}: ${[failure.status, failure.code].filter(Boolean).join(' ')}; attempt ${attempt} of ${this.#attempts}, again in ${delayMs} ms`);
      await sleep(delayMs);
    }
  }
  // #endregion retry
}
