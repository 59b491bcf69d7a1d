import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import WS from 'ws';
import { ChatError, type ConnectionStatus, type Room, type RoomEvents } from '../../src/index.js';
import type { Message } from '../../src/wire.js';
import { ADMIN, client, mintToken, OWNER, storedMessages, STRANGER, TcpProxy, waitFor, serverForFile } from '../helpers.js';

const { server, clients } = serverForFile({ env: { WS_RATE_LIMIT: '0', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });
const proxies: TcpProxy[] = [];
const open = (baseUrl: string, token: string | (() => string | Promise<string>), extra = {}) => {
  const c = client(baseUrl, token, extra);
  clients.push(c);
  return c;
};
const proxy = async () => {
  const p = await new TcpProxy(server.port).listen();
  proxies.push(p);
  return p;
};

after(async () => {
  for (const p of proxies) await p.close();
});

async function newRoom(): Promise<string> {
  return (await open(server.url, mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title: 'Clutch' })).id;
}

const storedOnServer = (id: string): Promise<Message[]> => storedMessages(server.url, id);

function statuses(room: Room): ConnectionStatus[] {
  const seen: ConnectionStatus[] = [];
  room.on('status', (e) => seen.push(e.status));
  return seen;
}

test('socket cut between a send and its ack: the REST fallback repeats the client_id, one message is stored', async () => {
  const id = await newRoom();
  const p = await proxy();
  const ana = open(p.url, mintToken(OWNER), { ackTimeoutMs: 60_000 }).room(id);
  const bo = open(server.url, mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);

  p.holdReplies();
  const sending = ana.send('Is it ready?');
  const clientId = ana.messages.at(-1)!.client_id!;
  // The server has stored and broadcast it; only the ack to Ana is lost on the wire.
  await waitFor(() => bo.messages.length === 1, 'bo got the message');
  assert.equal(ana.messages.at(-1)!.state, 'pending');
  p.cut();

  const stored = await sending;
  assert.equal(stored.client_id, clientId);
  assert.equal(stored.seq, 1);
  assert.ok(p.upstreamText.includes(`POST /api/service-requests/${id}/messages/`), 'went through the REST fallback');
  assert.ok(p.upstreamText.includes(`"client_id":"${clientId}"`), 'the fallback carried the same client_id');
  const onServer = await storedOnServer(id);
  assert.deepEqual(onServer.map((m) => [m.seq, m.client_id]), [[1, clientId]]);
  await waitFor(() => ana.status === 'open', 'ana reconnected');
  assert.deepEqual(ana.messages.map((m) => [m.seq, m.state]), [[1, 'sent']]);
  assert.deepEqual(bo.messages.map((m) => m.seq), [1]);
});

test('no ack within ackTimeoutMs: the socket is given up, REST stores it once, the room reconnects', async () => {
  const id = await newRoom();
  const p = await proxy();
  const ana = open(p.url, mintToken(OWNER), { ackTimeoutMs: 300 }).room(id);
  await ana.connect();
  const seen = statuses(ana);
  // The socket goes silent, not the REST path: which idle keep-alive connection fetch picks for the
  // fallback (and for the next ticket) is its own choice, and one held there would stall a request
  // this test is not about until fetch gives the connection up.
  p.holdReplies({ socketsOnly: true });
  const stored = await ana.send('anyone?');
  assert.equal(stored.seq, 1);
  assert.deepEqual((await storedOnServer(id)).map((m) => m.client_id), [stored.client_id]);
  await waitFor(() => ana.status === 'open', 'reopened');
  assert.deepEqual(seen, ['reconnecting', 'open']);
});

test('a half-open socket is noticed by the application ping within two intervals', async () => {
  const id = await newRoom();
  const p = await proxy();
  const ana = open(p.url, mintToken(OWNER), { pingIntervalMs: 300 }).room(id);
  await ana.connect();
  const seen = statuses(ana);
  const held = Date.now();
  p.holdReplies();
  await waitFor(() => seen.includes('reconnecting'), 'the dead socket is noticed', 2000);
  const noticedAfter = Date.now() - held;
  // Between one and two intervals, depending on where the ping cycle was; some slack for timers.
  assert.ok(noticedAfter >= 250 && noticedAfter <= 750, `noticed after ${noticedAfter} ms`);
  await waitFor(() => ana.status === 'open', 'back open');
});

