export type ChatErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'network'
  | 'timeout'
  | 'closed'
  | 'server';

export interface ChatErrorInit {
  status?: number;
  closeCode?: number;
  clientId?: string;
  cause?: unknown;
}

export class ChatError extends Error {
  readonly code: ChatErrorCode;
  readonly status?: number;
  readonly closeCode?: number;
  readonly clientId?: string;

  constructor(code: ChatErrorCode, message: string, init: ChatErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ChatError';
    this.code = code;
    if (init.status !== undefined) this.status = init.status;
    if (init.closeCode !== undefined) this.closeCode = init.closeCode;
    if (init.clientId !== undefined) this.clientId = init.clientId;
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

const BY_CLOSE: Record<number, ChatErrorCode> = {
  4401: 'unauthorized',
  4403: 'forbidden',
  4404: 'not_found',
};

export const codeForStatus = (status: number): ChatErrorCode => BY_STATUS[status] ?? 'server';

export const codeForClose = (code: number): ChatErrorCode => BY_CLOSE[code] ?? 'network';

// Refusals that a retry with the same input cannot change.
export const isFinal = (e: ChatError): boolean =>
  e.code === 'invalid' || e.code === 'too_large' || e.code === 'forbidden' || e.code === 'not_found';

export const toChatError = (e: unknown, code: ChatErrorCode = 'network'): ChatError =>
  e instanceof ChatError ? e : new ChatError(code, e instanceof Error ? e.message : String(e), { cause: e });
