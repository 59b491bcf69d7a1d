// The SQLite outbox keeps the events it records in memory for delivery, up to a cap, and reads the
// rest from its table: either way delivery gets every event once, in its room's order, as recorded.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import type { Room } from '../src/chat/types.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { PendingEvent } from '../src/webhooks/events.js';
import { eventually, tempDir } from './helpers/harness.js';

type Recorded = Pick<PendingEvent, 'id' | 'request_id' | 'body'>;

/** Every event the table holds, in recording order. */
function recorded(dataDir: string): Recorded[] {
  const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
  try {
    return db.prepare('SELECT id, request_id, body FROM webhook_events ORDER BY position').all() as Recorded[];
  } finally {
    db.close();
  }
}

const plain = ({ id, request_id, body }: Recorded): Recorded => ({ id, request_id, body });

test('sqlite outbox: past the events kept in memory, and after a failed attempt, every event comes out once, in order per room, as recorded', async () => {
  const dataDir = tempDir();
  const store = new SqliteStore({ dataDir, events: true, eventsInMemory: 3 });
  const outbox = store.outbox!;
  const due = (busy: string[] = []) => outbox.due(Date.now(), 16, new Set(busy), Date.now() + 30_000);
  try {
    const a = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
    const b = await store.createRoom({ user_id: 'u-bo', workshop_id: 'w-1', title: 'B' });
    let n = 0;
    const send = (room: Room) => {
      const sender = room === a ? { id: 'u-ana', role: 'user' as const, name: 'Ana' } : { id: 'u-bo', role: 'user' as const, name: 'Bo' };
      return store.appendMessage({ request_id: room.id, sender, side: 'user', body: `m${n}`, client_id: `c-${n++}` });
    };
    // In memory: both room.created and A's first message; then A's second past the cap.
    await send(a);
    await send(a);
    const delivered: PendingEvent[] = [];
    const expected = recorded(dataDir);

    // A failed attempt of A's head: it waits, and comes back with its attempts counted.
    const [aHead] = await due([b.id]);
    assert.equal(aHead!.id, expected[0]!.id);
    await outbox.retryAt(aHead!, 1, Date.now() - 1);
    // B's head delivered: room in memory for one more event, but A's next must not skip the one past the cap.
    const [bHead] = await due([a.id]);
    assert.equal(bHead!.id, expected[1]!.id);
    await outbox.remove(bHead!);
    delivered.push(bHead!);
    await send(a);
    await send(b);
    expected.push(...recorded(dataDir).slice(-2));

    for (let heads = await due(); heads.length > 0; heads = await due()) {
      delivered.push(...heads);
      await Promise.all(heads.map((event) => outbox.remove(event)));
    }
    for (const room of [a, b]) {
      assert.deepEqual(
        delivered.filter((e) => e.request_id === room.id).map(plain),
        expected.filter((e) => e.request_id === room.id).map(plain),
      );
    }
    assert.equal(delivered.length, 6);
    assert.equal(delivered.find((e) => e.id === aHead!.id)!.attempts, 1);
    // Deleted within a moment, in a transaction of their own here (no append to join).
    await eventually(async () => recorded(dataDir).length === 0, 'the delivered events deleted');

    // With the backlog gone, new events are kept in memory again, and come out the same.
    await send(a);
    const again = recorded(dataDir);
    const heads = await due();
    assert.deepEqual(heads.map(plain), again.map(plain));
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
