import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { ChatError } from '../../src/errors.js';
import { HistorySync, type SyncHost } from '../../src/history-sync.js';
import { mergeBySeq } from '../../src/merge.js';
import type { ChatMessage } from '../../src/types.js';
import type { Message, MessagesPage, ReadyFrame } from '../../src/wire.js';

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

  // The `ready` a socket opened with `query` (`&history=N[&after=S]`) gets, as the reference server
  // builds it: the newest N, or at most N after S, and whether more lie beyond.
  ready(query: string): ReadyFrame {
    const q = new URLSearchParams(query);
    const n = Number(q.get('history'));
    const after = q.get('after');
    const list = after === null ? this.all.slice(-n) : this.all.filter((m) => m.seq > Number(after)).slice(0, n);
    const more = after === null ? this.all.length > n : this.all.filter((m) => m.seq > Number(after)).length > n;
    const last_seq = this.all.length;
    return { type: 'ready', request_id: 'r1', last_seq, read_cursors: { user: 0, workshop: 0 }, me: { id: 'u', role: 'user', name: null }, messages: list, has_more: more };
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
      synced: () => void this.synced++,
      fail: (e) => this.failed.push(e),
    };
  }
}

test('first resume: the newest page, carried by ready; a later one asks for what came after the last seq held, and fetches the rest page by page, as live', async () => {
  const server = new FakeHistory(60);
  const sync = new HistorySync(server.host());
  assert.equal(sync.query(), '&history=50');
  await sync.resume(server.ready(sync.query()));
  assert.deepEqual(server.queries, []);
  assert.equal(server.held[0]!.seq, 11);
  assert.equal(server.held.length, 50);
  assert.equal(sync.hasOlder, true);
  assert.equal(server.synced, 1);
  // Offline while 250 more were written: ready carries 100 of them, the rest is fetched.
  server.all.push(...Array.from({ length: 250 }, (_, i) => message(61 + i)));
  sync.down();
  assert.equal(sync.query(), '&history=100&after=60');
  await sync.resume(server.ready(sync.query()));
  assert.deepEqual(server.queries, ['after=160&limit=100', 'after=260&limit=100']);
  assert.deepEqual(server.live, Array.from({ length: 250 }, (_, i) => 61 + i));
  assert.deepEqual(server.resyncs, [[60, 250]]);
  assert.equal(server.held.length, 300);
  assert.equal(server.synced, 2);
});

test('a resume with nothing missed fetches nothing and tells no resync', async () => {
  const server = new FakeHistory(3);
  const sync = new HistorySync(server.host());
  await sync.resume(server.ready(sync.query()));
  sync.down();
  assert.equal(sync.query(), '&history=100&after=3');
  await sync.resume(server.ready(sync.query()));
  assert.deepEqual([server.queries, server.resyncs, server.live, server.synced], [[], [], [], 2]);
});

test('older pages: before the first seq held, until there are none', async () => {
  const server = new FakeHistory(120);
  const sync = new HistorySync(server.host());
  await sync.resume(server.ready(sync.query()));
  assert.deepEqual((await sync.older(50)).map((m) => m.seq), Array.from({ length: 50 }, (_, i) => 21 + i));
  assert.equal(sync.hasOlder, true);
  assert.equal((await sync.older(50)).length, 20);
  assert.equal(sync.hasOlder, false);
  assert.deepEqual(server.queries, ['before=71&limit=50', 'before=21&limit=50']);
});

// Connected once with 5 messages, then 150 more were written while away: ready carries 100, 50 are fetched.
async function away(server: FakeHistory): Promise<{ sync: HistorySync; ready: ReadyFrame }> {
  const sync = new HistorySync(server.host());
  await sync.resume(server.ready(sync.query()));
  server.all.push(...Array.from({ length: 150 }, (_, i) => message(6 + i)));
  sync.down();
  return { sync, ready: server.ready(sync.query()) };
}

test('a transient failure is retried after the backoff on the clock; a final one stops the room', async () => {
  const server = new FakeHistory(5);
  const { sync, ready } = await away(server);
  server.failures.push(new ChatError('rate_limited', 'slow', { status: 429 }));
  mock.timers.enable({ apis: ['setTimeout'] });
  const done = sync.resume(ready);
  await until(() => server.reported.length === 1);
  assert.deepEqual(server.reported.map((e) => (e as ChatError).code), ['rate_limited']);
  assert.equal(server.held.length, 105);
  mock.timers.tick(100);
  mock.timers.reset();
  await done;
  assert.equal(server.held.length, 155);
  assert.deepEqual(server.queries, ['after=105&limit=100', 'after=105&limit=100']);
  assert.deepEqual(server.resyncs, [[5, 150]]);

  const refused = new FakeHistory(5);
  const second = await away(refused);
  refused.failures.push(new ChatError('forbidden', 'no', { status: 403 }));
  await second.sync.resume(second.ready);
  assert.deepEqual(refused.failed.map((e) => e.code), ['forbidden']);
  assert.equal(refused.synced, 1);
});

test('the socket going down ends the retries of the resume for it', async () => {
  const server = new FakeHistory(5);
  const { sync, ready } = await away(server);
  server.failures.push(new ChatError('network', 'offline'));
  mock.timers.enable({ apis: ['setTimeout'] });
  const done = sync.resume(ready);
  await until(() => server.reported.length === 1);
  sync.down();
  await done;
  mock.timers.reset();
  assert.deepEqual(server.queries, ['after=105&limit=100']);
  assert.equal(server.synced, 1);
});
