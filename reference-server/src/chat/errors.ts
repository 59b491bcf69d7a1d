import type { ErrorCode, WireErrorBody } from '@motoreach/protocol';
import type { Logger } from '../logger.js';
import { isStoreUnavailable } from '../store/failures.js';

/**
 * The codes, with their HTTP statuses (`ERROR_STATUS`), are the contract's one list in
 * @motoreach/protocol, which the SDK reads too. `invalid`, `forbidden`, `not_found`, `too_large` (and `unauthorized` once a fresh
 * token is refused too) are final: repeating the request cannot help. The others are transient:
 * the client keeps the message and retries it with the same client_id (contract section 9).
 */
export type { ErrorCode };

/** A refusal the caller can act on; its message is safe to show to the caller. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For a transient refusal (`unavailable`, `rate_limited`): REST's Retry-After, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

/** The wire form of an error answer (contract section 4). */
export function errorBody(error: ChatError): WireErrorBody {
  return { error: { code: error.code, message: error.message } };
}

/** Long enough for a lock or a failover to clear; clients back off further on their own. */
const RETRY_AFTER_SECONDS = 2;

/** Failures already logged: the SQLite store fails every append of a batch with one error, logged once. */
const logged = new WeakSet<object>();

/**
 * What a failed call answers. A ChatError is the answer itself. A storage
 * failure is `unavailable` (nothing was stored; a retry with the same
 * client_id is safe). Anything else is a bug, answered `internal` (500 over
 * REST; the WebSocket sends it as `unavailable`): still transient, because a
 * final answer would make the client drop a message the user wrote over a
 * fault that may well be a race and pass, while a bug that does not pass only
 * costs the client retries with backoff. Never `invalid`: the request was fine.
 * The underlying error is logged once, with the caller's context.
 */
export function answerFor(error: unknown, logger: Logger, context: Record<string, unknown>): ChatError {
  if (error instanceof ChatError) return error;
  const unavailable = isStoreUnavailable(error);
  const isObject = typeof error === 'object' && error !== null;
  if (!isObject || !logged.has(error)) {
    if (isObject) logged.add(error);
    logger.error({ ...context, err: error }, unavailable ? 'storage unavailable' : 'unexpected failure');
  }
  return unavailable
    ? new ChatError('unavailable', 'the chat server cannot store this right now; retry shortly', RETRY_AFTER_SECONDS)
    : new ChatError('internal', 'internal error');
}
