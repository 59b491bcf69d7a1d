import type { InboxCursor } from '../store/store.js';
import { ChatError } from './errors.js';

/**
 * The wire form of an inbox page's `next_cursor`: the sort key of the page's
 * last row, as base64url JSON. Opaque to clients; anything that does not
 * decode to such a key is the client's mistake, `invalid`.
 */
export function encodeInboxCursor(cursor: InboxCursor): string {
  return Buffer.from(JSON.stringify([cursor.last_activity, cursor.id])).toString('base64url');
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export function decodeInboxCursor(text: string): InboxCursor {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    key = null;
  }
  if (
    !Array.isArray(key) ||
    key.length !== 2 ||
    typeof key[0] !== 'string' ||
    !ISO_TIME.test(key[0]) ||
    typeof key[1] !== 'string' ||
    key[1].length === 0
  ) {
    throw new ChatError('invalid', 'cursor: not a cursor this server gave out');
  }
  return { last_activity: key[0], id: key[1] };
}
