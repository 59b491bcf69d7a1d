/** The second whose text `prefix` holds, as "2026-12-07T23:20:05." */
let second = Number.NaN;
let prefix = '';

/**
 * The time as `Date.prototype.toISOString()` writes it ("2026-12-07T23:20:05.123Z"), for times of
 * the years 1970 to 9999. Every message stores the time it was sent: V8 formats one through its
 * date cache in about 7,000 instructions, so the text up to the second is kept and only the
 * milliseconds are written (docs/benchmarks.md).
 */
export function isoNow(now = Date.now()): string {
  const s = Math.floor(now / 1000);
  if (s !== second) {
    prefix = new Date(s * 1000).toISOString().slice(0, 20);
    second = s;
  }
  const ms = now - s * 1000;
  return `${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}
