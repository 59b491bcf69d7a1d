import assert from 'node:assert/strict';
import { test } from 'node:test';
import WS from 'ws';
import { client, mintToken, OWNER, waitFor, serverForFile } from '../helpers.js';

// A low per-socket frame budget (5 a second, bursts of 10), so that a burst of sends is refused.
const { server, clients } = serverForFile({ env: { WS_RATE_LIMIT: '5', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });

// The SDK's quiet period after a refusal (room.ts QUIET_MS).
const QUIET_MS = 2000;

test('after rate-limit refusals one frame is in flight; after a quiet period a burst goes out with the full window again', { timeout: 20_000 }, async () => {
  let messageFrames = 0;
  let refusals = 0;
  let lastRefusal = 0;
  // The socket as the SDK uses it, watched: message frames written, refusals read.
  class Watched extends WS {
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (e) => {
        if ((JSON.parse(String(e.data)) as { type: string }).type !== 'error') return;
        refusals++;
        lastRefusal = Date.now();
      });
    }
    override send(data: string): void {
      if ((JSON.parse(data) as { type: string }).type === 'message') messageFrames++;
      super.send(data);
    }
  }
  const c = client(server.url, mintToken(OWNER), { WebSocket: Watched as unknown as typeof WS });
  clients.push(c);
  const id = (await c.createRoom({ workshop_id: 'w-1', title: 'Exhaust' })).id;
  const room = c.room(id);
  await room.connect();

  const first = await Promise.all(Array.from({ length: 16 }, (_, i) => room.send(`first ${i}`)));
  assert.deepEqual(first.map((m) => m.seq), Array.from({ length: 16 }, (_, i) => i + 1));
  assert.ok(refusals > 0, 'the burst was refused at least once');
  assert.equal(room.status, 'open');

  await waitFor(() => Date.now() - lastRefusal > QUIET_MS + 100, 'a quiet period since the last refusal', 10_000);
  const refusedBefore = refusals;
  const before = messageFrames;
  const second = Array.from({ length: 8 }, (_, i) => room.send(`second ${i}`));
  // All eight are on the wire at once (window 16), not one per round trip.
  assert.equal(messageFrames - before, 8);
  assert.deepEqual((await Promise.all(second)).map((m) => m.seq), Array.from({ length: 8 }, (_, i) => i + 17));
  assert.equal(refusals, refusedBefore, 'within the refilled budget, nothing refused');
});
