import { html, nothing, type TemplateResult } from 'lit';

/** `host`: the link's host as punycode, when the text shows a host that is not ASCII. */
export type TextPart = string | { href: string; text: string; host?: string };

// Only absolute http(s) URLs become links: no javascript:, data:, or relative URLs, whatever the text says.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"»]+$/;

/**
 * Splits text into plain strings and safe http/https links. Look-alikes are not taken at their word:
 * a URL with a user name (`https://paypal.com@evil.example/` goes to evil.example) stays text, and a
 * host written in other scripts (Cyrillic letters that look Latin) comes with its punycode, which
 * tells the real host apart.
 */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index ?? 0;
    const raw = match[0].replace(TRAILING, '');
    let url: URL;
    try {
      url = new URL(raw);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) continue;
    } catch {
      continue;
    }
    if (start > last) parts.push(text.slice(last, start));
    // The host as written: between `//` and the first `/`, `?` or `#` (a port cannot be non-ASCII).
    const written = raw.slice(raw.indexOf('//') + 2).split(/[/?#]/)[0]!;
    parts.push({ href: url.href, text: raw, ...(/[^\x21-\x7e]/.test(written) && { host: url.hostname }) });
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
    typeof p === 'string'
      ? p
      : html`<a part="link" href=${p.href} target="_blank" rel="noopener noreferrer">${p.text}</a>${p.host
          ? html` <span part="link-host">(${p.host})</span>`
          : nothing}`,
  )}`;
}
