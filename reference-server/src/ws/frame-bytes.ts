import type { FanoutEvent } from '../fanout/fanout.js';

let lastEvent: FanoutEvent | null = null;
let lastBytes = Buffer.alloc(0);

/**
 * The UTF-8 bytes of a published frame, encoded once however many sockets
 * receive it: handed a string, `ws` would encode it again for every socket.
 * The fan-out delivers one event to all of its listeners before the next, so
 * remembering the last event is enough to encode each one once.
 */
export function frameBytes(event: FanoutEvent): Buffer {
  if (event !== lastEvent) {
    lastBytes = Buffer.from(event.frame);
    lastEvent = event;
  }
  return lastBytes;
}
