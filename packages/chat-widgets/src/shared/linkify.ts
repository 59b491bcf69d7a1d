import { html, type TemplateResult } from 'lit';

export type TextPart = string | { href: string; text: string };

// Only absolute http(s) URLs become links: no javascript:, data:, or relative URLs, whatever the text says.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"»]+$/;

/** Splits text into plain strings and safe http/https links. */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index ?? 0;
    const raw = match[0].replace(TRAILING, '');
    let href: string;
    try {
      const url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
      href = url.href;
    } catch {
      continue;
    }
    if (start > last) parts.push(text.slice(last, start));
    parts.push({ href, text: raw });
    last = start + raw.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** Renders a message body: always as text nodes (Lit escapes bindings); links only when asked for. */
export function renderBody(text: string, linkify: boolean): TemplateResult | string {
  if (!linkify) return text;
  const parts = splitLinks(text);
  if (parts.length === 1 && typeof parts[0] === 'string') return text;
  return html`${parts.map((p) =>
    typeof p === 'string' ? p : html`<a part="link" href=${p.href} target="_blank" rel="noopener noreferrer">${p.text}</a>`,
  )}`;
}
