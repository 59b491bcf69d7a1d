/**
 * The SQLite store's append alone, without sockets: what the fan-out loop asks
 * of it, 50 rooms with both sides sending, 100 appends per event-loop turn
 * (one transaction). Prints wall time and CPU (user, system: the WAL writes)
 * per append, and the bytes the process wrote per append (WAL and checkpoints,
 * from /proc/self/io), for this checkout or another one (`--root DIR`), to
 * tell the store's share of the server's cost per message from the rest; and,
 * in the same run, the same for the fan-out baseline (b)'s one autocommit
 * INSERT per message (its table, its pragmas, the same `synchronous`), as a
 * ratio. client_ids are the fan-out bench's (`p<participant>-<n>`), or random
 * like the SDK's with `--random-client-ids`.
 *
 *   node --import tsx bench/store-append.ts [--synchronous normal|full] [--turns 200] [--root DIR] [--random-client-ids] [--events]
 *
 * `--events`: the store records webhook events (as with WEBHOOK_URL set), none delivered.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { SqliteStore as Store } from '../reference-server/src/store/sqlite.js';
import { openBaselineInsert } from './server/baseline-insert.js';
import { REPO_ROOT } from './server/processes.js';

const { values: opts } = parseArgs({
  options: {
    synchronous: { type: 'string', default: 'normal' },
    turns: { type: 'string', default: '200' },
    root: { type: 'string' },
    'random-client-ids': { type: 'boolean', default: false },
    events: { type: 'boolean', default: false },
  },
});
if (opts.synchronous !== 'full' && opts.synchronous !== 'normal') throw new Error('--synchronous is full or normal');
const root = opts.root ? resolve(opts.root) : REPO_ROOT;
const { SqliteStore } = (await import(pathToFileURL(join(root, 'reference-server/src/store/sqlite.ts')).href)) as {
  SqliteStore: typeof Store;
};
const turns = Number(opts.turns);
const ROOMS = 50;
const BODY = 'The front brakes squeak when I stop at low speed; could you take a look on Tuesday? #';

const clientId: (participant: number, n: number) => string = opts['random-client-ids']
  ? () => `c_${randomBytes(12).toString('hex')}`
  : (participant, n) => `p${participant}-${n}`;

/** Bytes this process has handed to write(2) and its kin so far: the WAL, and the checkpoints of its worker. */
function bytesWritten(): number {
  return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);
}

const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-bench-store-'));
const store = new SqliteStore({ dataDir, synchronous: opts.synchronous, events: opts.events });
try {
  const rooms: string[] = [];
  for (let i = 0; i < ROOMS; i++) rooms.push((await store.createRoom({ user_id: `u-${i}`, workshop_id: `w-${i}`, title: `Room ${i}` })).id);
  let n = 0;
  const turn = () => {
    n++;
    return Promise.all(
      rooms.flatMap((id, i) => [
        store.appendMessage({ request_id: id, sender: { id: `u-${i}`, role: 'user', name: 'Owner' }, side: 'user', body: BODY + n, client_id: clientId(2 * i, n) }),
        store.appendMessage({ request_id: id, sender: { id: `a-${i}`, role: 'workshop_admin', name: 'Admin' }, side: 'workshop', body: BODY + n, client_id: clientId(2 * i + 1, n) }),
      ]),
    );
  };
  for (let i = 0; i < 20; i++) await turn();
  const cpuBefore = process.cpuUsage();
  const writtenBefore = bytesWritten();
  const started = performance.now();
  for (let i = 0; i < turns; i++) await turn();
  const store_ = perAppend(process.cpuUsage(cpuBefore), performance.now() - started, bytesWritten() - writtenBefore, turns * ROOMS * 2);
  report(`${root} store${opts.events ? ' recording events' : ''}`, store_);

  // (b): the same messages, one autocommit INSERT each, in a data directory of its own.
  const insert = openBaselineInsert(join(dataDir, 'baseline'), opts.synchronous);
  const baselineTurn = () => {
    n++;
    rooms.forEach((id, i) => {
      insert(id, clientId(2 * i, n), BODY + n);
      insert(id, clientId(2 * i + 1, n), BODY + n);
    });
  };
  for (let i = 0; i < 20; i++) baselineTurn();
  const baselineCpuBefore = process.cpuUsage();
  const baselineWrittenBefore = bytesWritten();
  const baselineStarted = performance.now();
  for (let i = 0; i < turns; i++) baselineTurn();
  const baseline = perAppend(
    process.cpuUsage(baselineCpuBefore),
    performance.now() - baselineStarted,
    bytesWritten() - baselineWrittenBefore,
    turns * ROOMS * 2,
  );
  report('(b) one INSERT per message', baseline);
  process.stdout.write(`store / (b): ${(store_.cpuUs / baseline.cpuUs).toFixed(2)}× CPU per message\n`);
} finally {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}

interface PerAppend {
  appends: number;
  wallUs: number;
  cpuUs: number;
  userUs: number;
  systemUs: number;
  writtenBytes: number;
}

function perAppend(cpu: NodeJS.CpuUsage, wallMs: number, written: number, appends: number): PerAppend {
  return {
    appends,
    wallUs: (wallMs * 1000) / appends,
    cpuUs: (cpu.user + cpu.system) / appends,
    userUs: cpu.user / appends,
    systemUs: cpu.system / appends,
    writtenBytes: written / appends,
  };
}

function report(what: string, r: PerAppend): void {
  process.stdout.write(
    `${what}, synchronous=${opts.synchronous}: ${r.appends} appends, ${r.wallUs.toFixed(1)} µs wall and ` +
      `${r.cpuUs.toFixed(1)} µs CPU per append (user ${r.userUs.toFixed(1)}, system ${r.systemUs.toFixed(1)}), ` +
      `${((r.writtenBytes * 100) / 1024).toFixed(0)} KiB written per 100 appends\n`,
  );
}
