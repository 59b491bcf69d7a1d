/**
 * The MongoDB store's cost against the size of the inbox (issue 8, "MongoDB,
 * same shape"), each figure as a ratio to the minimal transaction on the same
 * mongod: a workshop with 1, 1,000 and 10,000 service requests, each holding one
 * unread message from its owner. Per size, one at a time: appends from an owner
 * (the notification's counts come from the counters they move), read receipts
 * of the workshop, its unread snapshot and its first inbox page; and the plan
 * MongoDB chose for the page and the snapshot (index, keys and documents
 * examined). The minimal transaction is one `insertOne` in a transaction with
 * the store's read and write concerns, timed in the same rounds.
 *
 *   MONGOMS_SYSTEM_BINARY=$(reference-server/scripts/mongod-wine.sh) MONGOMS_VERSION=7.0.15 \
 *     node --import tsx bench/store-mongo.ts [--sizes 1,1000,10000] [--rounds 3] [--ops 20]
 *   (or MONGODB_URI=<a replica set>)
 *
 * Under wine the mongod here is far slower than a native one: only the ratios mean anything.
 */
import { parseArgs } from 'node:util';
import { MongoMemoryReplSet } from 'mongodb-memory-server-core';
import mongoose from 'mongoose';
import type { Principal } from '../reference-server/src/chat/types.js';
import { createLogger } from '../reference-server/src/logger.js';
import { MongoStore } from '../reference-server/src/store/mongo.js';

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,1000,10000' },
    rounds: { type: 'string', default: '3' },
    ops: { type: 'string', default: '20' },
  },
});
const SIZES = opts.sizes.split(',').map(Number);
const ROUNDS = Number(opts.rounds);
const OPS = Number(opts.ops);
/** Seeding writes this many requests at once: mongod is the limit, not the client. */
const SEED_CONCURRENCY = 32;
const WRITE_TRANSACTION = { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' }, readPreference: 'primary' } as const;

const log = (line: string) => process.stdout.write(`${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

type Op = 'minimal' | 'append' | 'read' | 'unread' | 'inbox';
const LABELS: Record<Op, string> = {
  minimal: 'minimal transaction (insertOne)',
  append: 'append (message + counters)',
  read: 'read receipt (cursor + counters)',
  unread: 'unread snapshot',
  inbox: 'inbox page (50)',
};

let replSet: MongoMemoryReplSet | undefined;
let uri = process.env.MONGODB_URI;
if (!uri) {
  if (!process.env.MONGOMS_SYSTEM_BINARY) throw new Error('set MONGOMS_SYSTEM_BINARY (scripts/mongod-wine.sh prints one) or MONGODB_URI');
  replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' }, instanceOpts: [{ launchTimeout: 60_000 }] });
  uri = replSet.getUri();
}
const dbName = `bench_store_${process.pid}`;
const store = await MongoStore.connect(uri, { logger: createLogger('silent'), dbName });
const raw = await mongoose.createConnection(uri, { dbName }).asPromise();
try {
  await raw.createCollection('minimal');
  interface Workshop {
    size: number;
    principal: Principal;
    owner: string;
    target: string;
    /** The workshop's cursor in the target request. */
    cursor: number;
    lastSeq: number;
  }
  const workshops: Workshop[] = [];
  for (const size of SIZES) {
    const workshopId = `w-${size}`;
    const started = performance.now();
    let target = '';
    for (let from = 0; from < size; from += SEED_CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(SEED_CONCURRENCY, size - from) }, async (_, k) => {
          const owner = `u-${size}-${from + k}`;
          const room = await store.createRoom({ user_id: owner, workshop_id: workshopId, title: `Request ${from + k}` });
          await store.appendMessage({ request_id: room.id, sender: { id: owner, role: 'user', name: null }, side: 'user', body: 'Brakes squeak', client_id: null });
          if (from + k === 0) target = room.id;
        }),
      );
    }
    log(`seeded ${size} requests holding unread in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    workshops.push({ size, principal: { side: 'workshop', workshopId }, owner: `u-${size}-0`, target, cursor: 0, lastSeq: 1 });
  }

  const samples = new Map<string, number[]>();
  const add = (op: Op, size: number, ms: number) => {
    const key = `${op}:${size}`;
    samples.set(key, [...(samples.get(key) ?? []), ms]);
  };
  let wrong = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    const warmUp = round === 0;
    const order = workshops.map((_, i) => workshops[(i + round) % workshops.length]!);
    for (const w of order) {
      for (let i = 0; i < OPS; i++) {
        const ms = await timed(() =>
          raw.transaction(async (session) => {
            await raw.collection('minimal').insertOne({ _id: `${w.size}-${round}-${i}` as never, body: 'Brakes squeak' }, { session });
          }, WRITE_TRANSACTION),
        );
        if (!warmUp) add('minimal', w.size, ms);
      }
      for (let i = 0; i < OPS; i++) {
        let total = 0;
        const ms = await timed(async () => {
          const result = await store.appendMessage({ request_id: w.target, sender: { id: w.owner, role: 'user', name: null }, side: 'user', body: 'Any news?', client_id: null });
          total = result.recipient_unread.total;
        });
        w.lastSeq += 1;
        if (total !== w.size - 1 + (w.lastSeq - w.cursor)) wrong++;
        if (!warmUp) add('append', w.size, ms);
      }
      for (let i = 0; i < OPS; i++) {
        w.cursor += 1;
        const ms = await timed(() => store.advanceCursor(w.target, 'workshop', w.cursor));
        if (!warmUp) add('read', w.size, ms);
      }
      for (let i = 0; i < OPS; i++) {
        let total = 0;
        const ms = await timed(async () => {
          total = (await store.unread(w.principal)).total;
        });
        if (total !== w.size - 1 + (w.lastSeq - w.cursor)) wrong++;
        if (!warmUp) add('unread', w.size, ms);
      }
      for (let i = 0; i < OPS; i++) {
        const ms = await timed(() => store.listRooms(w.principal, { limit: 50, after: null }));
        if (!warmUp) add('inbox', w.size, ms);
      }
    }
    if (!warmUp) log(`round ${round} done`);
  }

  const first = SIZES[0]!;
  const last = SIZES.at(-1)!;
  log(`\nmedians in ms over ${ROUNDS} rounds × ${OPS} operations; (× the ${first}-request workshop) [× the minimal transaction]`);
  log(`| operation | ${SIZES.map((s) => `${s.toLocaleString('en')} requests`).join(' | ')} |`);
  log(`| --- |${SIZES.map(() => ' ---: |').join('')}`);
  for (const op of Object.keys(LABELS) as Op[]) {
    const cells = SIZES.map((size) => {
      const m = median(samples.get(`${op}:${size}`) ?? []);
      const base = median(samples.get(`${op}:${first}`) ?? []);
      const minimal = median(samples.get(`minimal:${size}`) ?? []);
      return `${m.toFixed(2)} (${(m / base).toFixed(2)}×) [${(m / minimal).toFixed(2)}×]`;
    });
    log(`| ${LABELS[op]} | ${cells.join(' | ')} |`);
  }
  log(`counts that were not the workshop's true total: ${wrong}`);

  const plan = async (filter: object, sort: object | null, hint: string, limit: number) => {
    let cursor = raw.collection('rooms').find(filter).hint(hint).limit(limit);
    if (sort) cursor = cursor.sort(sort as never);
    const explained = (await cursor.explain('executionStats')) as any;
    const stats = explained.executionStats;
    return `${hint}: ${stats.nReturned} returned, ${stats.totalKeysExamined} keys and ${stats.totalDocsExamined} documents examined`;
  };
  log(`\nplans for the ${last.toLocaleString('en')}-request workshop:`);
  log(`- inbox page: ${await plan({ workshop_id: `w-${last}` }, { last_activity: -1, _id: -1 }, 'rooms_inbox_of_workshop', 51)}`);
  log(`- unread snapshot: ${await plan({ workshop_id: `w-${last}`, workshop_unread: { $gt: 0 } }, null, 'rooms_unread_inbox_of_workshop', 0)}`);
  log(`- inbox page, unread=1: ${await plan(
    { workshop_id: `w-${last}`, workshop_unread: { $gt: 0 } },
    { last_activity: -1, _id: -1 },
    'rooms_unread_inbox_of_workshop',
    51,
  )}`);
  process.exitCode = wrong === 0 ? 0 : 1;
} finally {
  await raw.dropDatabase();
  await raw.close();
  await store.close();
  await replSet?.stop();
}
