import type { RawData } from 'ws';
import { ChatError } from '../chat/errors.js';

export interface IncomingFrame {
  type: string;
  clientId: string | null;
  data: Record<string, unknown>;
}

/** The `client_id` of a frame, echoed in its error even when the rest is malformed. */
function clientIdOf(data: Record<string, unknown>): string | null {
  const id = data.client_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : null;
}

export function decodeFrame(raw: RawData, isBinary: boolean): IncomingFrame {
  if (isBinary) throw new ChatError('invalid', 'frames must be JSON text');
  let data: unknown;
  try {
    data = JSON.parse(raw.toString());
  } catch {
    throw new ChatError('invalid', 'frame is not valid JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ChatError('invalid', 'frame must be a JSON object');
  }
  const record = data as Record<string, unknown>;
  if (typeof record.type !== 'string') throw new ChatError('invalid', 'frame has no "type"');
  return { type: record.type, clientId: clientIdOf(record), data: record };
}