test('an expired token is renewed through the provider, once for all sockets of the client', async () => {
  const id = await newRoom();
  const id2 = await newRoom();
  let calls = 0;
  const c = open(server.url, async () => (++calls === 1 ? mintToken(OWNER, -60) : mintToken(OWNER)));
  const notes = c.notifications();
  await Promise.all([c.room(id).connect(), c.room(id2).connect()]);
  await waitFor(() => notes.status === 'open', 'notifications open');
  assert.equal(calls, 2);
  // REST with a refused token also renews once and retries.
  const rest = open(server.url, async () => (++calls === 3 ? mintToken(OWNER, -60) : mintToken(OWNER)));
  assert.equal((await rest.getRoom(id)).id, id);
  assert.equal(calls, 4);
});

test('a token still refused after a refresh stops with unauthorized instead of retrying', async () => {
  const id = await newRoom();
  let calls = 0;
  const room = open(server.url, () => (calls++, mintToken(OWNER, -60))).room(id);
  // Refused where the socket's ticket is asked for (401), before any socket.
  await assert.rejects(room.connect(), (e: unknown) => e instanceof ChatError && e.code === 'unauthorized' && e.status === 401);
  assert.equal(calls, 2);
  assert.equal(room.status, 'closed');
});

test('a token provider that fails is transient: the room says why while it retries, and opens once the provider recovers', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const failure = new Error('identity server unreachable');
  let calls = 0;
  const room = open(server.url, async () => {
    if (++calls <= 2) throw failure;
    return mintToken(OWNER);
  }).room(id);
  const seen: RoomEvents['status'][] = [];
  room.on('status', (e) => seen.push(e));
  await room.connect();
  assert.equal(calls, 3);
  assert.deepEqual(
    seen.map((e) => [e.status, e.reason?.code]),
    [['connecting', undefined], ['connecting', 'network'], ['open', undefined]],
  );
  assert.equal(seen[1]!.reason!.cause, failure);
  assert.equal(seen[1]!.reason!.message, 'The token provider failed: identity server unreachable');
  assert.equal(room.statusReason, undefined);
});

test('a token refresh after a refusal that fails is retried with backoff; the next token opens the room', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const tokens = [() => mintToken(OWNER, -60), () => Promise.reject(new Error('offline')), () => mintToken(OWNER)];
  let calls = 0;
  const room = open(server.url, async () => tokens[calls++]!()).room(id);
  const seen: RoomEvents['status'][] = [];
  room.on('status', (e) => seen.push(e));
  await room.connect();
  assert.equal(calls, 3);
  assert.deepEqual(
    seen.map((e) => [e.status, e.reason?.code, e.reason?.status]),
    [['connecting', undefined, undefined], ['connecting', 'unauthorized', 401], ['connecting', 'network', undefined], ['open', undefined, undefined]],
  );
});

test('over REST, a failing token provider keeps the message pending; it is stored once the provider recovers', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  let broken = true;
  let calls = 0;
  const room = open(server.url, async () => {
    calls++;
    if (broken) throw new Error('offline');
    return mintToken(OWNER);
  }).room(id);
  const failed: unknown[] = [];
  const sending = room.send('written while the provider is down').catch((e) => (failed.push(e), null));
  await waitFor(() => calls >= 3, 'the provider is asked again with backoff');
  assert.deepEqual(room.messages.map((m) => m.state), ['pending']);
  assert.equal(room.outboxSize, 1);
  broken = false;
  const stored = await sending;
  assert.deepEqual(failed, []);
  assert.equal(stored!.seq, 1);
  assert.deepEqual((await storedOnServer(id)).map((m) => [m.seq, m.body]), [[1, 'written while the provider is down']]);
  assert.equal(room.status, 'idle', 'all of it over REST');
});

