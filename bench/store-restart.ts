/**
 * The first writes into big rooms after a restart (issue 15): what a send
 * costs the server when its room holds 500,000 messages and the store was
 * just opened, and when two rooms of 200,000 are written alternately. For
 * this checkout and, in the same run, another one (`--compare-with DIR`,
 * e.g. main), each through its own SQLite store:
 *
 * - a seeding process fills a fresh data directory through the store
 *   (`synchronous = normal`, 5,000 appends per transaction; owner and admin
 *   in turn, client_ids random-looking like the SDK's) and closes it;
 * - a new process opens the store (the restart; `--restarts` times, one after
 *   the other) and, with its memory
 *   measured after a forced collection before and after, sends: first into a
 *   small room of 10 messages (a process's first write pays for warming up:
 *   compiling the write path, the checkpoint worker starting beside it; about
 *   15-25 ms here with any store, in any room), then into the big room a new
 *   message and the retry of the room's first message; into the two rooms, 10
 *   new messages each, in turn. Each send is timed from `appendMessage()` to
 *   its promise: the store writes synchronously, so that is also how long
 *   every other user waited. The process's CPU time over the send is printed
 *   beside it: on a busy machine the wall time also counts the waits for a
 *   CPU.
 *
 * With `--compare-with`, this checkout then opens the other's data directory
 * too: its store's migration, if the schemas differ, is the time to open.
 *
 * The store after the restart runs with `--synchronous` (default normal: a
 * commit's fsync is the disk's time, not the store's; `full` adds it).
 *
 *   node --import tsx bench/store-restart.ts [--compare-with DIR] [--big 500000] [--pair 200000] [--restarts 3] [--synchronous normal|full]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { SqliteStore as Store } from '../reference-server/src/store/sqlite.js';
import { REPO_ROOT } from './server/processes.js';

const { values: opts } = parseArgs({
  options: {
    'compare-with': { type: 'string' },
    big: { type: 'string', default: '500000' },
    pair: { type: 'string', default: '200000' },
    synchronous: { type: 'string', default: 'normal' },
    restarts: { type: 'string', default: '3' },
    // Internal: what a child process does.
    child: { type: 'string' },
    root: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});

if (opts.synchronous !== 'full' && opts.synchronous !== 'normal') throw new Error('--synchronous is full or normal');
const synchronous = opts.synchronous;
const BODY = 'The front brakes squeak when I stop at low speed; could you take a look on Tuesday? #';
const OWNER = { id: 'u-ana', role: 'user', name: 'Ana' } as const;
const ADMIN = { id: 'a-bo', role: 'workshop_admin', name: 'Bo' } as const;
const PER_TRANSACTION = 5000;

/** The n-th message's client_id in a room: 26 characters like the SDK's, in no particular order. */
function clientIdOf(room: string, n: number): string {
  return `c_${createHash('md5').update(`${room}/${n}`).digest('hex').slice(0, 24)}`;
}

function messageOf(requestId: string, title: string, n: number) {
  const [sender, side] = n % 2 ? ([OWNER, 'user'] as const) : ([ADMIN, 'workshop'] as const);
  return { request_id: requestId, sender, side, body: BODY + n, client_id: clientIdOf(title, n) };
}

async function openStore(root: string, dataDir: string, synchronous: 'normal' | 'full'): Promise<Store> {
  const { SqliteStore } = (await import(pathToFileURL(join(root, 'reference-server/src/store/sqlite.ts')).href)) as {
    SqliteStore: typeof Store;
  };
  return new SqliteStore({ dataDir, synchronous });
}

interface Memory {
  rssMiB: number;
  heapMiB: number;
}

function memory(): Memory {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMiB: rss / 2 ** 20, heapMiB: heapUsed / 2 ** 20 };
}

/** A send's wall time and the process's CPU time over it, in ms: the CPU time does not count the waits of a machine busy elsewhere. */
interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function timed<T>(send: () => Promise<T>): Promise<[Timing, T]> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await send();
  const { user, system } = process.cpuUsage(cpu);
  return [{ wallMs: performance.now() - started, cpuMs: (user + system) / 1000 }, result];
}

/** Child: fills a data directory with the rooms `sizes` names, through the store, and closes it. */
async function seed(root: string, dataDir: string, sizes: Record<string, number>): Promise<Record<string, string>> {
  const store = await openStore(root, dataDir, 'normal');
  const ids: Record<string, string> = {};
  for (const [title, size] of Object.entries(sizes)) {
    const { id } = await store.createRoom({ user_id: OWNER.id, workshop_id: 'w-1', title });
    ids[title] = id;
    for (let from = 1; from <= size; from += PER_TRANSACTION) {
      const batch = [];
      for (let n = from; n < from + PER_TRANSACTION && n <= size; n++) batch.push(store.appendMessage(messageOf(id, title, n)));
      await Promise.all(batch);
    }
  }
  await store.close();
  return ids;
}

