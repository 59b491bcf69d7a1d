import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import mongoose from 'mongoose';
import type { Sender } from '../src/chat/types.js';
import { createLogger } from '../src/logger.js';
import { MongoStore } from '../src/store/mongo.js';
import type { AppendResult, NewMessage } from '../src/store/store.js';
import { describeStoreSuite } from './store-suite.js';

import { testStoreKind } from './helpers/test-store.js';

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
}
