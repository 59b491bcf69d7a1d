import assert from 'node:assert/strict';
import { type IncomingMessage, request } from 'node:http';
import { after, afterEach, describe, test } from 'node:test';
import { api, createRoom, eventually, manualClock, owner, socketTracker, startTestServer, TestSocket, token, unique } from './helpers/harness.js';

/**
 * Per-caller limits against the real server: rate limits keyed by side and
 * id, flood strikes that only a burst adds up, the socket cap, and request
 * bodies that are not read before the caller is known.
 */

const { track, closeAll } = socketTracker();
afterEach(closeAll);

/** Rejects when `promise` takes longer than `ms`: a bound, not a synchronisation. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** An owner and an admin of the owner's workshop who share one opaque id. */
function twins() {
  const id = unique('same');
  const workshopId = unique('w');
  return {
    workshopId,
    owner: token({ sub: id, role: 'user', name: 'Ana' }),
    admin: token({ sub: id, role: 'workshop_admin', workshop_id: workshopId, name: 'Bo' }),
  };
}

/** Sends `count` pings and waits until each has its answer, a pong or an error. */
async function pings(socket: TestSocket, count: number): Promise<{ pongs: number; refused: number }> {
  const before = { pongs: socket.of('pong').length, refused: socket.of('error').length };
  for (let i = 0; i < count; i++) socket.send({ type: 'ping' });
  await socket.until(
    () => socket.of('pong').length + socket.of('error').length === before.pongs + before.refused + count,
    `answers to ${count} pings`,
  );
  return { pongs: socket.of('pong').length - before.pongs, refused: socket.of('error').length - before.refused };
}

describe('rate limits are per caller (side and id)', () => {
  test('REST: an owner and an admin with the same sub have separate budgets', async () => {
    const server = await startTestServer({ limits: { httpRateLimit: 3 } }, { clock: manualClock().clock });
    try {
      const { owner, admin } = twins();
      const statuses = async (auth: string) => {
        const out: number[] = [];
        for (let i = 0; i < 4; i++) out.push((await api(server.url, 'GET', '/api/notifications/unread/', auth)).status);
        return out;
      };
      assert.deepEqual(await statuses(owner), [200, 200, 200, 429]);
      assert.deepEqual(await statuses(admin), [200, 200, 200, 429]);
    } finally {
      await server.stop();
    }
  });

  test('WebSocket: an owner and an admin with the same sub have separate frame budgets', async () => {
    const server = await startTestServer(
      { limits: { wsRateLimit: 1000, wsUserRateLimit: 1, wsFloodStrikes: 1000 } },
      { clock: manualClock().clock },
    );
    try {
      const { owner, admin, workshopId } = twins();
      const room = await createRoom(server.url, owner, workshopId);
      const ownerSocket = track(TestSocket.chat(server, room.id, owner));
      const adminSocket = track(TestSocket.chat(server, room.id, admin));
      await Promise.all([ownerSocket.ready(), adminSocket.ready()]);
      // The per-user burst is twice the rate: 2 frames.
      assert.deepEqual(await pings(ownerSocket, 5), { pongs: 2, refused: 3 });
      assert.deepEqual(await pings(adminSocket, 5), { pongs: 2, refused: 3 });
    } finally {
      await closeAll();
      await server.stop();
    }
  });
});

describe('opening rooms has a budget per user', () => {
  test('over ROOMS_PER_HOUR an owner gets 429 rate_limited with Retry-After; other owners are unaffected; the budget refills', async () => {
    const time = manualClock();
    const server = await startTestServer({ limits: { roomsPerHour: 3, httpRateLimit: 0 } }, { clock: time.clock });
    try {
      const ana = token({ sub: unique('u'), role: 'user', name: 'Ana' });
      const open = (auth: string, workshop = unique('w')) =>
        api(server.url, 'POST', '/api/service-requests/', auth, { workshop_id: workshop, title: 'Brakes' });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await open(ana)).status);
      const over = await open(ana);
      statuses.push(over.status);
      assert.deepEqual(statuses, [201, 201, 201, 429]);
      assert.deepEqual(over.body, { error: { code: 'rate_limited', message: 'too many new service requests; try again later' } });
      // One room's worth of an hour: 3600 s / 3.
      assert.equal(over.headers.get('retry-after'), '1200');
      // Nothing was created by the refused call: the inbox holds the three.
      assert.equal((await api(server.url, 'GET', '/api/service-requests/', ana)).body.service_requests.length, 3);
      // Reads and other owners are not touched.
      assert.equal((await open(token({ sub: unique('u'), role: 'user' }))).status, 201);
      time.advance(1_199_000);
      assert.equal((await open(ana)).status, 429);
      time.advance(1000);
      assert.deepEqual([(await open(ana)).status, (await open(ana)).status], [201, 429]);
    } finally {
      await server.stop();
    }
  });

  test('the default is 60 an hour; 0 turns the budget off', async () => {
    const time = manualClock();
    const limited = await startTestServer({ limits: { httpRateLimit: 0 } }, { clock: time.clock });
    const unlimited = await startTestServer({ limits: { httpRateLimit: 0, roomsPerHour: 0 } }, { clock: time.clock });
    try {
      const ana = token({ sub: unique('u'), role: 'user' });
      const statuses = async (base: string, n: number) => {
        const out = new Map<number, number>();
        for (let i = 0; i < n; i++) {
          const { status } = await api(base, 'POST', '/api/service-requests/', ana, { workshop_id: unique('w'), title: 'Oil' });
          out.set(status, (out.get(status) ?? 0) + 1);
        }
        return Object.fromEntries(out);
      };
      assert.deepEqual(await statuses(limited.url, 61), { 201: 60, 429: 1 });
      assert.deepEqual(await statuses(unlimited.url, 61), { 201: 61 });
    } finally {
      await limited.stop();
      await unlimited.stop();
    }
  });
});

