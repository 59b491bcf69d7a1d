import type { RawData } from 'ws';
import { ChatError } from '../chat/errors.js';

// Frames as they arrive; those the server sends are built in chat/frames.ts.

export interface IncomingFrame {
  type: string;
  data: Record<string, unknown>;
}

/** A decoded frame or why it is not one; the client_id is kept either way, for the error's echo. */
export type Decoded = { frame: IncomingFrame; clientId: string | null } | { error: ChatError; clientId: string | null };

function clientIdOf(data: Record<string, unknown>): string | null {
  const id = data.client_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : null;
}

const CLIENT_ID_KEY = Buffer.from('"client_id"');
const CLIENT_ID_VALUE = /^\s*:\s*"([^"\\]{1,128})"/;

/**
 * The client_id of a frame that is refused before it is parsed (over the rate
 * limit), so that its error still tells the client which message to send
 * again: a search for the key in the raw bytes, then at most 600 bytes read
 * (128 characters of up to 4 bytes each, and the colon). Inside a JSON string
 * a quote is escaped, so the key's bytes followed by a colon are a key, never
 * text of the body. Null when there is none, or when it holds an escape.
 */
export function peekClientId(raw: RawData): string | null {
  if (!Buffer.isBuffer(raw)) return null;
  const at = raw.indexOf(CLIENT_ID_KEY);
  if (at < 0) return null;
  const start = at + CLIENT_ID_KEY.length;
  const match = CLIENT_ID_VALUE.exec(raw.toString('utf8', start, start + 600));
  return match ? (match[1] as string) : null;
}

export function decodeFrame(raw: RawData, isBinary: boolean): Decoded {
  if (isBinary) return { error: new ChatError('invalid', 'frames must be JSON text'), clientId: null };
  let data: unknown;
  try {
    data = JSON.parse(raw.toString());
  } catch {
    return { error: new ChatError('invalid', 'frame is not valid JSON'), clientId: null };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { error: new ChatError('invalid', 'frame must be a JSON object'), clientId: null };
  }
  const record = data as Record<string, unknown>;
  const clientId = clientIdOf(record);
  if (typeof record.type !== 'string') return { error: new ChatError('invalid', 'frame has no "type"'), clientId };
  return { frame: { type: record.type, data: record }, clientId };
}
