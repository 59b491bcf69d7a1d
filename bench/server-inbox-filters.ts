/**
 * The inbox's filters (issue 16): what a page with `q` or `unread=1` costs for a
 * workshop with 1 and with 10,000 service requests, against the unfiltered page
 * of the same workshop in the same run, on the same server.
 *
 *   node --import tsx bench/server-inbox-filters.ts [--sizes 1,10000] [--rounds 5] [--ops 20] [--synchronous full|normal]
 *
 * Seeded before the server starts, through SqliteStore (as bench/server-scale.ts
 * does): per size N, a workshop with N requests of N owners, each with one
 * message from its owner. Every 100th request keeps it unread; the workshop has
 * read the others, so `unread=1` has 1% of the rooms to find. Every 1,000th
 * request is titled "Škoda Octavia …", the others "Service request …", so
 * `q=service` matches nearly every row, `q=škoda` one row in a thousand, spread
 * over the whole inbox, and `q=zzz` none: the common case, the rare one and the
 * worst one for a filter matched while walking the inbox's index.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteStore } from '../reference-server/src/store/sqlite.js';
import { mintToken } from './server/load.js';
import { REPO_ROOT, type ServerSettings, type ServerUnderTest, startServerUnderTest } from './server/processes.js';

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,10000' },
    rounds: { type: 'string', default: '5' },
    ops: { type: 'string', default: '20' },
    synchronous: { type: 'string', default: 'full' },
  },
});
const SIZES = opts.sizes.split(',').map(Number);
const rounds = Number(opts.rounds);
const ops = Number(opts.ops);
if (SIZES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes is a list of request counts ≥ 1');
if (opts.synchronous !== 'full' && opts.synchronous !== 'normal') throw new Error('--synchronous is full or normal');
const settings: ServerSettings = {
  synchronous: opts.synchronous,
  jwtSecret: randomBytes(24).toString('hex'),
  cpuProfDir: null,
  compareWith: null,
};

const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** The pages measured, each a query of `GET /api/service-requests/`; the first is the baseline. */
const QUERIES = {
  inbox: '?limit=50',
  unread: '?limit=50&unread=1',
  qCommon: '?limit=50&q=service',
  qRare: `?limit=50&q=${encodeURIComponent('škoda')}`,
  qNone: '?limit=50&q=zzz',
  unreadAndQ: `?limit=50&unread=1&q=${encodeURIComponent('ŠKODA')}`,
} as const;
type Query = keyof typeof QUERIES;

interface Workshop {
  size: number;
  adminToken: string;
}

async function seed(dataDir: string): Promise<Workshop[]> {
  // NORMAL for the seeding only: it is not measured, and the server reopens the file with its own setting.
  const store = new SqliteStore({ dataDir, synchronous: 'normal' });
  const workshops: Workshop[] = [];
  try {
    for (const size of SIZES) {
      const workshopId = `w-${size}`;
      const rooms = [];
      for (let i = 0; i < size; i++) {
        const owner = `owner-${size}-${i}`;
        const title = i % 1000 === 0 ? `Škoda Octavia ${i}` : `Service request ${i}`;
        rooms.push({ id: (await store.createRoom({ user_id: owner, workshop_id: workshopId, title })).id, owner, unread: i % 100 === 0 });
      }
      // Writes of one turn share a transaction: a thousand at a time.
      for (let i = 0; i < rooms.length; i += 1000) {
        const part = rooms.slice(i, i + 1000);
        await Promise.all(
          part.map((room) =>
            store.appendMessage({
              request_id: room.id,
              sender: { id: room.owner, role: 'user', name: null },
              side: 'user',
              body: 'Can you look at it this week?',
              client_id: null,
            }),
          ),
        );
        await Promise.all(part.filter((room) => !room.unread).map((room) => store.advanceCursor(room.id, 'workshop', null)));
      }
      workshops.push({
        size,
        adminToken: mintToken(settings.jwtSecret, { sub: `admin-${size}`, role: 'workshop_admin', workshop_id: workshopId, name: 'Admin' }),
      });
    }
  } finally {
    await store.close();
  }
  return workshops;
}

interface Samples {
  latencyMs: number[];
  cpuMs: number;
  count: number;
  rows: number;
  more: boolean;
}

