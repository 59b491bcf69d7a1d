import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import mongoose from 'mongoose';
import pino from 'pino';
import type { Room, Sender } from '../src/chat/types.js';
import { createLogger } from '../src/logger.js';
import { MongoStore } from '../src/store/mongo.js';
import type { AppendResult, NewMessage } from '../src/store/store.js';
import { testStoreKind } from './helpers/test-store.js';
import { clockPast, describeStoreSuite } from './store-suite.js';

const MONGODB_URI = testStoreKind === 'mongodb' ? process.env.MONGODB_URI : undefined;
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const ANA: Sender = { id: 'u-ana', role: 'user', name: 'Ana' };
const BO: Sender = { id: 'a-bo', role: 'workshop_admin', name: 'Bo' };

function msg(request_id: string, sender: Sender, body: string, client_id: string | null = null): NewMessage {
  return { request_id, sender, side: sender.role === 'user' ? 'user' : 'workshop', body, client_id };
}

/** One database per test, so tests neither see each other's rooms nor depend on order. */
function freshDbName(): string {
  return `motoreach_test_${process.pid}_${randomBytes(6).toString('hex')}`;
}

async function dropDatabase(uri: string, dbName: string): Promise<void> {
  const conn = await mongoose.createConnection(uri, { dbName }).asPromise();
  try {
    await conn.dropDatabase();
  } finally {
    await conn.close();
  }
}

async function allMessages(store: MongoStore, requestId: string) {
  const all = [];
  let after = 0;
  for (;;) {
    const page = await store.listMessages(requestId, { after, limit: 100 });
    all.push(...page.messages);
    if (!page.has_more) return all;
    after = page.messages.at(-1)!.seq;
  }
}

