import { randomFillSync } from 'node:crypto';

const ID_BYTES = 12;
// One system call fills the entropy for many ids: an id per message is on the hot path.
const pool = Buffer.alloc(ID_BYTES * 256);
let offset = pool.length;

export function newId(prefix: 'r' | 'm'): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `${prefix}_${id}`;
}
