import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { api, createRoom, owner, startTestServer, tempDir, unique } from './helpers/harness.js';
import { dropTestDatabase, testStoreKind } from './helpers/test-store.js';
import { WebhookReceiver, WEBHOOK_SECRET } from './helpers/webhook-receiver.js';

// Several servers share a store only on MongoDB (a SQLite data dir has one server, its lock says so).
describe('webhook delivery from several servers (MongoDB)', { skip: testStoreKind !== 'mongodb' && 'several servers share only MongoDB' }, () => {
  const options = (receiver: WebhookReceiver, dataDir: string) => ({
    dataDir,
    webhookUrl: receiver.url,
    webhookSecret: WEBHOOK_SECRET,
    webhookAllowPrivate: true,
  });

  test('two servers deliver each event once per attempt, in order per room', async () => {
    const receiver = await WebhookReceiver.start();
    const dataDir = tempDir();
    const a = await startTestServer(options(receiver, dataDir), { webhookTuning: { pollMs: 20 } });
    const b = await startTestServer(options(receiver, dataDir), { webhookTuning: { pollMs: 20 } });
    try {
      const ana = owner(unique('u'));
      const rooms: Array<{ id: string }> = [];
      for (let r = 0; r < 4; r++) rooms.push(await createRoom((r % 2 ? a : b).url, ana));
      for (let i = 1; i <= 5; i++) {
        for (const [r, room] of rooms.entries()) {
          assert.equal((await api(((r + i) % 2 ? a : b).url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: `m${i}` })).status, 201);
        }
      }
      await receiver.until(() => rooms.every((room) => receiver.acceptedFor(room.id).length === 6), 'all 24 events');
      for (const room of rooms) {
        assert.deepEqual(
          receiver.acceptedFor(room.id).map((e) => e.data.message?.body ?? e.type),
          ['room.created', 'm1', 'm2', 'm3', 'm4', 'm5'],
        );
      }
      const ids = receiver.deliveries.map((d) => d.id);
      assert.equal(ids.length, 24, 'one attempt each: no event went out from both servers');
      assert.equal(new Set(ids).size, 24);
    } finally {
      await a.close();
      await b.stop();
      await receiver.close();
    }
  });

  test('the events a dead server held are taken over once its lease runs out', async () => {
    const receiver = await WebhookReceiver.start();
    const dataDir = tempDir();
    receiver.answer = () => 'hang';
    // A long timeout and a short lease: the first server's attempts never end by themselves.
    const first = await startTestServer(options(receiver, dataDir), { webhookTuning: { pollMs: 20, timeoutMs: 120_000, leaseMs: 1000 } });
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      const ana = owner(unique('u'));
      const rooms = [await createRoom(first.url, ana), await createRoom(first.url, ana)];
      for (const room of rooms) await api(first.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'hello' });
      await receiver.until(() => receiver.deliveries.length === 2, "each room's first event in flight");
      const held = receiver.deliveries.map((d) => d.id);
      // Gone without a word: its attempts are cut, nothing of them is written back.
      await first.close();
      receiver.answer = () => ({ status: 200 });
      second = await startTestServer(options(receiver, dataDir), { webhookTuning: { pollMs: 20 } });
      await receiver.until(() => rooms.every((room) => receiver.acceptedFor(room.id).length === 2), 'every event, from the second server');
      for (const room of rooms) assert.deepEqual(receiver.acceptedFor(room.id).map((e) => e.type), ['room.created', 'message.created']);
      assert.deepEqual(
        receiver.accepted().filter((d) => held.includes(d.id)).map((d) => d.id).sort(),
        [...held].sort(),
        'the held events, under their webhook-ids',
      );
    } finally {
      if (second) await second.stop();
      else {
        await dropTestDatabase(dataDir);
        rmSync(dataDir, { recursive: true, force: true });
      }
      await receiver.close();
    }
  });
});