describe('flood strikes', () => {
  test('refusals spread over time never close a socket; a burst of them still does', async () => {
    const time = manualClock();
    const server = await startTestServer(
      { limits: { wsRateLimit: 1, wsUserRateLimit: 0, wsFloodStrikes: 3, wsFloodWindowMs: 10_000 } },
      { clock: time.clock },
    );
    try {
      const ana = token({ sub: unique('u'), role: 'user' });
      const notes = track(TestSocket.notifications(server, ana));
      await notes.ready();
      // An hour apart, each time one frame over the burst of 2: 12 refusals in all.
      for (let hour = 0; hour < 12; hour++) {
        assert.deepEqual(await pings(notes, 3), { pongs: 2, refused: 1 }, `hour ${hour}`);
        time.advance(3_600_000);
      }
      assert.equal(notes.ws.readyState, notes.ws.OPEN);

      for (let i = 0; i < 10; i++) notes.send({ type: 'ping' });
      assert.equal((await within(notes.closed, 5000, 'the close of a flooding socket')).code, 1008);
      // The burst: 2 pass, and the third refusal within the window closes it.
      assert.equal(notes.of('pong').length, 12 * 2 + 2);
      assert.equal(notes.of('error').length, 12 + 3);
    } finally {
      await server.stop();
    }
  });
});

describe('a refused message fences its socket', () => {
  test('messages behind a refused one are refused too, budget or not, until it is sent again: one writer is stored in the order written', async () => {
    const time = manualClock();
    const server = await startTestServer({ limits: { wsRateLimit: 1, wsUserRateLimit: 0, wsFloodStrikes: 1000 } }, { clock: time.clock });
    try {
      const ana = owner(unique('u'));
      const room = await createRoom(server.url, ana);
      const socket = track(TestSocket.chat(server, room.id, ana));
      await socket.ready();
      const answer = (clientId: string) => socket.next('message', (f) => f.message.client_id === clientId).then((f) => f.message.seq as number);
      const refusal = (clientId: string) => socket.next('error', (f) => f.client_id === clientId);
      const message = (clientId: string) => socket.send({ type: 'message', body: clientId, client_id: clientId });
      // The burst is twice the rate: c1 and c2 fit, c3 is over it.
      for (const id of ['c1', 'c2', 'c3']) message(id);
      assert.deepEqual([await answer('c1'), await answer('c2')], [1, 2]);
      assert.deepEqual(await refusal('c3'), { type: 'error', code: 'rate_limited', message: 'too many frames; slow down', client_id: 'c3' });

      // The budget is back, but c4 was written behind c3: storing it now would put it before c3.
      time.advance(5000);
      message('c4');
      assert.deepEqual(await refusal('c4'), {
        type: 'error',
        code: 'rate_limited',
        message: 'an earlier message was refused; send it again first',
        client_id: 'c4',
      });
      // Frames without a client_id are not messages a client re-sends: the fence lets them by.
      socket.send({ type: 'ping' });
      await socket.next('pong');
      time.advance(5000);
      message('c3');
      message('c4');
      assert.deepEqual([await answer('c3'), await answer('c4')], [3, 4]);
    } finally {
      await closeAll();
      await server.stop();
    }
  });
});

