// Intl formatters are costly to build and a long history formats thousands of dates: one per locale and style.
const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>();

function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>(key: string, make: () => T): T {
  let f = cache.get(key) as T | undefined;
  if (!f) {
    f = make();
    cache.set(key, f);
  }
  return f;
}

export function formatNumber(n: number, locale?: string): string {
  return cached(`n|${locale}`, () => new Intl.NumberFormat(locale)).format(n);
}

export function formatTime(date: Date, locale?: string): string {
  return cached(`t|${locale}`, () => new Intl.DateTimeFormat(locale, { timeStyle: 'short' })).format(date);
}

export function formatFull(date: Date, locale?: string): string {
  return cached(`f|${locale}`, () => new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short' })).format(date);
}

/**
 * Builds the formatters every message row uses (its time, its full date) when the page is idle: the
 * page's first Intl formatter costs 10-20 ms, better spent while a socket connects than once the
 * history is there to show.
 */
export function prepareTimeFormats(locale?: string): void {
  (globalThis.requestIdleCallback ?? setTimeout)(() => {
    const now = new Date();
    formatTime(now, locale);
    formatFull(now, locale);
  });
}

/** Local calendar day, for grouping and day separators. */
export function dayKey(date: Date): string {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

function capitalize(s: string, locale?: string): string {
  return s.charAt(0).toLocaleUpperCase(locale) + s.slice(1);
}

/** "Today", "Yesterday" (in the locale, through Intl.RelativeTimeFormat), else a date; the year only when it is not this year's. */
export function formatDay(date: Date, locale?: string, now: Date = new Date()): string {
  const startOf = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((startOf(date) - startOf(now)) / 86_400_000);
  if (days === 0 || days === -1) {
    return capitalize(cached(`r|${locale}`, () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })).format(days, 'day'), locale);
  }
  const sameYear = date.getFullYear() === now.getFullYear();
  const fmt = cached(`d|${locale}|${sameYear}`, () =>
    new Intl.DateTimeFormat(locale, sameYear ? { weekday: 'long', day: 'numeric', month: 'long' } : { day: 'numeric', month: 'long', year: 'numeric' }),
  );
  return fmt.format(date);
}

/**
 * How long ago, for a list row: "now" under a minute, then minutes and hours ("5 min. ago"), "yesterday", weekdays'
 * distance up to a week ("3 days ago"), else the date (with the year only when it is not this year's).
 */
export function formatAgo(date: Date, justNow: string, locale?: string, now: Date = new Date()): string {
  const seconds = (now.getTime() - date.getTime()) / 1000;
  const rtf = cached(`a|${locale}`, () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'short' }));
  if (seconds < 60) return justNow;
  if (seconds < 3600) return rtf.format(-Math.floor(seconds / 60), 'minute');
  if (seconds < 86_400) return rtf.format(-Math.floor(seconds / 3600), 'hour');
  const startOf = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((startOf(now) - startOf(date)) / 86_400_000);
  if (days < 7) return rtf.format(-days, 'day');
  const sameYear = date.getFullYear() === now.getFullYear();
  return cached(`s|${locale}|${sameYear}`, () => new Intl.DateTimeFormat(locale, sameYear ? { day: 'numeric', month: 'short' } : { dateStyle: 'medium' })).format(date);
}
