import type { RawData } from 'ws';
import { ChatError } from '../chat/errors.js';

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
