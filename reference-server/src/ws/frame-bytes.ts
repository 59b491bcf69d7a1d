import type { FanoutEvent } from '../fanout/fanout.js';

/** FIN and the text opcode: every frame the server sends is one whole text message. */
const FIN_TEXT = 0x81;

let lastEvent: FanoutEvent | null = null;
let lastBytes: Buffer = Buffer.alloc(0);

/**
 * A published frame as the bytes of one WebSocket text frame, header included (a server's frames
 * are not masked, so they are the same for every socket), built once however many sockets receive
 * it and written to each connection as they are. Handed the text, `ws` would encode it again for
 * every socket; handed its bytes, it would still build a header and an options object per socket,
 * which V8 makes property by property in its runtime (a symbol key comes first): about 12,000
 * instructions a frame, a tenth of the server's instructions per message (docs/benchmarks.md).
 * The fan-out delivers one event to all of its listeners before the next, so remembering the last
 * event is enough to encode each one once.
 */
export function frameBytes(event: FanoutEvent): Buffer {
  if (event !== lastEvent) {
    lastBytes = textFrame(event.frame);
    lastEvent = event;
  }
  return lastBytes;
}

/** RFC 6455 section 5.2: FIN and opcode, then the payload's length in 7 bits, or 126 and 16 bits, or 127 and 64 bits. */
function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN_TEXT;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, 'utf8');
  return frame;
}
