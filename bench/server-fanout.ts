/**
 * Fan-out benchmark of the reference server against two baselines on the same
 * machine in the same run: (a) a bare `ws` broadcast server and (b) the same
 * plus a synchronous SQLite INSERT per message. The machine is noisy, so the
 * targets are ratios of (c) the reference server to (b).
 *
 *   node --import tsx bench/server-fanout.ts [--rounds 3] [--rooms 50] [--messages 200]
 *     [--warmup 20] [--idle 5000] [--synchronous full|normal] [--variants a,b,c] [--cpu-prof] [--skip-memory]
 *
 * Every server runs in its own child process; this process is the load generator.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, type IdleResult, idleMemory, idleUrls, type LoopResult, planRooms } from './server/load.js';
import { REPO_ROOT, type ServerSettings, startServerUnderTest, VARIANTS, type VariantKey } from './server/processes.js';

const TARGETS = { throughput: 0.8, p99: 1.25, memory: 1.3 } as const;

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rooms: { type: 'string', default: '50' },
    messages: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    idle: { type: 'string', default: '5000' },
    synchronous: { type: 'string', default: 'full' },
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
const KEYS = opts.variants.split(',').filter((k): k is VariantKey => k in VARIANTS);
if (KEYS.length === 0) throw new Error('--variants is a comma-separated subset of a,b,c');
if (opts.synchronous !== 'full' && opts.synchronous !== 'normal') throw new Error('--synchronous is full or normal');
const resultsDir = join(REPO_ROOT, 'bench/results');
const settings: ServerSettings = {
  synchronous: opts.synchronous,
  jwtSecret: randomBytes(24).toString('hex'),
  cpuProfDir: opts['cpu-prof'] ? join(resultsDir, 'cpu-prof') : null,
};

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function runLoop(key: VariantKey): Promise<LoopResult> {
  const server = await startServerUnderTest(key, settings);
  try {
    return await closedLoop(server, await planRooms(server, rooms, settings.jwtSecret), messages, warmup);
  } finally {
    await server.stop();
  }
}

async function runIdle(key: VariantKey, kind: 'chat' | 'notifications'): Promise<IdleResult> {
  const server = await startServerUnderTest(key, { ...settings, cpuProfDir: null });
  try {
    return await idleMemory(server, await idleUrls(server, idle, settings.jwtSecret, kind));
  } finally {
    await server.stop();
  }
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const log = (line: string) => process.stdout.write(`${line}\n`);

log(`fan-out bench: ${rooms} rooms × 2 participants × ${messages} messages (+${warmup} warm-up each), ${rounds} rounds, ` +
  `synchronous=${settings.synchronous}, ${idle} idle connections; node ${process.version}, ${availableParallelism()} CPUs`);

const loops: Record<VariantKey, LoopResult[]> = { a: [], b: [], c: [] };
for (let round = 1; round <= rounds; round++) {
  // Interleaved, so a noisy minute hurts every variant rather than one.
  for (const key of KEYS) {
    const r = await runLoop(key);
    loops[key].push(r);
    log(`  round ${round} (${key}) ${VARIANTS[key].padEnd(24)} ${fmt(r.msgsPerSecond, 0).padStart(7)} msg/s  p50 ${fmt(r.p50Ms, 2)} ms  ` +
      `p99 ${fmt(r.p99Ms, 2)} ms  server CPU ${fmt(r.serverCpu * 100, 0)}% (${fmt(r.serverCpuUsPerMessage, 0)} µs/msg)  load CPU ${fmt(r.loadCpu * 100, 0)}%` +
      (key === 'c' ? `  seq errors ${r.seqErrors}, missing notifications ${r.missingNotifications}` : ''));
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

const summary = Object.fromEntries(
  KEYS.map((key) => {
    const rs = loops[key];
    return [
      key,
      {
        variant: VARIANTS[key],
        msgsPerSecond: median(rs.map((r) => r.msgsPerSecond)),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        serverCpu: median(rs.map((r) => r.serverCpu)),
        serverCpuUsPerMessage: median(rs.map((r) => r.serverCpuUsPerMessage)),
        loadCpu: median(rs.map((r) => r.loadCpu)),
        kibPerConnection: memory[key]?.kibPerConnection ?? null,
      },
    ];
  }),
) as Record<VariantKey, { variant: string; msgsPerSecond: number; p50Ms: number; p99Ms: number; serverCpu: number; serverCpuUsPerMessage: number; loadCpu: number; kibPerConnection: number | null }>;

const { b, c } = summary as Partial<typeof summary>;
const checks = (
  b && c
    ? [
        { target: `throughput ≥ ${TARGETS.throughput}× (b)`, ratio: c.msgsPerSecond / b.msgsPerSecond, pass: (x: number) => x >= TARGETS.throughput },
        { target: `p99 ≤ ${TARGETS.p99}× (b)`, ratio: c.p99Ms / b.p99Ms, pass: (x: number) => x <= TARGETS.p99 },
        ...(c.kibPerConnection !== null && b.kibPerConnection !== null
          ? [{ target: `memory/conn ≤ ${TARGETS.memory}× (b)`, ratio: c.kibPerConnection / b.kibPerConnection, pass: (x: number) => x <= TARGETS.memory }]
          : []),
      ]
    : []
).map(({ target, ratio, pass }) => ({ target, ratio, result: pass(ratio) ? 'PASS' : 'FAIL' }));

log('');
log(`medians of ${rounds} rounds (synchronous=${settings.synchronous})`);
log('| variant | msgs/s | p50 ms | p99 ms | KiB/conn | server CPU | server µs/msg | load-gen CPU |');
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const key of KEYS) {
  const s = summary[key];
  log(`| (${key}) ${s.variant} | ${fmt(s.msgsPerSecond, 0)} | ${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} | ` +
    `${s.kibPerConnection === null ? '–' : fmt(s.kibPerConnection, 2)} | ${fmt(s.serverCpu * 100, 0)}% | ${fmt(s.serverCpuUsPerMessage, 0)} | ${fmt(s.loadCpu * 100, 0)}% |`);
}
if (memory['c-notifications']) {
  log(`(c) with ${idle} idle notifications sockets instead of chat sockets: ${fmt(memory['c-notifications'].kibPerConnection, 2)} KiB/conn`);
}
if (Object.keys(memory).length > 0) {
  log(`JS heap per idle connection: ${Object.entries(memory).map(([k, m]) => `(${k}) ${fmt(m.heapKibPerConnection, 2)} KiB`).join(', ')}`);
}
log('');
log('| (c) / (b) | ratio | result |');
log('| --- | ---: | --- |');
for (const check of checks) log(`| ${check.target} | ${fmt(check.ratio, 2)} | ${check.result} |`);

mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `server-fanout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? null },
      parameters: { rounds, rooms, messages, warmup, idle, synchronous: settings.synchronous },
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
if (checks.some((check) => check.result === 'FAIL')) process.exitCode = 1;
