import { CLOSE_ERRORS, ERROR_STATUS, FINAL_CODES, type FrameErrorCode } from '@motoreach/protocol';

/**
 * The wire's codes (from the contract's one list) and the SDK's own for what never reached a server.
 * `aborted`: the SDK stopped waiting for the caller (close(), signOut(), another person signed in);
 * unlike the wire's `closed` (the host closed the room) it is not final. `lost`: a file to send did not
 * survive a page reload (the outbox storage could not keep its bytes); the message names it.
 */
export type ChatErrorCode = FrameErrorCode | 'network' | 'unreachable' | 'timeout' | 'aborted' | 'expired' | 'lost' | 'server';

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

// A code of the contract the SDK reports as it is. `internal` (a server's own bug) and a code this SDK
// does not know (or none) are a server fault, `server`: transient.
export const codeForFrame = (code = ''): ChatErrorCode =>
  code !== 'internal' && Object.hasOwn(ERROR_STATUS, code) ? (code as FrameErrorCode) : 'server';

// A REST answer: its body's `error.code` when the contract has it (409 is `conflict` or `closed`),
// else what its status names.
export const codeForStatus = (status: number, code?: string): ChatErrorCode =>
  codeForFrame(code && Object.hasOwn(ERROR_STATUS, code) ? code : Object.keys(ERROR_STATUS).find((c) => ERROR_STATUS[c as keyof typeof ERROR_STATUS] === status));

// The contract's close codes; any other close (1001, 1006, 1011, 1012, 1013, ...) is a lost
// connection. Only 4403, 4404 and a second 4401 stop a connection (see Connection).
export const codeForClose = (code: number): ChatErrorCode => CLOSE_ERRORS[code as keyof typeof CLOSE_ERRORS] ?? 'network';

const FINAL: readonly ChatErrorCode[] = FINAL_CODES;

// Refusals that a retry with the same input cannot change (contract section 9). The SDK makes an
// `unauthorized` only once a fresh token was refused too; everything else is retried with backoff.
export const isFinal = (e: ChatError): boolean => FINAL.includes(e.code);

export const toChatError = (e: unknown): ChatError =>
  e instanceof ChatError ? e : new ChatError('network', e instanceof Error ? e.message : String(e), { cause: e });
