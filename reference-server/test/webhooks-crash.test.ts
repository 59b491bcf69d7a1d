import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { api, createRoom, owner, SECRET, spawnServer, tempDir, unique } from './helpers/harness.js';
import { dropTestDatabase, storeArgs } from './helpers/test-store.js';
import { WebhookReceiver, WEBHOOK_SECRET } from './helpers/webhook-receiver.js';

describe('webhook delivery across kill -9', () => {
  const dir = tempDir();
  after(async () => {
    await dropTestDatabase(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a server killed with SIGKILL mid-backlog and restarted on the same data delivers every event, in order per room, under the same webhook-ids', async () => {
    const receiver = await WebhookReceiver.start();
    const args = [
      ...['--port', '0', '--host', '127.0.0.1', '--jwt-secret', SECRET, ...storeArgs(dir)],
      ...['--webhook-url', receiver.url, '--webhook-secret', WEBHOOK_SECRET, '--webhook-allow-private', '1'],
    ];
    // Nothing is answered until the kill: every room's first event is in flight, the rest wait behind it.
    receiver.answer = () => 'hang';
    const first = await spawnServer(args);
    let second: Awaited<ReturnType<typeof spawnServer>> | undefined;
    try {
      const ana = owner(unique('u'));
      const rooms: Array<{ id: string }> = [];
      for (let r = 0; r < 3; r++) rooms.push(await createRoom(first.url, ana));
      for (let i = 1; i <= 10; i++) {
        for (const room of rooms) {
          const sent = await api(first.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: `m${i}` });
          assert.equal(sent.status, 201);
        }
      }
      await receiver.until(() => receiver.deliveries.length >= 3, "each room's first attempt");
      const inFlight = receiver.deliveries.map((d) => d.id);
      first.child.kill('SIGKILL');
      assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });

      receiver.answer = () => ({ status: 200 });
      second = await spawnServer(args);
      await receiver.until(() => rooms.every((room) => receiver.acceptedFor(room.id).length === 11), 'all 33 events', 30_000);
      for (const room of rooms) {
        assert.deepEqual(
          receiver.acceptedFor(room.id).map((e) => [e.type, e.data.message?.body ?? null]),
          [['room.created', null], ...Array.from({ length: 10 }, (_, i) => ['message.created', `m${i + 1}`])],
        );
      }
      assert.equal(receiver.accepted().length, 33, 'each event accepted once');
      const acceptedIds = new Set(receiver.accepted().map((d) => d.id));
      assert.ok(inFlight.every((id) => acceptedIds.has(id)), 'the attempts cut by the kill were redelivered under their webhook-id');
    } finally {
      first.child.kill('SIGKILL');
      if (second) {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      await receiver.close();
    }
  });
});