async function page(server: ServerUnderTest, query: string, token: string): Promise<{ ms: number; rows: number; more: boolean }> {
  const started = performance.now();
  const res = await fetch(`${server.httpUrl}/api/service-requests/${query}`, { headers: { authorization: `Bearer ${token}` } });
  const json = await res.json();
  const ms = performance.now() - started;
  if (!res.ok) throw new Error(`GET ${query}: ${res.status} ${JSON.stringify(json)}`);
  return { ms, rows: json.service_requests.length, more: json.next_cursor !== null };
}

async function measure(server: ServerUnderTest, workshop: Workshop, query: Query, s: Samples): Promise<void> {
  const before = server.cpuMs();
  for (let i = 0; i < ops; i++) {
    const p = await page(server, QUERIES[query], workshop.adminToken);
    s.latencyMs.push(p.ms);
    s.rows = p.rows;
    s.more = p.more;
  }
  s.cpuMs += server.cpuMs() - before;
  s.count += ops;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

log(`inbox filters bench: workshops with ${SIZES.join(', ')} requests; ${rounds} rounds × ${ops} pages per query, ` +
  `synchronous=${settings.synchronous}; node ${process.version}, ${availableParallelism()} CPUs`);
const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-bench-inbox-filters-'));
const seedStarted = performance.now();
const workshops = await seed(dataDir);
log(`  seeded ${SIZES.reduce((a, b) => a + b, 0)} requests through SqliteStore in ${fmt((performance.now() - seedStarted) / 1000, 1)} s`);

const queries = Object.keys(QUERIES) as Query[];
const empty = (): Samples => ({ latencyMs: [], cpuMs: 0, count: 0, rows: 0, more: false });
const samples = new Map(SIZES.map((n) => [n, Object.fromEntries(queries.map((q) => [q, empty()])) as Record<Query, Samples>]));
const server = await startServerUnderTest('c', settings, dataDir);
try {
  // One warm-up pass, not measured: the JIT and SQLite's page cache start cold.
  for (const workshop of workshops) for (const query of queries) await measure(server, workshop, query, empty());
  for (let r = 1; r <= rounds; r++) {
    // The order turns each round, so no query or workshop is always measured first.
    for (let k = 0; k < workshops.length * queries.length; k++) {
      const at = (k + r) % (workshops.length * queries.length);
      const workshop = workshops[at % workshops.length]!;
      const query = queries[Math.floor(at / workshops.length)]!;
      await measure(server, workshop, query, samples.get(workshop.size)![query]);
    }
    log(`  round ${r}: ${SIZES.map((n) => `${n}: ${queries.map((q) => `${q} ${fmt(median(samples.get(n)![q].latencyMs))}`).join(', ')} ms`).join('; ')}`);
  }
} finally {
  await server.stop();
}

log('');
log('medians in ms (ratio to the unfiltered page of the same workshop), server CPU per page in µs, rows (more follow?)');
log(`| page | ${SIZES.map((n) => `${n.toLocaleString('en')} request${n === 1 ? '' : 's'}: ms | CPU µs | rows`).join(' | ')} |`);
log(`| --- | ${SIZES.map(() => '---: | ---: | ---:').join(' | ')} |`);
const summary = SIZES.map((size) => {
  const s = samples.get(size)!;
  return {
    size,
    pages: Object.fromEntries(
      queries.map((q) => [q, { medianMs: median(s[q].latencyMs), cpuUsPerPage: (s[q].cpuMs * 1000) / s[q].count, rows: s[q].rows, more: s[q].more }]),
    ) as Record<Query, { medianMs: number; cpuUsPerPage: number; rows: number; more: boolean }>,
  };
});
for (const q of queries) {
  const cells = summary.map(({ pages }) => {
    const p = pages[q];
    const ratio = q === 'inbox' ? '' : ` (${fmt(p.medianMs / pages.inbox.medianMs)}×)`;
    return `${fmt(p.medianMs)}${ratio} | ${fmt(p.cpuUsPerPage, 0)} | ${p.rows}${p.more ? ' (more)' : ''}`;
  });
  log(`| \`${QUERIES[q]}\` | ${cells.join(' | ')} |`);
}

const resultsDir = join(REPO_ROOT, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `server-inbox-filters-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? null },
      parameters: { sizes: SIZES, rounds, ops, synchronous: settings.synchronous, queries: QUERIES },
      summary,
      samples: Object.fromEntries(samples),
    },
    null,
    2,
  )}\n`,
);
log(`\nresults: ${file}`);
