/**
 * Fan-out benchmark of the reference server against two baselines on the same
 * machine in the same run: (a) a bare `ws` broadcast server and (b) the same
 * plus a synchronous SQLite INSERT per message. The machine is noisy, so the
 * targets are ratios of (c) the reference server to (b) at the same
 * `synchronous` setting.
 *
 *   node --import tsx bench/server-fanout.ts [--rounds 3] [--rooms 50] [--messages 200]
 *     [--warmup 20] [--idle 5000] [--synchronous full,normal] [--variants a,b,c] (n: (b) + notification frames;
 *     w: (c) with webhooks on, delivered to a receiver process; x: the same of --compare-with DIR)
 *     [--compare-with DIR] [--cpu-prof] [--skip-memory]
 *
 * Every server runs in its own child process; this process is the load generator.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, type IdleResult, idleMemory, idleUrls, type LoopResult, planRooms } from './server/load.js';
import { isReferenceServer, REPO_ROOT, type ServerSettings, startServerUnderTest, VARIANTS, type VariantKey } from './server/processes.js';

/** Issue 8: at least the durable baseline's throughput, at most its p99, at either `synchronous` setting. */
const TARGETS = { throughput: 1.0, p99: 1.0, memory: 1.3 } as const;
/** Issue 17: sending with webhooks on keeps at least this share of the throughput with them off. */
const WEBHOOKS_THROUGHPUT = 0.9;

type Synchronous = ServerSettings['synchronous'];

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rooms: { type: 'string', default: '50' },
    messages: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    idle: { type: 'string', default: '5000' },
    synchronous: { type: 'string', default: 'full,normal' },
    'compare-with': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    variants: { type: 'string', default: 'a,b,c' },
  },
});
const rounds = Number(opts.rounds);
const rooms = Number(opts.rooms);
const messages = Number(opts.messages);
const warmup = Number(opts.warmup);
const idle = Number(opts.idle);
const compareWith = opts['compare-with'] ? resolve(opts['compare-with']) : null;
const KEYS = [...opts.variants.split(','), ...(compareWith ? ['r'] : [])].filter(
  (k, i, all): k is VariantKey => k in VARIANTS && all.indexOf(k) === i,
);
if (KEYS.length === 0) throw new Error('--variants is a comma-separated subset of a,b,n,c,w');
if ((KEYS.includes('r') || KEYS.includes('x')) && !compareWith) throw new Error('variants r and x are the reference server of --compare-with DIR');
const SETTINGS = opts.synchronous.split(',').filter((s): s is Synchronous => s === 'full' || s === 'normal');
if (SETTINGS.length === 0) throw new Error('--synchronous is full, normal or full,normal');
const resultsDir = join(REPO_ROOT, 'bench/results');
const jwtSecret = randomBytes(24).toString('hex');
const settingsFor = (synchronous: Synchronous, profile: boolean): ServerSettings => ({
  synchronous,
  jwtSecret,
  cpuProfDir: profile && opts['cpu-prof'] ? join(resultsDir, 'cpu-prof', synchronous) : null,
  compareWith,
});

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function runLoop(key: VariantKey, synchronous: Synchronous): Promise<LoopResult> {
  const server = await startServerUnderTest(key, settingsFor(synchronous, true));
  try {
    return await closedLoop(server, await planRooms(server, rooms, jwtSecret), messages, warmup);
  } finally {
    await server.stop();
  }
}