/** Child: opens the store as after a restart and times the first sends into the rooms, with memory around them. */
async function afterRestart(root: string, dataDir: string, rooms: Record<string, string>, sizes: Record<string, number>, sent: number) {
  const beforeOpen = memory();
  const [open, store] = await timed(() => openStore(root, dataDir, synchronous));
  try {
    const before = memory();
    const sends: Record<string, Timing[]> = {};
    const [warmUp] = await timed(() => store.appendMessage(messageOf(rooms.small!, 'small', sizes.small! + sent + 1)));
    sends['the process’s first send, into the small room'] = [warmUp];
    const titles = Object.keys(rooms).filter((title) => title !== 'small');
    if (titles.length === 1) {
      const [title] = titles as [string];
      const id = rooms[title]!;
      const [firstSend, first] = await timed(() => store.appendMessage(messageOf(id, title, sizes[title]! + sent + 1)));
      const [retrySend, retried] = await timed(() => store.appendMessage(messageOf(id, title, 1)));
      if (!first.created || retried.created || retried.message.seq !== 1) throw new Error('the sends were not answered as they should');
      sends['first send into the big room'] = [firstSend];
      sends['retry of the first message'] = [retrySend];
    } else {
      const times: Timing[] = [];
      for (let i = 1; i <= 10; i++) {
        for (const title of titles) {
          const [timing, result] = await timed(() => store.appendMessage(messageOf(rooms[title]!, title, sizes[title]! + sent + i)));
          if (!result.created) throw new Error('a new message was not stored');
          times.push(timing);
        }
      }
      sends['alternating sends'] = times;
    }
    return { openMs: open.wallMs, beforeOpen, before, after: memory(), sends };
  } finally {
    await store.close();
  }
}

if (opts.child) {
  const root = opts.root!;
  const dataDir = opts['data-dir']!;
  const input = JSON.parse(opts.child) as { phase: 'seed' | 'restart'; sizes: Record<string, number>; rooms?: Record<string, string>; sent?: number };
  const output =
    input.phase === 'seed' ? await seed(root, dataDir, input.sizes) : await afterRestart(root, dataDir, input.rooms!, input.sizes, input.sent!);
  process.stdout.write(JSON.stringify(output));
} else {
  const roots = [REPO_ROOT, ...(opts['compare-with'] ? [resolve(opts['compare-with'])] : [])];
  const scenarios: Array<[string, Record<string, number>]> = [
    [`one room of ${Number(opts.big).toLocaleString('en')}`, { small: 10, big: Number(opts.big) }],
    [`two rooms of ${Number(opts.pair).toLocaleString('en')}`, { small: 10, one: Number(opts.pair), two: Number(opts.pair) }],
  ];
  const self = fileURLToPath(import.meta.url);
  const child = (root: string, dataDir: string, input: object): unknown =>
    JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--root', root, '--data-dir', dataDir, '--synchronous', synchronous, '--child', JSON.stringify(input)], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
  process.stdout.write(`store-restart bench, node ${process.version}, synchronous=${synchronous} after the restart\n`);
  const mib = (x: number) => x.toFixed(1);
  const report = (what: string, r: Awaited<ReturnType<typeof afterRestart>>) => {
    process.stdout.write(
      `${what}: store opened in ${r.openMs.toFixed(1)} ms; ` +
        `RSS ${mib(r.before.rssMiB)} → ${mib(r.after.rssMiB)} MiB (${mib(r.after.rssMiB - r.before.rssMiB)} MiB), ` +
        `heap ${mib(r.before.heapMiB)} → ${mib(r.after.heapMiB)} MiB (${mib(r.after.heapMiB - r.before.heapMiB)} MiB)\n`,
    );
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [send, times] of Object.entries(r.sends)) {
      const wall = times.map((t) => t.wallMs);
      const cpu = times.map((t) => t.cpuMs);
      process.stdout.write(
        `  ${send}: ${times.map((t) => `${t.wallMs.toFixed(2)} (CPU ${t.cpuMs.toFixed(2)})`).join(', ')} ms` +
          (times.length > 1
            ? `; median ${median(wall).toFixed(2)} (CPU ${median(cpu).toFixed(2)}), max ${Math.max(...wall).toFixed(2)} (CPU ${Math.max(...cpu).toFixed(2)})`
            : '') +
          '\n',
      );
    }
  };
  for (const [scenario, sizes] of scenarios) {
    for (const root of roots) {
      const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-bench-restart-'));
      try {
        const seedStarted = performance.now();
        const rooms = child(root, dataDir, { phase: 'seed', sizes });
        const seedS = (performance.now() - seedStarted) / 1000;
        // The seed's hundreds of MiB go to disk now, not while the sends are timed.
        execFileSync('sync');
        process.stdout.write(`${scenario}, ${root}, seeded in ${seedS.toFixed(0)} s\n`);
        // Each restart sends new messages past those of the restarts before it.
        let sent = 0;
        const restart = (what: string, by: string) => {
          report(what, child(by, dataDir, { phase: 'restart', sizes, rooms, sent }) as Awaited<ReturnType<typeof afterRestart>>);
          sent += 100;
        };
        for (let i = 1; i <= Number(opts.restarts); i++) restart(` restart ${i}`, root);
        // The same data directory opened by this checkout: its store migrates the other's schema first.
        if (root !== REPO_ROOT) restart(` opened by ${REPO_ROOT}`, REPO_ROOT);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
}
