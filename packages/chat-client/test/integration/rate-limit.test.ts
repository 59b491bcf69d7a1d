import assert from 'node:assert/strict';
import { test } from 'node:test';
import WS from 'ws';
import { client, mintToken, OWNER, serverForFile, storedMessages, waitFor } from '../helpers.js';

// A low per-socket frame budget (5 a second, bursts of 10), so that a burst of sends is refused.
const { server, clients } = serverForFile({ env: { WS_RATE_LIMIT: '5', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });

// The SDK's pause after a refusal, and its quiet period before the full window (room.ts RATE_PAUSE_MS, QUIET_MS).
const RATE_PAUSE_MS = 1000;
const QUIET_MS = 2000;
/** The server's budget below refills from empty to its burst of 10 in 2 s. */
const BUCKET_REFILL_MS = 2000;

test('after rate-limit refusals one frame is in flight; after a quiet period a burst goes out with the full window again', { timeout: 20_000 }, async () => {
  let messageFrames = 0;
  let lastFrame = 0;
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
      if ((JSON.parse(data) as { type: string }).type === 'message') {
        messageFrames++;
        lastFrame = Date.now();
      }
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

  // The SDK's quiet period since the last refusal, and the server's bucket full again: the sends
  // after the last refusal took tokens too (a full bucket is 10 at 5 a second, 2 s after the last frame).
  await waitFor(
    () => Date.now() - lastRefusal > QUIET_MS + 100 && Date.now() - lastFrame > BUCKET_REFILL_MS + 100,
    'a quiet period since the last refusal, and a full bucket',
    10_000,
  );
  const refusedBefore = refusals;
  const before = messageFrames;
  const second = Array.from({ length: 8 }, (_, i) => room.send(`second ${i}`));
  // All eight are on the wire at once (window 16), not one per round trip.
  assert.equal(messageFrames - before, 8);
  assert.deepEqual((await Promise.all(second)).map((m) => m.seq), Array.from({ length: 8 }, (_, i) => i + 17));
  assert.equal(refusals, refusedBefore, 'within the refilled budget, nothing refused');
});

// The server's per-socket budget of this file: 5 frames a second, so a token every 200 ms.
const TOKEN_MS = 200;

/**
 * A slow uplink, as on a poor mobile link: the SDK writes its window of frames at once, but they
 * reach the server one at a time, each once the one before it is answered, and after a refusal
 * only when the server's budget holds a frame again (a link this slow is one nobody can keep
 * refusals off), or when `afterRefusal` says. `behindRefused` counts message frames delivered to
 * the server while an earlier refused message had not been sent again: where order is at stake.
 */
function slowUplink(afterRefusal: () => Promise<void> = () => new Promise((r) => setTimeout(r, TOKEN_MS * 1.5))) {
  const log = { behindRefused: 0, refusals: 0 };
  class SlowUplink extends WS {
    #queue: string[] = [];
    #onWire: string | null = null;
    #refused = new Set<string>();
    constructor(url: string) {
      super(url);
      this.addEventListener('message', (e) => {
        const f = JSON.parse(String(e.data)) as { type: string; client_id?: string; message?: { client_id: string } };
        const id = f.type === 'message' ? f.message!.client_id : f.type === 'error' ? f.client_id : undefined;
        if (id === undefined || id !== this.#onWire) return;
        this.#onWire = null;
        if (f.type !== 'error') return this.#next();
        log.refusals++;
        this.#refused.add(id);
        void afterRefusal().then(() => this.#next());
      });
    }
    override send(data: string): void {
      if ((JSON.parse(data) as { type: string }).type !== 'message') return super.send(data);
      this.#queue.push(data);
      if (this.#onWire === null) this.#next();
    }
    #next(): void {
      const data = this.#queue.shift();
      if (data === undefined || this.readyState !== WS.OPEN) return;
      const id = (JSON.parse(data) as { client_id: string }).client_id;
      this.#refused.delete(id);
      if (this.#refused.size) log.behindRefused++;
      this.#onWire = id;
      super.send(data);
    }
  }
  return { log, SlowUplink };
}

test('refusals over the frame rate limit, with later messages already on their way: every message stored once, in the order written', { timeout: 30_000 }, async () => {
  const { log, SlowUplink } = slowUplink();
  const c = client(server.url, mintToken(OWNER), { WebSocket: SlowUplink as unknown as typeof WS, ackTimeoutMs: 20_000 });
  clients.push(c);
  const id = (await c.createRoom({ workshop_id: 'w-1', title: 'Clutch' })).id;
  const room = c.room(id);
  await room.connect();

  const bodies = Array.from({ length: 24 }, (_, i) => `m${i}`);
  const sent = await Promise.all(bodies.map((b) => room.send(b)));
  assert.ok(log.refusals > 0, 'the burst was refused at least once');
  assert.ok(log.behindRefused > 0, 'a message reached the server behind a refused one');

  assert.deepEqual(
    sent.map((m) => [m.seq, m.body]),
    bodies.map((b, i) => [i + 1, b]),
  );
  const stored = await storedMessages(server.url, id);
  assert.deepEqual(
    stored.map((m) => [m.seq, m.body]),
    bodies.map((b, i) => [i + 1, b]),
  );
  assert.deepEqual(room.messages.map((m) => [m.seq, m.body, m.state]), bodies.map((b, i) => [i + 1, b, 'sent']));
  assert.equal(room.status, 'open');
});

test('a message behind a refused one stalls on the uplink past the quiet period, and the writer sends another: still stored in the order written', { timeout: 30_000 }, async () => {
  let refusedAt = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const { log, SlowUplink } = slowUplink(() => ((refusedAt ||= Date.now()), released));
  const c = client(server.url, mintToken(OWNER), { WebSocket: SlowUplink as unknown as typeof WS, ackTimeoutMs: 20_000 });
  clients.push(c);
  const id = (await c.createRoom({ workshop_id: 'w-1', title: 'Gearbox' })).id;
  const room = c.room(id);
  await room.connect();

  const bodies = Array.from({ length: 14 }, (_, i) => `m${i}`);
  const sending = bodies.map((b) => room.send(b));
  // The uplink holds what follows the first refusal; the room's pause after it, and the quiet
  // period after which it would use its full window again, pass meanwhile.
  await waitFor(() => refusedAt > 0, 'a refusal');
  await waitFor(() => Date.now() - refusedAt > RATE_PAUSE_MS + QUIET_MS + 200, 'the pause and the quiet period', 10_000);
  sending.push(room.send('late'));
  bodies.push('late');
  release();
  const sent = await Promise.all(sending);
  assert.ok(log.behindRefused > 0, 'a message reached the server behind a refused one');

  const expected = bodies.map((b, i) => [i + 1, b]);
  assert.deepEqual(sent.map((m) => [m.seq, m.body]), expected);
  assert.deepEqual((await storedMessages(server.url, id)).map((m) => [m.seq, m.body]), expected);
});