async function runIdle(key: VariantKey, kind: 'chat' | 'notifications'): Promise<IdleResult> {
  // Idle sockets write nothing: the `synchronous` setting does not matter here.
  const server = await startServerUnderTest(key, settingsFor(SETTINGS[0]!, false));
  try {
    return await idleMemory(server, await idleUrls(server, idle, jwtSecret, kind));
  } finally {
    await server.stop();
  }
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const log = (line: string) => process.stdout.write(`${line}\n`);

log(`fan-out bench: ${rooms} rooms × 2 participants × ${messages} messages (+${warmup} warm-up each), ${rounds} rounds, ` +
  `synchronous=${SETTINGS.join(',')}, ${idle} idle connections; node ${process.version}, ${availableParallelism()} CPUs` +
  (compareWith ? `; (r) = ${compareWith}` : ''));

const noLoops = (): Record<VariantKey, LoopResult[]> => ({ a: [], b: [], n: [], c: [], w: [], r: [], x: [] });
const loops: Record<Synchronous, Record<VariantKey, LoopResult[]>> = { full: noLoops(), normal: noLoops() };
for (let round = 1; round <= rounds; round++) {
  // Interleaved, so a noisy minute hurts every variant and setting rather than one.
  for (const sync of SETTINGS) {
    for (const key of KEYS) {
      const r = await runLoop(key, sync);
      loops[sync][key].push(r);
      log(`  round ${round} ${sync.padEnd(6)} (${key}) ${VARIANTS[key].padEnd(24)} ${fmt(r.msgsPerSecond, 0).padStart(7)} msg/s  p50 ${fmt(r.p50Ms, 2)} ms  ` +
        `p99 ${fmt(r.p99Ms, 2)} ms  server CPU ${fmt(r.serverCpu * 100, 0)}% (${fmt(r.serverCpuUsPerMessage, 0)} µs/msg, main thread ${fmt(r.serverMainThreadUsPerMessage, 0)})  load CPU ${fmt(r.loadCpu * 100, 0)}%` +
        (isReferenceServer(key) ? `  seq errors ${r.seqErrors}, missing notifications ${r.missingNotifications}` : '') +
        (key === 'w' || key === 'x' ? `, webhook events behind at the end ${r.webhookBacklog}` : ''));
    }
  }
}

type MemoryKey = VariantKey | 'c-notifications';
const memoryRuns: Partial<Record<MemoryKey, IdleResult[]>> = {};
if (!opts['skip-memory']) {
  const runs: Array<[MemoryKey, VariantKey, 'chat' | 'notifications']> = [
    ...KEYS.map((key): [MemoryKey, VariantKey, 'chat'] => [key, key, 'chat']),
    ...(KEYS.includes('c') ? [['c-notifications', 'c', 'notifications'] as [MemoryKey, VariantKey, 'notifications']] : []),
  ];
  // One RSS reading is a noisy figure too: a fresh server per round, interleaved like the loops.
  for (let round = 1; round <= rounds; round++) {
    for (const [label, key, kind] of runs) {
      const m = await runIdle(key, kind);
      (memoryRuns[label] ??= []).push(m);
      log(`  round ${round} idle (${label}) ${fmt(m.kibPerConnection, 2)} KiB/conn after GC (JS heap ${fmt(m.heapKibPerConnection, 2)}), ` +
        `${fmt(m.kibPerConnectionNoGc, 2)} settled without GC (RSS ${m.rssBeforeKiB} → ${m.rssAfterKiB} KiB)`);
    }
  }
}
const memory = Object.fromEntries(
  Object.entries(memoryRuns).map(([label, ms]) => [
    label,
    {
      connections: idle,
      kibPerConnection: median(ms.map((m) => m.kibPerConnection)),
      kibPerConnectionNoGc: median(ms.map((m) => m.kibPerConnectionNoGc)),
      heapKibPerConnection: median(ms.map((m) => m.heapKibPerConnection)),
    },
  ]),
) as Partial<Record<MemoryKey, { connections: number; kibPerConnection: number; kibPerConnectionNoGc: number; heapKibPerConnection: number }>>;

interface VariantSummary {
  variant: string;
  msgsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  serverCpu: number;
  serverCpuUsPerMessage: number;
  serverMainThreadUsPerMessage: number;
  loadCpu: number;
  seqErrors: number;
  missingNotifications: number;
}

const summary = Object.fromEntries(
  SETTINGS.map((sync) => [
    sync,
    Object.fromEntries(
      KEYS.map((key): [VariantKey, VariantSummary] => {
        const rs = loops[sync][key];
        return [
          key,
          {
            variant: VARIANTS[key],
            msgsPerSecond: median(rs.map((r) => r.msgsPerSecond)),
            p50Ms: median(rs.map((r) => r.p50Ms)),
            p99Ms: median(rs.map((r) => r.p99Ms)),
            serverCpu: median(rs.map((r) => r.serverCpu)),
            serverCpuUsPerMessage: median(rs.map((r) => r.serverCpuUsPerMessage)),
            serverMainThreadUsPerMessage: median(rs.map((r) => r.serverMainThreadUsPerMessage)),
            loadCpu: median(rs.map((r) => r.loadCpu)),
            seqErrors: rs.reduce((sum, r) => sum + r.seqErrors, 0),
            missingNotifications: rs.reduce((sum, r) => sum + r.missingNotifications, 0),
          },
        ];
      }),
    ),
  ]),
) as Record<Synchronous, Partial<Record<VariantKey, VariantSummary>>>;

interface Check {
  synchronous: Synchronous | null;
  target: string;
  ratio: number;
  result: 'PASS' | 'FAIL';
}
const check = (synchronous: Synchronous | null, target: string, ratio: number, pass: boolean): Check => ({
  synchronous,
  target,
  ratio,
  result: pass ? 'PASS' : 'FAIL',
});
const checks: Check[] = [];
for (const sync of SETTINGS) {
  const { b, c } = summary[sync];
  if (!b || !c) continue;
  const throughput = c.msgsPerSecond / b.msgsPerSecond;
  const p99 = c.p99Ms / b.p99Ms;
  checks.push(check(sync, `throughput ≥ ${TARGETS.throughput}× (b)`, throughput, throughput >= TARGETS.throughput));
  checks.push(check(sync, `p99 ≤ ${TARGETS.p99}× (b)`, p99, p99 <= TARGETS.p99));
  // Doing what the contract asks is part of the target: a fast run that lost a seq or a notification fails.
  checks.push(check(sync, 'seq errors + missing notifications = 0', c.seqErrors + c.missingNotifications, c.seqErrors + c.missingNotifications === 0));
}
for (const sync of SETTINGS) {
  const { c, w } = summary[sync];
  if (!c || !w) continue;
  const throughput = w.msgsPerSecond / c.msgsPerSecond;
  checks.push(check(sync, `(w) throughput ≥ ${WEBHOOKS_THROUGHPUT}× (c)`, throughput, throughput >= WEBHOOKS_THROUGHPUT));
}
if (memory.b && memory.c) {
  const ratio = memory.c.kibPerConnection / memory.b.kibPerConnection;
  checks.push(check(null, `memory/conn ≤ ${TARGETS.memory}× (b)`, ratio, ratio <= TARGETS.memory));
}

for (const sync of SETTINGS) {
  log('');
  log(`medians of ${rounds} rounds (synchronous=${sync})`);
  log('| variant | msgs/s | p50 ms | p99 ms | KiB/conn | server CPU | server µs/msg | main thread µs/msg | load-gen CPU |');
  log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const key of KEYS) {
    const s = summary[sync][key]!;
    const kib = memory[key]?.kibPerConnection;
    log(`| (${key}) ${s.variant} | ${fmt(s.msgsPerSecond, 0)} | ${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} | ` +
      `${kib === undefined ? '–' : fmt(kib, 2)} | ${fmt(s.serverCpu * 100, 0)}% | ${fmt(s.serverCpuUsPerMessage, 0)} | ${fmt(s.serverMainThreadUsPerMessage, 0)} | ${fmt(s.loadCpu * 100, 0)}% |`);
  }
  const { c, r, w, x } = summary[sync];
  if (r && x) {
    log(`(x) / (r): throughput ${fmt(x.msgsPerSecond / r.msgsPerSecond, 2)}×, p99 ${fmt(x.p99Ms / r.p99Ms, 2)}×, ` +
      `server µs/msg ${fmt(x.serverCpuUsPerMessage / r.serverCpuUsPerMessage, 2)}×, main thread µs/msg ${fmt(x.serverMainThreadUsPerMessage / r.serverMainThreadUsPerMessage, 2)}×`);
  }
  if (c && w) {
    log(`(w) / (c): throughput ${fmt(w.msgsPerSecond / c.msgsPerSecond, 2)}×, p99 ${fmt(w.p99Ms / c.p99Ms, 2)}×, ` +
      `server µs/msg ${fmt(w.serverCpuUsPerMessage / c.serverCpuUsPerMessage, 2)}×, main thread µs/msg ${fmt(w.serverMainThreadUsPerMessage / c.serverMainThreadUsPerMessage, 2)}×`);
  }
  if (c && r) {
    log(`(c) / (r): throughput ${fmt(c.msgsPerSecond / r.msgsPerSecond, 2)}×, p99 ${fmt(c.p99Ms / r.p99Ms, 2)}×, ` +
      `server µs/msg ${fmt(c.serverCpuUsPerMessage / r.serverCpuUsPerMessage, 2)}×`);
  }
}
if (memory['c-notifications']) {
  log(`(c) with ${idle} idle notifications sockets instead of chat sockets: ${fmt(memory['c-notifications'].kibPerConnection, 2)} KiB/conn`);
}
if (Object.keys(memory).length > 0) {
  log(`JS heap per idle connection: ${Object.entries(memory).map(([k, m]) => `(${k}) ${fmt(m.heapKibPerConnection, 2)} KiB`).join(', ')}`);
}
log('');
log('| synchronous | target | ratio | result |');
log('| --- | --- | ---: | --- |');
for (const c of checks) log(`| ${c.synchronous ?? '–'} | ${c.target} | ${fmt(c.ratio, 2)} | ${c.result} |`);

mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `server-fanout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? null },
      parameters: { rounds, rooms, messages, warmup, idle, synchronous: SETTINGS, compareWith },
      summary,
      checks,
      rounds: loops,
      memory,
      memoryRuns,
    },
    null,
    2,
  )}\n`,
);
log(`\nresults: ${file}`);
if (checks.some((c) => c.result === 'FAIL')) process.exitCode = 1;
