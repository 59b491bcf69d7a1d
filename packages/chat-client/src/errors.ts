export type ChatErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'network'
  | 'unreachable'
  | 'timeout'
  | 'closed'
  | 'expired'
  | 'server';

export interface ChatErrorInit {
  status?: number;
  closeCode?: number;
  clientId?: string;
  /** `unreachable`: the base URL that was tried. */
  baseUrl?: string;
  cause?: unknown;
}

export class ChatError extends Error {
  declare readonly code: ChatErrorCode;
  declare readonly status?: number;
  declare readonly closeCode?: number;
  declare readonly clientId?: string;
  declare readonly baseUrl?: string;

  constructor(code: ChatErrorCode, message: string, { cause, ...where }: ChatErrorInit = {}) {
    super(message, { cause });
    Object.assign(this, { name: 'ChatError', code }, where);
  }
}

const BY_STATUS: Record<number, ChatErrorCode> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'too_large',
  429: 'rate_limited',
  503: 'unavailable',
};

// Closes the contract names; any other close (1001, 1006, 1011, 1012, 1013, ...) is a lost
// connection. Only 4403, 4404 and a second 4401 stop a connection (see Connection).
const BY_CLOSE: Record<number, ChatErrorCode> = {
  4401: 'unauthorized',
  4403: 'forbidden',
  4404: 'not_found',
  4429: 'rate_limited',
};

export const codeForStatus = (status: number): ChatErrorCode => BY_STATUS[status] ?? 'server';

export const codeForClose = (code: number): ChatErrorCode => BY_CLOSE[code] ?? 'network';

const FINAL: readonly ChatErrorCode[] = ['invalid', 'too_large', 'forbidden', 'not_found', 'unauthorized'];

// Refusals that a retry with the same input cannot change (contract section 9). The SDK makes an
// `unauthorized` only once a fresh token was refused too; everything else is retried with backoff.
export const isFinal = (e: ChatError): boolean => FINAL.includes(e.code);

// The code of a WS `error` frame; one this SDK does not know is a server fault, so transient.
export const codeForFrame = (code: string): ChatErrorCode =>
  [...FINAL, 'rate_limited', 'unavailable'].includes(code) ? (code as ChatErrorCode) : 'server';

export const toChatError = (e: unknown): ChatError =>
  e instanceof ChatError ? e : new ChatError('network', e instanceof Error ? e.message : String(e), { cause: e });
