import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type OutboxChanges, SqliteEventReader } from '../src/store/sqlite-event-reader.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { PendingEvent } from '../src/webhooks/events.js';
import { tempDir } from './helpers/harness.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function openStore() {
  const dataDir = tempDir();
  dirs.push(dataDir);
  const store = new SqliteStore({ dataDir, synchronous: 'normal', events: true });
  const recorded: PendingEvent[][] = [];
  store.outbox!.thread!.onRecorded((events) => recorded.push(events));
  return { store, file: join(dataDir, 'motoreach-chat.sqlite3'), recorded };
}

const send = (store: SqliteStore, request_id: string, body: string) =>
  store.appendMessage({ request_id, sender: { id: 'u-ana', role: 'user', name: 'Ana' }, side: 'user', body, client_id: null });

/** Takes every due head and reports it delivered, until none is left: the order the receiver would see. */
async function drain(reader: SqliteEventReader): Promise<string[]> {
  const sent: string[] = [];
  for (let heads = await reader.due(Date.now(), 16, new Set()); heads.length > 0; heads = await reader.due(Date.now(), 16, new Set())) {
    for (const head of heads) {
      const { type, data } = JSON.parse(head.body) as { type: string; data: { message?: { body: string } } };
      sent.push(`${type}${data.message ? `:${data.message.body}` : ''}@${head.position}`);
      await reader.remove(head);
    }
  }
  return sent;
}

test('the delivery thread sends held events from memory and the others from the file, in order per room, each once, and hands every delete to the writer', async () => {
  const { store, file, recorded } = openStore();
  const changes: OutboxChanges[] = [];
  // At most 3 events held: the fourth makes its room's events come from the file until the room is drained.
  const reader = new SqliteEventReader(file, (c) => changes.push(c), 3);
  try {
    const a = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
    const b = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-2', title: 'B' });
    await send(store, a.id, 'a1');
    await send(store, a.id, 'a2');
    await send(store, b.id, 'b1');
    await send(store, a.id, 'a3');
    for (const events of recorded) reader.recorded(events);
    assert.deepEqual(await drain(reader), [
      'room.created@1',
      'room.created@2',
      'message.created:a1@3',
      'message.created:b1@5',
      'message.created:a2@4',
      'message.created:a3@6',
    ]);
    reader.flush();
    assert.deepEqual(
      changes.flatMap((c) => c.removed.map((e) => e.position)),
      [1, 2, 3, 5, 4, 6],
    );
  } finally {
    reader.close();
    await store.close();
  }
});

test('a backlog found at start is read from the file, the same events handed over again are passed, and a retried head waits with its attempts counted', async () => {
  const { store, file, recorded } = openStore();
  const changes: OutboxChanges[] = [];
  const a = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
  await send(store, a.id, 'a1');
  const reader = new SqliteEventReader(file, (c) => changes.push(c));
  try {
    // The commits before the start reach the thread too: they are the backlog it read.
    for (const events of recorded.splice(0)) reader.recorded(events);
    await send(store, a.id, 'a2');
    for (const events of recorded.splice(0)) reader.recorded(events);

    const [head] = await reader.due(Date.now(), 16, new Set());
    assert.deepEqual([head!.position, head!.attempts], [1, 0]);
    const dueAt = Date.now() + 60_000;
    await reader.retryAt(head!, 1, dueAt);
    assert.deepEqual(await reader.due(Date.now(), 16, new Set()), [], 'the room waits for its retry');
    const [again] = await reader.due(dueAt, 16, new Set());
    assert.deepEqual([again!.id, again!.position, again!.attempts], [head!.id, 1, 1]);
    await reader.remove(again!);
    assert.deepEqual(await drain(reader), ['message.created:a1@2', 'message.created:a2@3']);
    reader.flush();
    assert.deepEqual(changes.flatMap((c) => c.retried.map((e) => [e.position, e.attempts, e.dueAt])), [[1, 1, dueAt]]);
    assert.deepEqual(changes.flatMap((c) => c.removed.map((e) => e.position)), [1, 2, 3]);
  } finally {
    reader.close();
    await store.close();
  }
});
