/**
 * What stalls a server's event loop, and where its memory goes, recorded from inside the server
 * process without touching its code (docs/benchmarks.md, "Tail latency and RSS under load"):
 *
 *   NODE_OPTIONS="--import $PWD/bench/server/tail-probe.ts" TAIL_PROBE_OUT=/tmp/probe \
 *     node --import tsx bench/server-fanout.ts --variants b,c --skip-memory --rounds 1
 *
 * NODE_OPTIONS reaches every server the bench starts (and the load generator, where this does
 * nothing). Each server writes `<TAIL_PROBE_OUT>-<baseline|reference-server>-<pid>.json` at exit:
 * `eventLoopDelayMs` (monitorEventLoopDelay, 1 ms resolution), `events` as [kind, epoch ms, ms,
 * messages]: every GC pause (`gc-minor` is a scavenge), every SQLite transaction (`tx`, with its
 * batch size) and every `wal_checkpoint` run on the main thread; and `peak`: process.memoryUsage(),
 * V8's heap spaces [name, size, used, physical MB] and /proc/self/smaps's RSS by mapping (KiB), read
 * each second and kept at the highest RSS. With TAIL_PROBE_V8_FLAGS="--trace-gc-nvp" each scavenge
 * prints what it copied and promoted to the server's output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { isMainThread } from 'node:worker_threads';

const role = /baseline|reference-server/.exec(process.argv[1] ?? '')?.[0];
const out = isMainThread && role && process.env.TAIL_PROBE_OUT ? `${process.env.TAIL_PROBE_OUT}-${role}-${process.pid}.json` : null;

if (out) {
  if (process.env.TAIL_PROBE_V8_FLAGS) v8.setFlagsFromString(process.env.TAIL_PROBE_V8_FLAGS);
  const origin = performance.timeOrigin;
  const now = () => origin + performance.now();
  const events: Array<[string, number, number, number?]> = [];
  const GC_KINDS: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'gc-major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'gc-minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'gc-incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'gc-weakcb',
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      events.push([GC_KINDS[kind ?? -1] ?? 'gc', origin + entry.startTime, entry.duration]);
    }
  }).observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();

  // The server's own better-sqlite3 (the same module instance): its transactions and the checkpoints it runs.
  const Database = createRequire(process.argv[1]!)('better-sqlite3') as {
    prototype: { pragma: (...args: unknown[]) => unknown; transaction: (fn: unknown) => Record<string, unknown> & ((...args: unknown[]) => unknown) };
  };
  const pragma = Database.prototype.pragma;
  Database.prototype.pragma = function (this: unknown, ...args: unknown[]) {
    if (!String(args[0]).startsWith('wal_checkpoint')) return pragma.apply(this, args);
    const started = now();
    const result = pragma.apply(this, args);
    events.push([`checkpoint ${args[0]}`, started, now() - started]);
    return result;
  };
  const transaction = Database.prototype.transaction;
  Database.prototype.transaction = function (this: unknown, fn: unknown) {
    const run = transaction.call(this, fn);
    const timed = function (this: unknown, ...args: unknown[]) {
      const started = now();
      const result = run.apply(this, args);
      events.push(['tx', started, now() - started, Array.isArray(args[0]) ? args[0].length : 1]);
      return result;
    } as typeof run;
    for (const mode of ['deferred', 'immediate', 'exclusive', 'default']) timed[mode] = run[mode];
    return timed;
  };

  const smaps = () => {
    const kib: Record<string, number> = {};
    let mapping = '';
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) mapping = head[1] || '[anon]';
      else {
        const rss = /^Rss:\s+(\d+) kB/.exec(line);
        if (rss) kib[mapping] = (kib[mapping] ?? 0) + Number(rss[1]);
      }
    }
    return kib;
  };
  const mb = (bytes: number) => Math.round(bytes / 104857.6) / 10;
  let peak: { at: number; memory: NodeJS.MemoryUsage; spaces: Array<[string, number, number, number]>; smapsKiB: Record<string, number> } | null = null;
  setInterval(() => {
    const memory = process.memoryUsage();
    if (peak && memory.rss <= peak.memory.rss) return;
    const spaces = v8.getHeapSpaceStatistics().map((s): [string, number, number, number] => [s.space_name, mb(s.space_size), mb(s.space_used_size), mb(s.physical_space_size)]);
    peak = { at: now(), memory, spaces, smapsKiB: smaps() };
  }, 1000).unref();

  process.on('exit', () => {
    const ms = (ns: number) => ns / 1e6;
    const eventLoopDelayMs = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean) };
    writeFileSync(out, JSON.stringify({ eventLoopDelayMs, events, peak }));
  });
}
