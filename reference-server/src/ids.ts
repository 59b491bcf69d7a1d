import { randomFillSync } from 'node:crypto';

const ID_BYTES = 12;
// One system call fills the entropy for many ids: an id per message is on the hot path.
const pool = Buffer.alloc(ID_BYTES * 256);
let offset = pool.length;

/**
 * 16 random URL-safe characters, as one flat string. (`crypto.randomUUID()`
 * builds its string from about fifteen concatenated pieces, which a
 * long-lived id keeps: half a KiB per socket.)
 */
export function randomId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}

/** `evt_`: a webhook event's id, its `webhook-id` on every attempt. */
export function newId(prefix: 'r' | 'm' | 'evt'): string {
  return `${prefix}_${randomId()}`;
}
