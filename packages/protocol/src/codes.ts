// The codes of the contract, listed once: the reference server answers with them and the SDK reads
// them, both from here (docs/protocol.md, "Errors (REST)", "Final and transient errors" and
// "Connecting and refusals").

/** Every `error.code` a REST answer carries, with its HTTP status. */
export const ERROR_STATUS = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  /** The request contradicts the stored state (a service request put under another owner or workshop). */
  conflict: 409,
  /** The room is closed: it keeps its history and reads but takes no new messages. */
  closed: 409,
  too_large: 413,
  rate_limited: 429,
  /** The reference server's answer to a bug of its own; any other 5xx means the same to a client. */
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The codes of a WebSocket `error` frame: a server fault goes out there as `unavailable`, not `internal`. */
export type FrameErrorCode = Exclude<ErrorCode, 'internal'>;

/**
 * Refusals that a retry with the same input cannot change: the client gives up on the request.
 * `unauthorized` is final only once a freshly fetched token was refused too. Every other code is
 * transient: retried with backoff and the same client_id.
 */
export const FINAL_CODES = ['invalid', 'too_large', 'forbidden', 'not_found', 'conflict', 'closed', 'unauthorized'] as const satisfies readonly ErrorCode[];

// The contract's own close codes, each the WebSocket form of an error code. Separate constants, so
// that a bundle keeps only those it uses.
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;
/** Too many sockets for one caller, or opened too often: transient, reconnect later with backoff. */
export const CLOSE_TOO_MANY = 4429;

/** The error code a client reports for each of the contract's close codes. */
export const CLOSE_ERRORS = {
  [CLOSE_UNAUTHORIZED]: 'unauthorized',
  [CLOSE_FORBIDDEN]: 'forbidden',
  [CLOSE_NOT_FOUND]: 'not_found',
  [CLOSE_TOO_MANY]: 'rate_limited',
} as const satisfies Record<number, FrameErrorCode>;

/**
 * Every close code a server sends: the contract's own, and the standard ones (RFC 6455), all
 * transient for a client (a lost connection: reconnect with backoff).
 */
export const CLOSE = {
  /** The server is shutting down. */
  goingAway: 1001,
  /** Frames refused for their rate, again and again within a short window. */
  policy: 1008,
  /** A failure of the server's own while it set the socket up. */
  internalError: 1011,
  /** Reconnect and resynchronise: this socket may have missed frames. */
  resync: 1012,
  /** "Try again later": what the server needed (storage, Redis) did not answer. */
  tryLater: 1013,
  unauthorized: CLOSE_UNAUTHORIZED,
  forbidden: CLOSE_FORBIDDEN,
  notFound: CLOSE_NOT_FOUND,
  tooMany: CLOSE_TOO_MANY,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];