test('4403 (not a participant) and 4404 (no such room) stop with a clear typed error', async () => {
  const id = await newRoom();
  let sockets = 0;
  const Counting = class extends WS {
    constructor(url: string) {
      super(url);
      sockets++;
    }
  };
  const eve = open(server.url, mintToken(STRANGER), { WebSocket: Counting });
  const room = eve.room(id);
  const errors: ChatError[] = [];
  room.on('error', (e) => errors.push(e));
  const seen = statuses(room);
  await assert.rejects(room.connect(), { name: 'ChatError', code: 'forbidden', closeCode: 4403, message: 'Connection closed (4403)' });
  assert.deepEqual(errors.map((e) => e.code), ['forbidden']);
  assert.deepEqual(seen, ['connecting', 'closed']);
  assert.equal(sockets, 1);
  await assert.rejects(eve.room('r_missing').connect(), { code: 'not_found', closeCode: 4404 });
  assert.equal(sockets, 2);
});

test('messages written while offline wait in the outbox and go out in order when the server is back', async () => {
  const id = await newRoom();
  const p = await proxy();
  const port = p.port;
  const ana = open(p.url, mintToken(OWNER)).room(id);
  await ana.connect();
  await p.close();
  proxies.splice(proxies.indexOf(p), 1);
  await waitFor(() => ana.status === 'reconnecting', 'ana notices');
  const sends = ['first', 'second', 'third'].map((t) => ana.send(t));
  assert.equal(ana.outboxSize, 3);
  assert.deepEqual(ana.messages.map((m) => m.state), ['pending', 'pending', 'pending']);
  proxies.push(await new TcpProxy(server.port).listen(port));
  const stored = await Promise.all(sends);
  assert.deepEqual(stored.map((m) => [m.seq, m.body]), [[1, 'first'], [2, 'second'], [3, 'third']]);
  assert.equal(ana.outboxSize, 0);
});

test('1,000 messages in a burst: all stored once, in order, on both sides', async () => {
  const id = await newRoom();
  const ana = open(server.url, mintToken(OWNER)).room(id);
  const bo = open(server.url, mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  const started = Date.now();
  const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => ana.send(`burst ${i}`)));
  const took = Date.now() - started;
  assert.deepEqual(all.map((m) => m.seq), Array.from({ length: 1000 }, (_, i) => i + 1));
  await waitFor(() => bo.messages.length === 1000, 'bo has all 1000');
  for (const room of [ana, bo]) {
    assert.deepEqual(room.messages.map((m) => m.body), Array.from({ length: 1000 }, (_, i) => `burst ${i}`));
  }
  assert.equal(ana.outboxSize, 0);
  assert.ok(took < 20_000, `took ${took} ms`);
});

test('resume: what was sent while a side was away is fetched over REST after reconnect, without gaps or duplicates', async () => {
  const id = await newRoom();
  const p = await proxy();
  const port = p.port;
  const ana = open(server.url, mintToken(OWNER)).room(id);
  const bo = open(p.url, mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  await ana.send('before');
  await waitFor(() => bo.messages.length === 1, 'bo has the first');
  const resyncs: unknown[] = [];
  const live: number[] = [];
  bo.on('resync', (e) => resyncs.push(e));
  bo.on('message', (e) => live.push(e.message.seq!));

  await p.close();
  proxies.splice(proxies.indexOf(p), 1);
  await waitFor(() => bo.status === 'reconnecting', 'bo is away');
  for (let i = 0; i < 130; i++) await ana.send(`while away ${i}`);
  proxies.push(await new TcpProxy(server.port).listen(port));

  await waitFor(() => bo.messages.length === 131, 'bo caught up', 15_000);
  assert.deepEqual(resyncs, [{ after: 1, fetched: 130 }]);
  assert.deepEqual(bo.messages.map((m) => m.seq), Array.from({ length: 131 }, (_, i) => i + 1));
  assert.deepEqual(live, Array.from({ length: 130 }, (_, i) => i + 2));
  await ana.send('after');
  await waitFor(() => bo.messages.length === 132, 'live again');
  assert.equal(bo.messages.at(-1)!.body, 'after');
});

/**
 * The browser around the SDK, which Node lacks: window events, the document's visibility and
 * navigator.onLine. Backoff jitter is pinned to its maximum, so only these events can make the
 * SDK reconnect early.
 */
function fakeBrowser() {
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const nav = { onLine: true };
  const fakes: Record<string, unknown> = {
    addEventListener: win.addEventListener.bind(win),
    removeEventListener: win.removeEventListener.bind(win),
    document: doc,
    // Node 21+ has a navigator of its own (a getter, without onLine): replaced, then put back.
    navigator: nav,
  };
  const own = Object.fromEntries(Object.keys(fakes).map((key) => [key, Object.getOwnPropertyDescriptor(globalThis, key)]));
  for (const [key, value] of Object.entries(fakes)) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  const random = Math.random;
  Math.random = () => 0.999;
  const restore = () => {
    Math.random = random;
    for (const [key, descriptor] of Object.entries(own)) {
      if (descriptor) Object.defineProperty(globalThis, key, descriptor);
      else delete (globalThis as Record<string, unknown>)[key];
    }
  };
  return { win, doc, nav, restore };
}

test('the online event, and a page becoming visible, reconnect at once instead of waiting out the backoff', async () => {
  const id = await newRoom();
  const p = await proxy();
  const port = p.port;
  const { win, doc, restore } = fakeBrowser();
  try {
    const ana = open(p.url, mintToken(OWNER), { reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } }).room(id);
    await ana.connect();
    await p.close();
    proxies.splice(proxies.indexOf(p), 1);
    await waitFor(() => ana.status === 'reconnecting', 'dropped');
    proxies.push(await new TcpProxy(server.port).listen(port));
    const t0 = Date.now();
    win.dispatchEvent(new Event('online'));
    await waitFor(() => ana.status === 'open', 'open again right after online', 3000);
    assert.ok(Date.now() - t0 < 3000);

    // The same when a hidden page becomes visible again.
    const back = proxies.at(-1)!;
    await back.close();
    proxies.splice(proxies.indexOf(back), 1);
    await waitFor(() => ana.status === 'reconnecting', 'dropped again');
    proxies.push(await new TcpProxy(server.port).listen(port));
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    assert.equal(ana.status, 'reconnecting', 'becoming hidden does not reconnect');
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    await waitFor(() => ana.status === 'open', 'open again right after visible', 3000);
  } finally {
    restore();
  }
});

