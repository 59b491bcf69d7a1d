import { type ChatError, isFinal as isFinalCode } from '@motoreach/chat-client';

// How the widgets read a ChatError (contract section 9): final refusals are shown as such and stop
// the composer; everything else passes, and the SDK keeps retrying while the user waits.

const TOO_MANY_SOCKETS = 4429;

const isChatError = (e: unknown): e is ChatError => typeof e === 'object' && e !== null && typeof (e as ChatError).code === 'string';

/**
 * The server itself refused the token (401 / 4401), and the SDK gives up on it: it had already asked
 * for a fresh one. A token provider that threw (say the device is offline) is not a refusal, even
 * when the SDK reports it as `unauthorized`: its cause is not the server's answer.
 */
export function isSignedOut(error: ChatError): boolean {
  if (error.code !== 'unauthorized' || (error.status !== 401 && error.closeCode !== 4401)) return false;
  return error.cause === undefined || (isChatError(error.cause) && isSignedOut(error.cause));
}

/** The room refuses this viewer for good: not a participant, no such room, or signed out. */
export const isRoomRefusal = (error: ChatError): boolean => error.code === 'forbidden' || error.code === 'not_found' || isSignedOut(error);

/**
 * Retrying cannot help: the room refuses the viewer, the host closed it, or the message itself was
 * refused (the contract's final codes). `unauthorized` only when the server itself refused the token.
 */
export const isFinal = (error: ChatError): boolean => (error.code === 'unauthorized' ? isSignedOut(error) : isFinalCode(error));

/** A fault that passes: the server or the network, not the viewer or the message. */
export const isTransient = (error: ChatError): boolean =>
  error.closeCode === TOO_MANY_SOCKETS || (!isFinal(error) && error.code !== 'aborted');
