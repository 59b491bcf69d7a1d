/**
 * Scale scenario of issue 8: what a message, a read receipt and a notification
 * cost for a workshop with 1, 1,000 and 10,000 service requests holding unread
 * messages, and what its inbox page and unread snapshot cost; each as a ratio
 * to the 1-request workshop of the same run, on the same server.
 *
 *   node --import tsx bench/server-scale.ts [--sizes 1,1000,10000] [--rounds 5] [--ops 40]
 *     [--inbox-ops 10] [--synchronous full|normal] [--cpu-prof]
 *
 * The data directory is seeded before the server starts, through the store
 * itself (`SqliteStore`, the package's public class): one workshop per size,
 * each with that many requests, each holding one unread message from its owner.
 * The server (a child process, rate limits off) then opens it as it would after
 * a restart.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import { SqliteStore } from '../reference-server/src/store/sqlite.js';
import { closeAll, connectAll, mintToken } from './server/load.js';
import { REPO_ROOT, type ServerSettings, type ServerUnderTest, startServerUnderTest } from './server/processes.js';

/** Issue 8: a send, a read receipt and the notification cost the same within 1.2× at 10,000 requests as at 1. */
const TARGET_RATIO = 1.2;

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,1000,10000' },
    rounds: { type: 'string', default: '5' },
    ops: { type: 'string', default: '40' },
    'inbox-ops': { type: 'string', default: '10' },
    synchronous: { type: 'string', default: 'full' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const SIZES = opts.sizes.split(',').map(Number);
const rounds = Number(opts.rounds);
const ops = Number(opts.ops);
const inboxOps = Number(opts['inbox-ops']);
if (SIZES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes is a list of request counts ≥ 1');
if (opts.synchronous !== 'full' && opts.synchronous !== 'normal') throw new Error('--synchronous is full or normal');
const resultsDir = join(REPO_ROOT, 'bench/results');
const settings: ServerSettings = {
  synchronous: opts.synchronous,
  jwtSecret: randomBytes(24).toString('hex'),
  cpuProfDir: opts['cpu-prof'] ? join(resultsDir, 'cpu-prof-scale') : null,
  compareWith: null,
};

const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 2) => n.toFixed(digits);
const BODY = 'Your car is ready: the front pads were worn, we replaced them and the squeak is gone.';

/** One workshop of the scenario: the request the bench writes into, its owner and an admin. */
interface Workshop {
  size: number;
  workshopId: string;
  roomId: string;
  ownerToken: string;
  adminToken: string;
}

async function seed(dataDir: string): Promise<Workshop[]> {
  // NORMAL for the seeding only: it is not measured, and the server reopens the file with its own setting.
  const store = new SqliteStore({ dataDir, synchronous: 'normal' });
  const workshops: Workshop[] = [];
  try {
    for (const size of SIZES) {
      const workshopId = `w-${size}`;
      const ownerId = `owner-${size}`;
      const target = await store.createRoom({ user_id: ownerId, workshop_id: workshopId, title: 'Front brakes squeak' });
      const rooms = [{ id: target.id, owner: ownerId }];
      for (let i = 1; i < size; i++) {
        const owner = `filler-${size}-${i}`;
        const room = await store.createRoom({ user_id: owner, workshop_id: workshopId, title: `Service request ${i}` });
        rooms.push({ id: room.id, owner });
      }
      // Appends of one turn share a transaction: a thousand at a time.
      for (let i = 0; i < rooms.length; i += 1000) {
        await Promise.all(
          rooms.slice(i, i + 1000).map((room) =>
            store.appendMessage({
              request_id: room.id,
              sender: { id: room.owner, role: 'user', name: null },
              side: 'user',
              body: 'Can you look at it this week?',
              client_id: null,
            }),
          ),
        );
      }
      workshops.push({
        size,
        workshopId,
        roomId: target.id,
        ownerToken: mintToken(settings.jwtSecret, { sub: ownerId, role: 'user', name: 'Owner' }),
        adminToken: mintToken(settings.jwtSecret, { sub: `admin-${size}`, role: 'workshop_admin', workshop_id: workshopId, name: 'Admin' }),
      });
    }
  } finally {
    await store.close();
  }
  return workshops;
}

type Op = 'restSend' | 'wsSend' | 'notification' | 'readReceipt' | 'inboxPage' | 'unread';
const OPS: Record<Op, string> = {
  restSend: 'REST send (POST …/messages/)',
  wsSend: 'WS send → own ack',
  notification: 'WS send → notification at the workshop',
  readReceipt: 'read receipt (POST …/messages/read/)',
  inboxPage: 'inbox page (GET /api/service-requests/?limit=50)',
  unread: 'GET /api/notifications/unread/',
};
/** The operations the issue holds to TARGET_RATIO; the snapshot and the inbox are reported with their ratios only. */
const TARGETED: Op[] = ['restSend', 'wsSend', 'notification', 'readReceipt'];

interface Samples {
  latencyMs: Record<Op, number[]>;
  /** Server CPU over the block of each kind of operation, and how many operations it covered. */
  cpuMs: Record<Exclude<Op, 'notification'>, { cpuMs: number; count: number }>;
  inboxRows: number;
  nextCursor: boolean | null;
  /** Notifications whose unread total was not the workshop's true one. */
  wrongTotals: number;
}

function emptySamples(): Samples {
  return {
    latencyMs: { restSend: [], wsSend: [], notification: [], readReceipt: [], inboxPage: [], unread: [] },
    cpuMs: {
      restSend: { cpuMs: 0, count: 0 },
      wsSend: { cpuMs: 0, count: 0 },
      readReceipt: { cpuMs: 0, count: 0 },
      inboxPage: { cpuMs: 0, count: 0 },
      unread: { cpuMs: 0, count: 0 },
    },
    inboxRows: 0,
    nextCursor: null,
    wrongTotals: 0,
  };
}

async function call(server: ServerUnderTest, method: string, path: string, token: string, body?: unknown): Promise<{ ms: number; json: any }> {
  const started = performance.now();
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json();
  const ms = performance.now() - started;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return { ms, json };
}

/** Frames of one socket, waited for by predicate. */
class Inbox {
  readonly #waiting: Array<{ match: (f: any) => boolean; resolve: (f: any) => void }> = [];

  constructor(ws: WebSocket) {
    ws.on('message', (data) => {
      // Unread snapshots of 10,000 rooms arrive after each read: parsing what nobody waits for would slow the bench's own loop.
      if (this.#waiting.length === 0) return;
      const frame = JSON.parse(data.toString());
      const at = this.#waiting.findIndex((w) => w.match(frame));
      if (at >= 0) this.#waiting.splice(at, 1)[0]!.resolve(frame);
    });
  }

  next(match: (f: any) => boolean): Promise<any> {
    return new Promise((resolve) => this.#waiting.push({ match, resolve }));
  }
}

interface Live {
  workshop: Workshop;
  chat: WebSocket;
  chatFrames: Inbox;
  notificationFrames: Inbox;
  lastSeq: number;
  /** The workshop's read cursor in the target request. */
  readCursor: number;
  sent: number;
}

async function block(server: ServerUnderTest, bucket: { cpuMs: number; count: number }, count: number, work: () => Promise<void>): Promise<void> {
  const before = server.cpuMs();
  for (let i = 0; i < count; i++) await work();
  bucket.cpuMs += server.cpuMs() - before;
  bucket.count += count;
}

async function round(server: ServerUnderTest, live: Live, s: Samples): Promise<void> {
  const { workshop } = live;
  const base = `/api/service-requests/${encodeURIComponent(workshop.roomId)}`;
  // Only the owner writes into the target request: the workshop's unread there is what lies past its cursor.
  const targetUnread = () => live.lastSeq - live.readCursor;
  const expectTotal = () => workshop.size - 1 + targetUnread();

  await block(server, s.cpuMs.restSend, ops, async () => {
    const sent = await call(server, 'POST', `${base}/messages/`, workshop.ownerToken, { body: BODY, client_id: `rest-${++live.sent}` });
    s.latencyMs.restSend.push(sent.ms);
    live.lastSeq = sent.json.message.seq;
  });

  // The owner's own ack, and the notification at the workshop's notifications socket.
  await block(server, s.cpuMs.wsSend, ops, async () => {
    const clientId = `ws-${++live.sent}`;
    const ack = live.chatFrames.next((f) => f.type === 'message' && f.message.client_id === clientId);
    const note = live.notificationFrames.next((f) => f.type === 'notification' && f.message.seq > live.lastSeq);
    const started = performance.now();
    live.chat.send(JSON.stringify({ type: 'message', body: BODY, client_id: clientId }));
    const acked = await ack;
    s.latencyMs.wsSend.push(performance.now() - started);
    const notified = await note;
    s.latencyMs.notification.push(performance.now() - started);
    live.lastSeq = acked.message.seq;
    if (notified.unread.total !== expectTotal() || notified.unread.count !== targetUnread()) s.wrongTotals++;
  });

  // The two blocks above left 2 × ops unread in the target: each read receipt moves the cursor by one of them.
  await block(server, s.cpuMs.readReceipt, ops, async () => {
    const read = await call(server, 'POST', `${base}/messages/read/`, workshop.adminToken, { last_read_seq: ++live.readCursor });
    s.latencyMs.readReceipt.push(read.ms);
    if (read.json.unread !== targetUnread()) s.wrongTotals++;
  });

  await block(server, s.cpuMs.inboxPage, inboxOps, async () => {
    const page = await call(server, 'GET', '/api/service-requests/?limit=50', workshop.adminToken);
    s.latencyMs.inboxPage.push(page.ms);
    s.inboxRows = page.json.service_requests.length;
    s.nextCursor = 'next_cursor' in page.json ? page.json.next_cursor !== null : null;
  });

  await block(server, s.cpuMs.unread, ops, async () => {
    const unread = await call(server, 'GET', '/api/notifications/unread/', workshop.adminToken);
    s.latencyMs.unread.push(unread.ms);
    if (unread.json.total !== expectTotal()) s.wrongTotals++;
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

log(`scale bench: workshops with ${SIZES.join(', ')} requests holding unread; ${rounds} rounds × ${ops} operations ` +
  `(${inboxOps} inbox pages), synchronous=${settings.synchronous}; node ${process.version}, ${availableParallelism()} CPUs`);
const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-bench-scale-'));
const seedStarted = performance.now();
const workshops = await seed(dataDir);
log(`  seeded ${SIZES.reduce((a, b) => a + b, 0)} requests through SqliteStore in ${fmt((performance.now() - seedStarted) / 1000, 1)} s`);

const server = await startServerUnderTest('c', settings, dataDir);
const samples = new Map<number, Samples>(SIZES.map((n) => [n, emptySamples()]));
let sockets: WebSocket[] = [];
try {
  const chatUrls = workshops.map((w) => `${server.wsUrl}/ws/service-chat/${encodeURIComponent(w.roomId)}/?token=${w.ownerToken}`);
  const noteUrls = workshops.map((w) => `${server.wsUrl}/ws/notifications/?token=${w.adminToken}`);
  const chats = await connectAll(chatUrls, 'first-frame');
  const notes = await connectAll(noteUrls, 'first-frame');
  sockets = [...chats, ...notes];
  const lives: Live[] = workshops.map((workshop, i) => ({
    workshop,
    chat: chats[i]!,
    chatFrames: new Inbox(chats[i]!),
    notificationFrames: new Inbox(notes[i]!),
    lastSeq: 1,
    readCursor: 0,
    sent: 0,
  }));
  // One warm-up round, not measured: the JIT and SQLite's page cache start cold.
  for (const live of lives) await round(server, live, emptySamples());
  for (let r = 1; r <= rounds; r++) {
    // The order of the workshops turns each round, so none is always measured first.
    for (let k = 0; k < lives.length; k++) {
      const live = lives[(k + r) % lives.length]!;
      await round(server, live, samples.get(live.workshop.size)!);
    }
    log(`  round ${r}: ${SIZES.map((n) => `${n}: REST send ${fmt(median(samples.get(n)!.latencyMs.restSend))} ms, ` +
      `inbox ${fmt(median(samples.get(n)!.latencyMs.inboxPage))} ms`).join('; ')}`);
  }
} finally {
  await closeAll(sockets);
  await server.stop();
}

const one = samples.get(SIZES[0]!)!;
const summary = SIZES.map((size) => {
  const s = samples.get(size)!;
  const medians = Object.fromEntries((Object.keys(OPS) as Op[]).map((op) => [op, median(s.latencyMs[op])])) as Record<Op, number>;
  const cpuUs = Object.fromEntries(Object.entries(s.cpuMs).map(([k, v]) => [k, (v.cpuMs * 1000) / v.count]));
  return { size, medians, cpuUsPerOp: cpuUs, inboxRows: s.inboxRows, inboxNextCursor: s.nextCursor, wrongTotals: s.wrongTotals };
});
const base = summary[0]!;

log('');
log(`medians in ms (ratio to ${SIZES[0]} request${SIZES[0] === 1 ? '' : 's'}), synchronous=${settings.synchronous}`);
log(`| operation | ${SIZES.map((n) => `${n.toLocaleString('en')} request${n === 1 ? '' : 's'}`).join(' | ')} |`);
log(`| --- | ${SIZES.map(() => '---:').join(' | ')} |`);
for (const op of Object.keys(OPS) as Op[]) {
  log(`| ${OPS[op]} | ${summary.map((s) => `${fmt(s.medians[op])}${s === base ? '' : ` (${fmt(s.medians[op] / base.medians[op])}×)`}`).join(' | ')} |`);
}
for (const op of Object.keys(OPS) as Op[]) {
  if (op === 'notification') continue; // its CPU is the WS send's
  log(`| server CPU per ${OPS[op].split(' (')[0]}, µs | ${summary.map((s) => `${fmt(s.cpuUsPerOp[op]!, 0)}${s === base ? '' : ` (${fmt(s.cpuUsPerOp[op]! / base.cpuUsPerOp[op]!)}×)`}`).join(' | ')} |`);
}
log(`| rows in the inbox page (next_cursor) | ${summary.map((s) => `${s.inboxRows} (${s.inboxNextCursor === null ? 'none' : s.inboxNextCursor ? 'more' : 'last'})`).join(' | ')} |`);
log(`| notifications or snapshots with a wrong total | ${summary.map((s) => s.wrongTotals).join(' | ')} |`);

const largest = summary[summary.length - 1]!;
const checks = [
  ...TARGETED.map((op) => {
    const ratio = largest.medians[op] / base.medians[op];
    return { target: `${OPS[op]}: ${largest.size} / ${base.size} ≤ ${TARGET_RATIO}×`, ratio, result: ratio <= TARGET_RATIO ? 'PASS' : 'FAIL' };
  }),
  {
    target: 'every notification and snapshot carried the true total',
    ratio: summary.reduce((sum, s) => sum + s.wrongTotals, 0),
    result: summary.every((s) => s.wrongTotals === 0) ? 'PASS' : 'FAIL',
  },
];
log('');
log('| target | ratio | result |');
log('| --- | ---: | --- |');
for (const c of checks) log(`| ${c.target} | ${fmt(c.ratio)} | ${c.result} |`);

mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `server-scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? null },
      parameters: { sizes: SIZES, rounds, ops, inboxOps, synchronous: settings.synchronous },
      summary,
      checks,
      samples: Object.fromEntries(samples),
    },
    null,
    2,
  )}\n`,
);
log(`\nresults: ${file}`);
if (checks.some((c) => c.result === 'FAIL')) process.exitCode = 1;
