import type { ReconnectOptions } from './types.js';

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = { minDelayMs: 500, maxDelayMs: 30_000, factor: 2 };

// Exponential backoff with full jitter: uniform in [0, min(max, min * factor^attempt)],
// so that many clients dropped by one server restart do not all come back in the same instant.
// `options` are complete: the client fills in DEFAULT_RECONNECT once.
export function backoffDelay(attempt: number, { minDelayMs, maxDelayMs, factor }: Required<ReconnectOptions>, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * factor ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