test('a device that is offline shows offline, not reconnecting, and the online event brings it back at once', async () => {
  const id = await newRoom();
  const p = await proxy();
  const port = p.port;
  const { win, nav, restore } = fakeBrowser();
  try {
    const ana = open(p.url, mintToken(OWNER), { reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } }).room(id);
    const statuses: string[] = [];
    ana.on('status', ({ status }) => statuses.push(status));
    await ana.connect();
    nav.onLine = false;
    await p.close();
    proxies.splice(proxies.indexOf(p), 1);
    await waitFor(() => ana.status === 'offline', 'offline');
    proxies.push(await new TcpProxy(server.port).listen(port));
    nav.onLine = true;
    win.dispatchEvent(new Event('online'));
    await waitFor(() => ana.status === 'open', 'open again right after online', 3000);
    // Straight to offline: no `reconnecting` flicker first.
    assert.deepEqual(statuses, ['connecting', 'open', 'offline', 'open']);
  } finally {
    restore();
  }
});

test('the offline event shows offline at once, without waiting for pings to time out, and online reconnects at once', async () => {
  const id = await newRoom();
  const { win, nav, restore } = fakeBrowser();
  try {
    const ana = open(server.url, mintToken(OWNER), { reconnect: { minDelayMs: 60_000, maxDelayMs: 60_000 } }).room(id);
    const statuses: string[] = [];
    ana.on('status', ({ status }) => statuses.push(status));
    await ana.connect();
    // The browser sets onLine before it fires `offline`; the socket itself may look open for many seconds.
    nav.onLine = false;
    win.dispatchEvent(new Event('offline'));
    assert.equal(ana.status, 'offline');
    assert.equal(ana.statusReason?.code, 'network');
    nav.onLine = true;
    win.dispatchEvent(new Event('online'));
    await waitFor(() => ana.status === 'open', 'open again right after online', 3000);
    assert.deepEqual(statuses, ['connecting', 'open', 'offline', 'open']);
    await ana.send('after the network came back');
  } finally {
    restore();
  }
});

