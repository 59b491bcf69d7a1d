import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { ChatError } from '../../src/errors.js';
import { HistorySync, type SyncHost } from '../../src/history-sync.js';
import { mergeBySeq } from '../../src/merge.js';
import type { ChatMessage } from '../../src/types.js';
import type { Message, MessagesPage } from '../../src/wire.js';

const message = (seq: number): Message =>
  ({ id: `m${seq}`, request_id: 'r1', seq, sender: { id: 'u', role: 'user', name: null }, body: `b${seq}`, client_id: null, created_at: '' }) as Message;

// setTimeout is the mocked one in some tests: wait by the event loop's turns instead.
async function until(predicate: () => boolean): Promise<void> {
  for (let turns = 0; !predicate(); turns++) {
    if (turns > 1000) throw new Error('never happened');
    await new Promise((r) => setImmediate(r));
  }
}

/** A fake server's history (the unit under test is the sync): answers `limit`, `before` and `after` as the real one does. */
class FakeHistory {
  all: Message[];
  queries: string[] = [];
  failures: ChatError[] = [];
  held: ChatMessage[] = [];
  live: number[] = [];
  resyncs: [number, number][] = [];
  synced = 0;
  failed: ChatError[] = [];
  reported: unknown[] = [];

  constructor(count: number) {
    this.all = Array.from({ length: count }, (_, i) => message(i + 1));
  }

  page(query: string): Promise<MessagesPage> {
    this.queries.push(query);
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    const q = new URLSearchParams(query);
    const limit = Number(q.get('limit'));
    let list: Message[];
    if (q.has('after')) list = this.all.filter((m) => m.seq > Number(q.get('after'))).slice(0, limit);
    else list = this.all.filter((m) => !q.has('before') || m.seq < Number(q.get('before'))).slice(-limit);
    const more = q.has('after') ? this.all.filter((m) => m.seq > Number(q.get('after'))).length > limit : this.all.indexOf(list[0]!) > 0;
    return Promise.resolve({ messages: list, has_more: more, read_cursors: { user: 0, workshop: 0 } } as MessagesPage);
  }

  host(): SyncHost {
    return {
      reconnect: { minDelayMs: 100, maxDelayMs: 1000, factor: 2 },
      page: (q) => this.page(q),
      held: () => this.held,
      insert: (messages, live) => {
        const added = mergeBySeq(this.held, messages.map((m): ChatMessage => ({ ...m, state: 'sent' })));
        if (live) this.live.push(...added.map((m) => m.seq!));
        return added;
      },
      emit: ((type: string, e: { after: number; fetched: number }) =>
        type === 'resync' ? this.resyncs.push([e.after, e.fetched]) : this.reported.push(e)) as unknown as SyncHost["emit"],
      synced: async () => void this.synced++,
      fail: (e) => this.failed.push(e),
    };
  }
}

test('first resume: the newest page; a later one fetches what came after the last seq held, page by page, as live', async () => {
  const server = new FakeHistory(60);
  const sync = new HistorySync(server.host());
  await sync.resume(60);
  assert.deepEqual(server.queries, ['limit=50']);
  assert.equal(server.held[0]!.seq, 11);
  assert.equal(sync.hasOlder, true);
  assert.equal(server.synced, 1);
  // Offline while 250 more were written.
  server.all.push(...Array.from({ length: 250 }, (_, i) => message(61 + i)));
  sync.down();
  await sync.resume(310);
  assert.deepEqual(server.queries.slice(1), ['after=60&limit=100', 'after=160&limit=100', 'after=260&limit=100']);
  assert.equal(server.live.length, 250);
  assert.deepEqual(server.resyncs, [[60, 250]]);
  assert.equal(server.held.length, 300);
});

test('older pages: before the first seq held, until there are none', async () => {
  const server = new FakeHistory(120);
  const sync = new HistorySync(server.host());
  await sync.resume(120);
  assert.deepEqual((await sync.older(50)).map((m) => m.seq), Array.from({ length: 50 }, (_, i) => 21 + i));
  assert.equal(sync.hasOlder, true);
  assert.equal((await sync.older(50)).length, 20);
  assert.equal(sync.hasOlder, false);
  assert.deepEqual(server.queries.slice(1), ['before=71&limit=50', 'before=21&limit=50']);
});

test('a transient failure is retried after the backoff on the clock; a final one stops the room', async () => {
  const server = new FakeHistory(5);
  server.failures.push(new ChatError('rate_limited', 'slow', { status: 429 }));
  mock.timers.enable({ apis: ['setTimeout'] });
  const sync = new HistorySync(server.host());
  const done = sync.resume(5);
  await until(() => server.reported.length === 1);
  assert.deepEqual(server.reported.map((e) => (e as ChatError).code), ['rate_limited']);
  assert.equal(server.held.length, 0);
  mock.timers.tick(100);
  mock.timers.reset();
  await done;
  assert.equal(server.held.length, 5);

  const refused = new FakeHistory(5);
  refused.failures.push(new ChatError('forbidden', 'no', { status: 403 }));
  await new HistorySync(refused.host()).resume(5);
  assert.deepEqual(refused.failed.map((e) => e.code), ['forbidden']);
  assert.equal(refused.synced, 0);
});

test('the socket going down ends the retries of the resume for it', async () => {
  const server = new FakeHistory(5);
  server.failures.push(new ChatError('network', 'offline'));
  mock.timers.enable({ apis: ['setTimeout'] });
  const sync = new HistorySync(server.host());
  const done = sync.resume(5);
  await until(() => server.reported.length === 1);
  sync.down();
  await done;
  mock.timers.reset();
  assert.deepEqual(server.queries, ['limit=50']);
  assert.equal(server.synced, 0);
});
