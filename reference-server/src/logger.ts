import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'motoreach-reference-server' },
    // "warn", not 40: read by people and by log tools that do not know pino's numbers.
    formatters: { level: (label) => ({ level: label }) },
    // Belt and braces: the server never logs a URL with its query string or a header with a token.
    redact: { paths: ['token', '*.token', 'ticket', '*.ticket', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
  });
}

/** A URL's path without its query string, which may hold a token or a ticket. */
export function pathOf(url: string | undefined): string {
  if (!url) return '';
  const end = url.indexOf('?');
  return end === -1 ? url : url.slice(0, end);
}