if (!MONGODB_URI) {
  test('mongodb store suite', {
    skip: 'runs in the MongoDB pass of npm test (test/run-on-mongodb.ts), when MONGOMS_SYSTEM_BINARY or MONGODB_URI is set',
  }, () => {});
} else {
  const uri = MONGODB_URI;

  describeStoreSuite('mongodb', async () => {
    const dbName = freshDbName();
    const store = await MongoStore.connect(uri, { logger, dbName });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await dropDatabase(uri, dbName);
      },
    };
  });

  test('a setup step cut short by a lost connection is tried again', async (t) => {
    const control = await mongoose.createConnection(uri).asPromise();
    const failPoint = (mode: unknown, data?: object) =>
      control.db!.admin().command({ configureFailPoint: 'failCommand', mode, ...(data ? { data } : {}) });
    try {
      await failPoint({ times: 1 }, { failCommands: ['createIndexes'], closeConnection: true });
    } catch (error) {
      await control.close();
      t.skip(`this mongod has no test commands (start it with --setParameter enableTestCommands=1): ${(error as Error).message}`);
      return;
    }
    const lines: Array<Record<string, any>> = [];
    const captured = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const dbName = freshDbName();
    try {
      const store = await MongoStore.connect(uri, { logger: captured, dbName });
      try {
        const retries = lines.filter((l) => l.msg === 'mongodb store: setup interrupted, trying again');
        assert.deepEqual(retries.map((l) => [l.attempt, l.err.type]), [[1, 'MongoNetworkError']]);
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'After a cut' });
        assert.equal((await store.appendMessage(msg(room.id, ANA, 'stored', 'c-1'))).message.seq, 1);
        // The idempotency index exists: the same client_id is the same message.
        assert.equal((await store.appendMessage(msg(room.id, ANA, 'again', 'c-1'))).created, false);
      } finally {
        await store.close();
      }
    } finally {
      await failPoint('off');
      await control.close();
      await dropDatabase(uri, dbName);
    }
  });

  describe('mongodb store, two servers on one database', () => {
    async function withTwoStores(fn: (a: MongoStore, b: MongoStore) => Promise<void>): Promise<void> {
      const dbName = freshDbName();
      const a = await MongoStore.connect(uri, { logger, dbName });
      const b = await MongoStore.connect(uri, { logger, dbName });
      try {
        await fn(a, b);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await dropDatabase(uri, dbName);
      }
    }

    test('concurrent appends to one room from both give a gapless seq with no duplicates', () =>
      withTwoStores(async (a, b) => {
        const room = await a.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const perStore = 100;
        const resolved: Record<'a' | 'b', number[]> = { a: [], b: [] };
        const send = (store: MongoStore, name: 'a' | 'b', i: number) =>
          store.appendMessage(msg(room.id, i % 2 ? ANA : BO, `${name}${i}`)).then((r) => {
            assert.equal(r.created, true);
            resolved[name].push(r.message.seq);
            return r;
          });
        const results = await Promise.all(
          Array.from({ length: perStore }, (_, i) => [send(a, 'a', i), send(b, 'b', i)]).flat(),
        );
        const everySeq = Array.from({ length: 2 * perStore }, (_, i) => i + 1);
        assert.deepEqual(results.map((r) => r.message.seq).sort((x, y) => x - y), everySeq);
        assert.equal(new Set(results.map((r) => r.message.id)).size, 2 * perStore);
        // Each process still resolves its own appends to a room in seq order.
        for (const seqs of [resolved.a, resolved.b]) assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
        const stored = await allMessages(b, room.id);
        assert.deepEqual(stored.map((m) => m.seq), everySeq);
        assert.deepEqual(
          stored.map((m) => m.body).sort(),
          results.map((r) => r.message.body).sort(),
        );
        assert.equal((await a.getRoom(room.id))?.last_seq, 2 * perStore);
      }));

    test('a client_id sent through both at once is stored once and both answer that message', () =>
      withTwoStores(async (a, b) => {
        const room = await a.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const keys = Array.from({ length: 20 }, (_, i) => `c-${i}`);
        const pairs: [AppendResult, AppendResult][] = await Promise.all(
          keys.map((key) =>
            Promise.all([
              a.appendMessage(msg(room.id, ANA, `via a ${key}`, key)),
              b.appendMessage(msg(room.id, ANA, `via b ${key}`, key)),
            ]),
          ),
        );
        for (const [fromA, fromB] of pairs) {
          assert.deepEqual(fromB.message, fromA.message);
          assert.equal(Number(fromA.created) + Number(fromB.created), 1);
        }
        const stored = await allMessages(a, room.id);
        assert.deepEqual(stored.map((m) => m.seq), Array.from({ length: keys.length }, (_, i) => i + 1));
        assert.deepEqual(stored.map((m) => m.client_id).sort(), [...keys].sort());
        assert.equal((await b.getRoom(room.id))?.last_seq, keys.length);
      }));

    test('appends and reads racing across one workshop’s rooms from both keep every counter exact', () =>
      withTwoStores(async (a, b) => {
        const rooms: Room[] = [];
        for (let i = 0; i < 10; i++) rooms.push(await a.createRoom({ user_id: `u-${i}`, workshop_id: 'w-busy', title: `R${i}` }));
        const owner = (i: number): Sender => ({ id: `u-${i}`, role: 'user', name: null });
        // Every append moves the same workshop total, so the two stores' transactions conflict and are retried.
        await Promise.all(
          rooms.flatMap((room, i) =>
            Array.from({ length: 6 }, (_, k) => (k % 2 ? a : b).appendMessage(msg(room.id, owner(i), `m${k}`))),
          ),
        );
        await Promise.all(rooms.slice(0, 4).map((room, i) => (i % 2 ? a : b).advanceCursor(room.id, 'workshop', 2)));
        const expected = Object.fromEntries(rooms.map((room, i) => [room.id, i < 4 ? 4 : 6]));
        assert.deepEqual(await b.unread({ side: 'workshop', workshopId: 'w-busy' }), { total: 4 * 4 + 6 * 6, rooms: expected });
        const next = await a.appendMessage(msg(rooms[0]!.id, owner(0), 'last'));
        assert.deepEqual(next.recipient_unread, { count: 5, total: 4 * 4 + 6 * 6 + 1 });
      }));

    test('close lets appends it already accepted finish, then refuses new ones', () =>
      withTwoStores(async (a) => {
        const room = await a.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const accepted = [a.appendMessage(msg(room.id, ANA, 'one')), a.appendMessage(msg(room.id, ANA, 'two'))];
        const closed = a.close();
        await assert.rejects(a.appendMessage(msg(room.id, ANA, 'late')), /store is closed/);
        await closed;
        assert.deepEqual((await Promise.all(accepted)).map((r) => r.message.seq), [1, 2]);
      }));
  });
  describe('mongodb store, cost that does not grow with the inbox', () => {
    async function withDb(fn: (store: MongoStore, db: mongoose.Connection) => Promise<void>): Promise<void> {
      const dbName = freshDbName();
      const store = await MongoStore.connect(uri, { logger, dbName });
      const db = await mongoose.createConnection(uri, { dbName }).asPromise();
      try {
        await fn(store, db);
      } finally {
        await store.close();
        await db.dropDatabase();
        await db.close();
      }
    }

    /** What the server did for the store's reads on `ns` while `run` ran, from the database profiler. */
    async function profiled(db: mongoose.Connection, ns: string, run: () => Promise<unknown>) {
      await db.db!.command({ profile: 2 });
      const since = new Date();
      await run();
      await db.db!.command({ profile: 0 });
      return db.db!
        .collection('system.profile')
        .find({ ts: { $gte: since }, ns: `${db.name}.${ns}`, op: 'query' })
        .project<{ planSummary: string; docsExamined: number; keysExamined: number; hasSortStage?: boolean }>({
          planSummary: 1,
          docsExamined: 1,
          keysExamined: 1,
          hasSortStage: 1,
        })
        .toArray();
    }

    test('an inbox page and an unread snapshot read only their own rooms, through their indexes', () =>
      withDb(async (store, db) => {
        const rooms: Room[] = [];
        for (let i = 0; i < 30; i++) {
          // Each in a later millisecond: rooms of one millisecond are ordered by their random ids.
          if (i > 0) await clockPast(rooms[i - 1]!.created_at);
          rooms.push(await store.createRoom({ user_id: `u-${i}`, workshop_id: 'w-big', title: `R${i}` }));
        }
        await store.appendMessage(msg(rooms[3]!.id, ANA, 'to the workshop'));
        await store.appendMessage(msg(rooms[7]!.id, ANA, 'to the workshop too'));
        const workshop = { side: 'workshop', workshopId: 'w-big' } as const;

        let page!: Awaited<ReturnType<MongoStore['listRooms']>>;
        const inbox = await profiled(db, 'rooms', async () => {
          page = await store.listRooms(workshop, { limit: 5, after: null });
        });
        assert.deepEqual(
          page.rooms.map((r) => [r.title, r.unread]),
          [['R7', 1], ['R3', 1], ['R29', 0], ['R28', 0], ['R27', 0]],
        );
        assert.deepEqual(inbox.map((q) => [q.planSummary, q.docsExamined, q.hasSortStage ?? false]), [
          ['IXSCAN { workshop_id: 1, last_activity: -1, _id: -1 }', 6, false],
        ]);

        let snapshot!: Awaited<ReturnType<MongoStore['unread']>>;
        const unread = await profiled(db, 'rooms', async () => {
          snapshot = await store.unread(workshop);
        });
        assert.deepEqual(snapshot, { total: 2, rooms: { [rooms[3]!.id]: 1, [rooms[7]!.id]: 1 } });
        assert.deepEqual(unread.map((q) => [q.planSummary, q.docsExamined]), [['IXSCAN { workshop_id: 1, last_activity: -1, _id: -1 }', 2]]);

        // unread=1 walks the partial index of the rooms with unread: it examines those rows only.
        const unreadPage = await profiled(db, 'rooms', async () => {
          page = await store.listRooms(workshop, { limit: 5, after: null, unread: true });
        });
        assert.deepEqual(page.rooms.map((r) => r.title), ['R7', 'R3']);
        assert.deepEqual(unreadPage.map((q) => [q.planSummary, q.docsExamined, q.hasSortStage ?? false]), [
          ['IXSCAN { workshop_id: 1, last_activity: -1, _id: -1 }', 2, false],
        ]);
        // q walks the inbox's index and matches on the documents: the page's rows, the non-matching ones
        // before and between them (R7, R3), and the one row past the page that says more follow.
        const searched = await profiled(db, 'rooms', async () => {
          page = await store.listRooms(workshop, { limit: 2, after: null, q: 'r2' });
        });
        assert.deepEqual([page.rooms.map((r) => r.title), page.next?.id], [['R29', 'R28'], rooms[28]!.id]);
        assert.deepEqual(searched.map((q) => [q.planSummary, q.docsExamined, q.hasSortStage ?? false]), [
          ['IXSCAN { workshop_id: 1, last_activity: -1, _id: -1 }', 5, false],
        ]);
      }));

    test('an append answers the recipient’s total from its counter, not by counting rooms', () =>
      withDb(async (store, db) => {
        const rooms: Room[] = [];
        for (let i = 0; i < 20; i++) rooms.push(await store.createRoom({ user_id: `u-${i}`, workshop_id: 'w-big', title: `R${i}` }));
        for (const room of rooms) await store.appendMessage(msg(room.id, ANA, 'hi'));
        let result!: AppendResult;
        const reads = await profiled(db, 'rooms', async () => {
          result = await store.appendMessage(msg(rooms[0]!.id, ANA, 'again'));
        });
        assert.deepEqual(result.recipient_unread, { count: 2, total: 21 });
        assert.deepEqual(reads, [], 'no query of the rooms: one findAndModify of the written room');
        const read = await store.advanceCursor(rooms[0]!.id, 'workshop', 1);
        assert.deepEqual(read.reader_unread, { count: 1, total: 20 });
        assert.deepEqual(
          await db.db!.collection('unread_totals').find({}, { sort: { _id: 1 } }).limit(2).toArray(),
          [
            { _id: 'user:u-0', total: 0 },
            { _id: 'user:u-1', total: 0 },
          ],
        );
        assert.deepEqual(await db.db!.collection('unread_totals').findOne({ _id: 'workshop:w-big' as never }), {
          _id: 'workshop:w-big',
          total: 20,
        });
      }));

    test('rooms an earlier version wrote get their counters and inbox order when a server connects', async () => {
      const dbName = freshDbName();
      const db = await mongoose.createConnection(uri, { dbName }).asPromise();
      try {
        // The shape the store wrote before it kept counters: no last_activity, no unread fields, no totals.
        await db.db!.collection('rooms').insertMany([
          { _id: 'r_old1' as never, user_id: 'u-ana', workshop_id: 'w-1', title: 'Old 1', created_at: '2025-01-01T00:00:00.000Z', last_seq: 3, user_cursor: 1, workshop_cursor: 0 },
          { _id: 'r_old2' as never, user_id: 'u-ana', workshop_id: 'w-1', title: 'Old 2', created_at: '2025-02-01T00:00:00.000Z', last_seq: 0, user_cursor: 0, workshop_cursor: 0 },
        ]);
        const old = (seq: number, side: 'user' | 'workshop', at: string) => ({
          _id: `m_old${seq}`,
          request_id: 'r_old1',
          seq,
          side,
          sender: side === 'user' ? { id: 'u-ana', role: 'user', name: 'Ana' } : { id: 'a-bo', role: 'workshop_admin', name: 'Bo' },
          body: `old ${seq}`,
          client_id: null,
          created_at: at,
        });
        await db.db!.collection('messages').insertMany([
          old(1, 'workshop', '2025-03-01T00:00:00.000Z'),
          old(2, 'workshop', '2025-03-02T00:00:00.000Z'),
          old(3, 'user', '2025-03-03T00:00:00.000Z'),
        ] as never[]);
        const store = await MongoStore.connect(uri, { logger, dbName });
        try {
          assert.deepEqual(await store.unread({ side: 'user', userId: 'u-ana' }), { total: 1, rooms: { r_old1: 1 } });
          assert.deepEqual(await store.unread({ side: 'workshop', workshopId: 'w-1' }), { total: 1, rooms: { r_old1: 1 } });
          const page = await store.listRooms({ side: 'user', userId: 'u-ana' }, { limit: 10, after: null });
          assert.deepEqual(page.rooms.map((r) => [r.id, r.unread, r.last_message?.body ?? null]), [
            ['r_old1', 1, 'old 3'],
            ['r_old2', 0, null],
          ]);
          const next = await store.appendMessage(msg('r_old2', BO, 'new'));
          assert.deepEqual([next.message.seq, next.recipient_unread], [1, { count: 1, total: 2 }]);
          const indexes = (await db.db!.collection('rooms').indexes()).map((i) => i.name).sort();
          assert.deepEqual(indexes, [
            '_id_',
            'rooms_inbox_of_user',
            'rooms_inbox_of_workshop',
            'rooms_unread_inbox_of_user',
            'rooms_unread_inbox_of_workshop',
            // Partial: they hold only the sides waiting for an unread reminder, so none while webhooks are off.
            'rooms_unread_since_user',
            'rooms_unread_since_workshop',
          ]);
          const search = await store.listRooms({ side: 'workshop', workshopId: 'w-1' }, { limit: 10, after: null, q: 'OLD 2' });
          assert.deepEqual(search.rooms.map((r) => r.id), ['r_old2'], 'the search keys were filled in');
        } finally {
          await store.close();
        }
      } finally {
        await db.dropDatabase();
        await db.close();
      }
    });
  });
}
