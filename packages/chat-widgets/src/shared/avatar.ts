import { html, type TemplateResult } from 'lit';
import type { Sender } from '@motoreach/chat-client';
import { personKey } from './person.js';

/** How many avatar colours the styles define (`.avatar[data-color]`). */
export const AVATAR_COLORS = 8;

/** Up to two letters: the first of the first and of the last word ("Ana Sousa" → "AS"), or "?". */
export function initials(name: string | null | undefined): string {
  const words = (name ?? '').trim().split(/\s+/).filter(Boolean);
  const first = words[0];
  if (!first) return '?';
  const last = words.length > 1 ? words[words.length - 1] : undefined;
  // Array.from keeps a letter outside the BMP (or an emoji) whole.
  const letter = (w: string) => Array.from(w)[0] ?? '';
  return (letter(first) + (last ? letter(last) : '')).toLocaleUpperCase();
}

/**
 * A colour index that is the same for a person on every device and every render: FNV-1a of the
 * person key, its high half folded into the low bits (which alone spread poorly over a few colours).
 */
export function avatarColor(person: Pick<Sender, 'id' | 'role'>): number {
  let hash = 0x811c9dc5;
  for (const ch of personKey(person)) {
    hash ^= ch.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return ((hash ^ (hash >>> 16)) >>> 0) % AVATAR_COLORS;
}

/** Decorative: the sender's name is in the text next to it (or announced with the message). */
export function renderAvatar(person: Sender): TemplateResult {
  return html`<span part="avatar" class="avatar" data-color=${avatarColor(person)} aria-hidden="true">${initials(person.name)}</span>`;
}