test('no listener or timer leaks across reconnects, and none left after close()', async () => {
  const id = await newRoom();
  const p = await proxy();
  const listeners = new Set<unknown>();
  const g = globalThis as unknown as Record<string, unknown>;
  g.addEventListener = (_type: string, fn: unknown) => listeners.add(fn);
  g.removeEventListener = (_type: string, fn: unknown) => listeners.delete(fn);
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  try {
    const baseline = timers();
    const c = open(p.url, mintToken(OWNER));
    const room = c.room(id);
    const notes = c.notifications();
    await room.connect();
    await waitFor(() => notes.status === 'open', 'notifications open');
    assert.equal(listeners.size, 2);
    const afterConnect = timers();
    assert.ok(afterConnect - baseline <= 2, `one timer per socket, got ${afterConnect - baseline}`);

    let opens = 0;
    room.on('status', (e) => e.status === 'open' && opens++);
    notes.on('status', (e) => e.status === 'open' && opens++);
    for (let round = 0; round < 5; round++) {
      p.cut();
      await waitFor(() => opens === 2 * (round + 1), `round ${round}: both sockets reopened`);
      await room.send(`round ${round}`);
      assert.equal(listeners.size, 2);
      assert.ok(timers() - baseline <= 2, `round ${round}: ${timers() - baseline} timers`);
    }
    c.close();
    assert.deepEqual([room.status, notes.status], ['closed', 'closed']);
    assert.equal(listeners.size, 0);
    await waitFor(() => timers() <= baseline, 'every timer of the client is gone');
  } finally {
    delete g.addEventListener;
    delete g.removeEventListener;
  }
});

// fetch as a proxy in front of the server might answer: the next history requests fail with these statuses.
function flakyFetch(match: RegExp) {
  const failures: number[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const status = match.test(String(input)) ? failures.shift() : undefined;
    if (status) return new Response(JSON.stringify({ error: { code: 'proxy', message: `HTTP ${status} from a proxy` } }), { status });
    return fetch(input, init);
  };
  return { failures, fetchFn };
}

// Written by the room's user straight to the server (not through any proxy), one after the other.
let written = 0;
async function writeMany(id: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++, written++) {
    const res = await fetch(`${server.url}/api/service-requests/${id}/messages/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${mintToken(OWNER)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ body: `while away ${i}`, client_id: `c_away_${written}` }),
    });
    assert.equal(res.status, 201);
  }
}

// Bo (through a proxy, with `fetchFn`) is connected to a room with one message, then the proxy goes
// away while `missed` more are written: ready carries at most 100 of them, the rest is fetched.
async function awayFrom(fetchFn: typeof fetch, missed: number) {
  const id = await newRoom();
  await writeMany(id, 1);
  const p = await proxy();
  const port = p.port;
  const bo = open(p.url, mintToken(ADMIN), { fetch: fetchFn }).room(id);
  await bo.connect();
  await p.close();
  proxies.splice(proxies.indexOf(p), 1);
  await waitFor(() => bo.status === 'reconnecting', 'bo is away');
  await writeMany(id, missed);
  return { bo, back: async () => void proxies.push(await new TcpProxy(server.port).listen(port)) };
}

test('a gap fetch that fails after a reconnect (502, 429, 503) is retried on the same socket until the gap is filled', { timeout: 20_000 }, async () => {
  const { failures, fetchFn } = flakyFetch(/\/messages\/\?after=/);
  const { bo, back } = await awayFrom(fetchFn, 103);
  failures.push(502, 429, 503);
  const resyncs: unknown[] = [];
  const errors: unknown[] = [];
  bo.on('resync', (e) => resyncs.push(e));
  bo.on('error', (e) => errors.push([e.code, e.status]));
  await back();
  await waitFor(() => bo.messages.length === 104, 'the gap is filled');
  assert.deepEqual(failures, []);
  assert.deepEqual(errors, [['server', 502], ['rate_limited', 429], ['unavailable', 503]]);
  assert.deepEqual(resyncs, [{ after: 1, fetched: 103 }]);
  assert.deepEqual(bo.messages.map((m) => m.seq), Array.from({ length: 104 }, (_, i) => i + 1));
  assert.equal(bo.status, 'open');
});

test('a gap fetch refused for good (403) stops the room with that reason', { timeout: 20_000 }, async () => {
  const { failures, fetchFn } = flakyFetch(/\/messages\/\?after=/);
  const { bo, back } = await awayFrom(fetchFn, 101);
  failures.push(403);
  await back();
  await waitFor(() => bo.status === 'closed', 'the room stopped');
  assert.equal(bo.statusReason?.code, 'forbidden');
  assert.equal(bo.messages.length, 101, 'what ready carried is kept');
});
