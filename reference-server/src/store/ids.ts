import { randomBytes } from 'node:crypto';

export function newId(prefix: 'r' | 'm'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