describe('sockets per caller', () => {
  test('the socket over the cap is closed with 4429; others are unaffected; a closed one frees its place', async () => {
    const server = await startTestServer({ limits: { wsMaxSocketsPerUser: 3 } });
    try {
      const { owner, admin, workshopId } = twins();
      const room = await createRoom(server.url, owner, workshopId);
      const open = [
        track(TestSocket.chat(server, room.id, owner)),
        track(TestSocket.chat(server, room.id, owner)),
        track(TestSocket.notifications(server, owner)),
      ];
      await Promise.all(open.map((s) => s.ready()));

      const over = track(TestSocket.notifications(server, owner));
      assert.deepEqual(await within(over.closed, 5000, 'the close of the fourth socket'), {
        code: 4429,
        reason: 'too many sockets for this user',
      });
      const overChat = track(TestSocket.chat(server, room.id, owner));
      assert.equal((await within(overChat.closed, 5000, 'the close of the fifth socket')).code, 4429);

      // The admin with the same id, and another user, each have their own count.
      const other = token({ sub: unique('u'), role: 'user' });
      const unaffected = [
        ...Array.from({ length: 3 }, () => track(TestSocket.chat(server, room.id, admin))),
        track(TestSocket.notifications(server, other)),
      ];
      await Promise.all(unaffected.map((s) => s.ready()));
      for (const s of open) assert.equal(s.ws.readyState, s.ws.OPEN);

      await open[0]!.close();
      // The server counts the close when its side of the socket has closed, a moment after the client's.
      const replacement = await eventually(async () => {
        const s = track(TestSocket.notifications(server, owner));
        const outcome = await Promise.race([s.ready().then(() => 'ready'), s.closed.then((c) => c.code)]);
        if (outcome !== 'ready') assert.equal(outcome, 4429);
        return outcome === 'ready' ? s : null;
      }, 'a socket accepted after one closed');
      assert.ok(replacement);
      assert.equal(replacement.of('unread').length, 1);
    } finally {
      await closeAll();
      await server.stop();
    }
  });
});

/** Starts a POST whose body never ends; resolves with the answer or rejects if the socket closes without one. */
function unfinishedPost(url: string, auth: string | null, sent: string, declared: number) {
  const started = performance.now();
  return new Promise<{ res: IncomingMessage; ms: number }>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(declared),
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ res, ms: performance.now() - started });
      req.destroy();
    });
    req.on('error', reject);
    req.write(sent);
  });
}

describe('request bodies', () => {
  const started = startTestServer({ limits: { requestTimeoutMs: 500 } });
  after(async () => (await started).stop());

  test('an unauthenticated POST gets its 401 before its body has arrived, and the connection ends', async () => {
    const server = await started;
    const { res } = await within(
      unfinishedPost(`${server.url}/api/service-requests/`, null, '{"title": "' + 'x'.repeat(1000), 64 * 1024),
      2000,
      'the 401 of a body that never ends',
    );
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers.connection, 'close');
  });

  test('a slow authenticated body is cut with 408 at the request timeout', async () => {
    const server = await started;
    const ana = token({ sub: unique('u'), role: 'user' });
    const { res, ms } = await within(
      unfinishedPost(`${server.url}/api/service-requests/`, ana, '{"workshop_id": "w-1", ', 100),
      3000,
      'the cut of a slow body',
    );
    assert.equal(res.statusCode, 408);
    // The timeout (500 ms) is checked every 125 ms: the cut comes no sooner and not much later.
    assert.ok(ms >= 450 && ms < 1500, `cut after ${Math.round(ms)} ms`);
  });

  test('an authenticated body that arrives in time is read as before', async () => {
    const server = await started;
    const ana = token({ sub: unique('u'), role: 'user' });
    const created = await api(server.url, 'POST', '/api/service-requests/', ana, { workshop_id: 'w-1', title: 'Chain' });
    assert.deepEqual([created.status, created.body.title], [201, 'Chain']);
  });
});

describe('MAX_BODY_CHARS at its highest', () => {
  test('a body of 16,000 control characters, 96,000 bytes as JSON, goes through as a frame and over REST', async () => {
    const server = await startTestServer({ limits: { maxBodyChars: 16_000 } });
    try {
      const ana = owner(unique('u'));
      const room = await createRoom(server.url, ana);
      const body = `${'\u0001'.repeat(15_998)}ok`;
      assert.equal(JSON.stringify({ type: 'message', body }).length > 96_000, true);
      const socket = track(TestSocket.chat(server, room.id, ana));
      await socket.ready();
      socket.send({ type: 'message', body, client_id: 'long-ws', data: { note: 'x'.repeat(4000) } });
      const echoed = await socket.next('message', (f) => f.message.client_id === 'long-ws');
      assert.deepEqual([echoed.message.seq, echoed.message.body.length], [1, 16_000]);
      const posted = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body, client_id: 'long-rest' });
      assert.deepEqual([posted.status, posted.body.message.seq], [201, 2]);
    } finally {
      await server.stop();
    }
  });
});
