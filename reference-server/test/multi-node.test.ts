/**
 * Several reference servers, one conversation: fan-out over a real
 * redis-server between servers that share one store.
 *
 * In the MongoDB pass the servers are separate processes on one database (the
 * production shape), and one of them can be killed -9. In the SQLite pass two
 * servers in this process share one open store: two processes cannot share a
 * SQLite file (DATA_DIR's lock refuses the second, see docs/reference-server.md).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ChatClient, type Room } from '@motoreach/chat-client';
import { Redis } from 'ioredis';
import WS from 'ws';
import type { FanoutEvent } from '../src/fanout/fanout.js';
import { LocalFanout } from '../src/fanout/local.js';
import type { ChatStore } from '../src/store/store.js';
import { Balancer } from './helpers/balancer.js';
import {
  admin,
  api,
  createRoom,
  eventually,
  owner,
  SECRET,
  spawnServer,
  startTestServer,
  tempDir,
  TestSocket,
  token,
  unique,
} from './helpers/harness.js';
import { freePort, redisMissing, RedisServer } from './helpers/redis-server.js';
import { dropTestDatabase, openTestStore, storeArgs, testStoreKind, unclosable } from './helpers/test-store.js';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const inProcesses = testStoreKind === 'mongodb';
const UNLIMITED = { wsRateLimit: 0, wsUserRateLimit: 0, httpRateLimit: 0 };

interface Node {
  url: string;
  wsUrl: string;
  port: number;
  /** SIGKILL: nothing drained, nothing closed cleanly. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** `count` servers on one store and one Redis; `stop` stops them all and removes the store. */
async function startNodes(redisUrl: string, count = 2): Promise<{ nodes: Node[]; stop: () => Promise<void> }> {
  const dataDir = tempDir();
  const nodes: Node[] = [];
  let shared: ChatStore | undefined;
  if (inProcesses) {
    for (let i = 0; i < count; i++) {
      const child = await spawnServer([
        ...storeArgs(dataDir),
        ...['--port', '0', '--host', '127.0.0.1', '--jwt-secret', SECRET, '--redis-url', redisUrl],
        ...['--ws-rate-limit', '0', '--ws-user-rate-limit', '0', '--http-rate-limit', '0'],
      ]);
      const stopWith = async (signal: NodeJS.Signals) => {
        if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill(signal);
        await child.exited;
      };
      nodes.push({ url: child.url, wsUrl: child.wsUrl, port: child.port, kill: () => stopWith('SIGKILL'), stop: () => stopWith('SIGTERM') });
    }
  } else {
    shared = await openTestStore(dataDir);
    for (let i = 0; i < count; i++) {
      const server = await startTestServer({ redisUrl, limits: UNLIMITED }, { store: unclosable(shared) });
      nodes.push({
        url: server.url,
        wsUrl: server.wsUrl,
        port: server.port,
        kill: () => Promise.reject(new Error('kill -9 needs server processes (the MongoDB pass)')),
        stop: () => server.stop(),
      });
    }
  }
  return {
    nodes,
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
      await shared?.close();
      await dropTestDatabase(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function sdk(baseUrl: string, token: string): ChatClient {
  return new ChatClient({ baseUrl, token, WebSocket: WS, reconnect: { minDelayMs: 50, maxDelayMs: 500 } });
}

/** Every message of a room as the store holds it, page by page. */
async function stored(baseUrl: string, roomId: string, token: string): Promise<Array<{ id: string; seq: number; client_id: string | null; body: string }>> {
  const all: Array<{ id: string; seq: number; client_id: string | null; body: string }> = [];
  for (let more = true; more; ) {
    const page = await api(baseUrl, 'GET', `/api/service-requests/${roomId}/messages/?after=${all.at(-1)?.seq ?? 0}&limit=100`, token);
    assert.equal(page.status, 200);
    all.push(...page.body.messages);
    more = page.body.has_more;
  }
  return all;
}

/** What an SDK room shows, as the store's rows would be: every message sent, by seq, once. */
function view(room: Room) {
  return room.messages.map((m) => ({ id: m.id, seq: m.seq, state: m.state }));
}

const seqsOf = (socket: TestSocket) => socket.of('message').map((f) => f.message.seq as number);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('several servers behind Redis', { skip: redisMissing }, () => {
  let redis: RedisServer;
  let cluster: Awaited<ReturnType<typeof startNodes>>;
  let a: Node;
  let b: Node;
  const sockets: TestSocket[] = [];
  const open = (socket: TestSocket) => (sockets.push(socket), socket);

  before(async () => {
    redis = await RedisServer.start();
    cluster = await startNodes(redis.url);
    [a, b] = cluster.nodes as [Node, Node];
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await cluster?.stop();
    await redis?.stop();
  });

  test('chat, read receipts, notifications and unread snapshots cross between servers both ways', async () => {
    const workshop = unique('w');
    const ownerToken = owner(unique('u'));
    const adminToken = admin(unique('a'), workshop);
    const room = await createRoom(a.url, ownerToken, workshop);
    const ownerChat = open(TestSocket.chat(a, room.id, ownerToken));
    const ownerNotes = open(TestSocket.notifications(a, ownerToken));
    const adminChat = open(TestSocket.chat(b, room.id, adminToken));
    const adminNotes = open(TestSocket.notifications(b, adminToken));
    await Promise.all([ownerChat, ownerNotes, adminChat, adminNotes].map((s) => s.ready()));

    ownerChat.send({ type: 'message', body: 'Brakes squeak', client_id: 'c-1' });
    const first = (await adminChat.next('message')).message;
    assert.deepEqual([first.seq, first.body, first.client_id, first.sender.role], [1, 'Brakes squeak', 'c-1', 'user']);
    const toWorkshop = await adminNotes.next('notification');
    assert.deepEqual([toWorkshop.request_id, toWorkshop.message.seq, toWorkshop.unread], [room.id, 1, { count: 1, total: 1 }]);

    const reply = await api(b.url, 'POST', `/api/service-requests/${room.id}/messages/`, adminToken, { body: 'Bring it Monday', client_id: 'c-2' });
    assert.equal(reply.status, 201);
    assert.equal((await ownerChat.next('message', (f) => f.message.seq === 2)).message.body, 'Bring it Monday');
    const toOwner = await ownerNotes.next('notification');
    assert.deepEqual([toOwner.message.seq, toOwner.unread], [2, { count: 1, total: 1 }]);

    adminChat.send({ type: 'read' });
    const receipt = await ownerChat.next('read');
    assert.deepEqual([receipt.side, receipt.last_read_seq, receipt.read_cursors], ['workshop', 2, { user: 0, workshop: 2 }]);
    const adminBadge = await adminNotes.until((frames) => frames.filter((f) => f.type === 'unread')[1], 'the snapshot after the read');
    assert.deepEqual([adminBadge.total, adminBadge.rooms], [0, {}]);

    const ownerRead = await api(a.url, 'POST', `/api/service-requests/${room.id}/messages/read/`, ownerToken, {});
    assert.deepEqual(ownerRead.body, { read_cursors: { user: 2, workshop: 2 }, unread: 0 });
    const back = await adminChat.next('read', (f) => f.side === 'user');
    assert.deepEqual([back.last_read_seq, back.read_cursors], [2, { user: 2, workshop: 2 }]);
    const ownerBadge = await ownerNotes.until((frames) => frames.filter((f) => f.type === 'unread')[1], 'the snapshot after the read');
    assert.deepEqual([ownerBadge.total, ownerBadge.rooms], [0, {}]);

    for (const socket of [ownerChat, adminChat]) assert.deepEqual(seqsOf(socket), [1, 2]);
    assert.equal(ownerNotes.of('notification').length, 1);
    assert.equal(adminNotes.of('notification').length, 1);
  });

  test('typing reaches the other server and is not echoed to its sender', async () => {
    const workshop = unique('w');
    const ownerToken = owner(unique('u'));
    const room = await createRoom(a.url, ownerToken, workshop);
    const typist = open(TestSocket.chat(a, room.id, ownerToken));
    const reader = open(TestSocket.chat(b, room.id, admin(unique('a'), workshop)));
    await Promise.all([typist.ready(), reader.ready()]);
    typist.send({ type: 'typing', is_typing: true });
    assert.equal((await reader.next('typing')).is_typing, true);
    typist.send({ type: 'ping' });
    await typist.next('pong');
    assert.equal(typist.of('typing').length, 0);
  });

  test('one PUBLISH per event, and a server subscribes to a room only while one of its sockets is in it', async () => {
    const workshop = unique('w');
    const ownerToken = owner(unique('u'));
    const room = await createRoom(a.url, ownerToken, workshop);
    const channel = `motoreach:room:${room.id}`;
    const probe = new Redis(redis.url);
    // The probe's own connection check (INFO) must be over before MONITOR starts: a command seen in the
    // same packet as MONITOR's OK breaks ioredis's reply queue ("Command queue state error", once in CI).
    await probe.ping();
    const monitor = await probe.monitor();
    const published: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'publish' && args[1] === channel) published.push(args[2]!);
    });
    try {
      const numsub = async () => Number(((await probe.pubsub('NUMSUB', channel)) as [string, number])[1]);
      assert.equal(await numsub(), 0);
      const onA = [open(TestSocket.chat(a, room.id, ownerToken)), open(TestSocket.chat(a, room.id, ownerToken))];
      const onB = open(TestSocket.chat(b, room.id, admin(unique('a'), workshop)));
      await Promise.all([...onA, onB].map((s) => s.ready()));
      assert.equal(await numsub(), 2);

      onA[0]!.send({ type: 'message', body: 'once', client_id: 'c-once' });
      await Promise.all([...onA, onB].map((s) => s.next('message')));
      await eventually(() => published.length > 0, 'the PUBLISH in MONITOR');
      onA[0]!.send({ type: 'ping' });
      await onA[0]!.next('pong');
      assert.equal(published.length, 1);

      await onB.close();
      await eventually(async () => (await numsub()) === 1, 'server B to unsubscribe');
      await Promise.all(onA.map((s) => s.close()));
      await eventually(async () => (await numsub()) === 0, 'server A to unsubscribe');
    } finally {
      monitor.disconnect();
      probe.disconnect();
    }
  });

  test('the same client_id sent to both servers at once is stored once and broadcast once', async () => {
    const workshop = unique('w');
    const ownerToken = owner(unique('u'));
    const room = await createRoom(a.url, ownerToken, workshop);
    const watchers = [open(TestSocket.chat(a, room.id, ownerToken)), open(TestSocket.chat(b, room.id, admin(unique('a'), workshop)))];
    await Promise.all(watchers.map((s) => s.ready()));
    const path = `/api/service-requests/${room.id}/messages/`;
    const answers = await Promise.all([a, b].map((node) => api(node.url, 'POST', path, ownerToken, { body: 'twice?', client_id: 'c-dup' })));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 201]);
    assert.equal(answers[0]!.body.message.id, answers[1]!.body.message.id);
    await api(a.url, 'POST', path, ownerToken, { body: 'next', client_id: 'c-next' });
    for (const socket of watchers) {
      await socket.next('message', (f) => f.message.seq === 2);
      assert.deepEqual(seqsOf(socket), [1, 2]);
    }
    assert.deepEqual((await stored(b.url, room.id, ownerToken)).map((m) => m.client_id), ['c-dup', 'c-next']);
  });

  test('racing PUTs of one new room id on both servers create one room', async () => {
    const id = unique('sr');
    const serviceToken = token({ sub: 'host-backend', role: 'service' });
    const body = { user_id: unique('u'), workshop_id: unique('w'), title: 'Brakes', user_name: 'Ana' };
    const answers = await Promise.all(
      [a, b, a, b].map((node) => api(node.url, 'PUT', `/api/service-requests/${id}/`, serviceToken, body)),
    );
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 200, 200, 201]);
    for (const answer of answers) assert.deepEqual(answer.body, answers[0]!.body);
    const inbox = await api(b.url, 'GET', '/api/service-requests/', owner(body.user_id));
    assert.deepEqual(inbox.body.service_requests.map((r: { id: string }) => r.id), [id]);
  });

  test('a close on one server reaches chat and notifications sockets on the other, and both refuse sends', async () => {
    const id = unique('sr');
    const serviceToken = token({ sub: 'host-backend', role: 'service' });
    const user = unique('u');
    const ownerToken = owner(user);
    const body = { user_id: user, workshop_id: unique('w'), title: 'Brakes' };
    await api(a.url, 'PUT', `/api/service-requests/${id}/`, serviceToken, body);
    const chat = open(TestSocket.chat(b, id, admin(unique('a'), body.workshop_id)));
    const bell = open(TestSocket.notifications(b, ownerToken));
    await Promise.all([chat.ready(), bell.ready()]);
    assert.equal((await api(a.url, 'PUT', `/api/service-requests/${id}/`, serviceToken, { ...body, status: 'closed' })).status, 200);
    for (const socket of [chat, bell]) assert.equal((await socket.next('room')).room.status, 'closed');
    for (const node of [a, b]) {
      const res = await api(node.url, 'POST', `/api/service-requests/${id}/messages/`, ownerToken, { body: 'hi' });
      assert.deepEqual([res.status, res.body.error.code], [409, 'closed']);
    }
  });

  test('a system message with data posted on one server reaches both sides’ chat and notifications sockets on the other, data and all', async () => {
    const id = unique('sr');
    const serviceToken = token({ sub: 'host-backend', role: 'service', name: 'MotoReach' });
    const user = unique('u');
    const workshop = unique('w');
    await api(a.url, 'PUT', `/api/service-requests/${id}/`, serviceToken, { user_id: user, workshop_id: workshop, title: 'Brakes' });
    const [ownerToken, adminToken] = [owner(user), admin(unique('a'), workshop)];
    const chats = [open(TestSocket.chat(b, id, ownerToken)), open(TestSocket.chat(b, id, adminToken))];
    const bells = [open(TestSocket.notifications(b, ownerToken)), open(TestSocket.notifications(b, adminToken))];
    await Promise.all([...chats, ...bells].map((s) => s.ready()));
    const data = { quote: { total: 120.5, currency: 'EUR', lines: [{ label: 'Pads – front', price: 80 }] } };
    const sent = await api(a.url, 'POST', `/api/service-requests/${id}/messages/`, serviceToken, { body: 'Quote ready', data });
    assert.equal(sent.status, 201);
    for (const chat of chats) assert.deepEqual(await chat.next('message'), { type: 'message', message: sent.body.message });
    for (const bell of bells) {
      const note = await bell.next('notification');
      assert.deepEqual([note.message.sender, note.message.data, note.unread], [sent.body.message.sender, data, { count: 1, total: 1 }]);
    }
  });

  test('a reassignment on one server closes the old workshop’s chat socket on the other (4403) and tells the new one', async () => {
    const id = unique('sr');
    const serviceToken = token({ sub: 'host-backend', role: 'service' });
    const body = { user_id: unique('u'), workshop_id: unique('w-old'), title: 'Brakes' };
    const newWorkshop = unique('w-new');
    await api(a.url, 'PUT', `/api/service-requests/${id}/`, serviceToken, body);
    const oldChat = open(TestSocket.chat(b, id, admin(unique('a'), body.workshop_id)));
    const newBell = open(TestSocket.notifications(b, admin(unique('a'), newWorkshop)));
    await Promise.all([oldChat.ready(), newBell.ready()]);
    const moved = await api(a.url, 'PUT', `/api/service-requests/${id}/`, serviceToken, { ...body, workshop_id: newWorkshop });
    assert.equal(moved.status, 200);
    assert.equal((await oldChat.closed).code, 4403);
    assert.equal((await newBell.next('room')).room.workshop_id, newWorkshop);
  });

  test('concurrent sends to one room from both servers: every socket gets seq 1..n in order, once', async () => {
    const workshop = unique('w');
    const ownerToken = owner(unique('u'));
    const adminToken = admin(unique('a'), workshop);
    const room = await createRoom(a.url, ownerToken, workshop);
    const senderA = open(TestSocket.chat(a, room.id, ownerToken));
    const senderB = open(TestSocket.chat(b, room.id, adminToken));
    const watchers = [senderA, senderB, open(TestSocket.chat(a, room.id, adminToken)), open(TestSocket.chat(b, room.id, ownerToken))];
    await Promise.all(watchers.map((s) => s.ready()));
    const perSide = 60;
    for (let i = 0; i < perSide; i++) {
      senderA.send({ type: 'message', body: `a${i}`, client_id: `a-${i}` });
      senderB.send({ type: 'message', body: `b${i}`, client_id: `b-${i}` });
    }
    for (const socket of watchers) {
      await socket.until((frames) => frames.filter((f) => f.type === 'message').length >= 2 * perSide, 'every message', 20_000);
      socket.send({ type: 'ping' });
      await socket.next('pong');
      assert.deepEqual(seqsOf(socket), range(2 * perSide));
      assert.equal(socket.of('error').length, 0);
    }
    const rows = await stored(a.url, room.id, ownerToken);
    assert.deepEqual(rows.map((m) => m.seq), range(2 * perSide));
    assert.equal(new Set(rows.map((m) => m.client_id)).size, 2 * perSide);
  });

  test('a ticket issued by one server is honoured once, by any server', async () => {
    const ownerToken = owner(unique('u'));
    const room = await createRoom(a.url, ownerToken, unique('w'));
    const ticketFrom = async (node: Node) => {
      const res = await api(node.url, 'POST', '/api/ws-tickets/', ownerToken);
      assert.equal(res.status, 200);
      return res.body.ticket as string;
    };
    const withTicket = (node: Node, ticket: string) =>
      open(new TestSocket(`${node.wsUrl}/ws/service-chat/${room.id}/?ticket=${encodeURIComponent(ticket)}`));

    const ticket = await ticketFrom(a);
    await withTicket(b, ticket).ready();
    assert.equal((await withTicket(a, ticket).closed).code, 4401);
    assert.equal((await withTicket(b, ticket).closed).code, 4401);

    // Both servers at once: one of them opens it.
    const raced = await ticketFrom(b);
    const both = [withTicket(a, raced), withTicket(b, raced)];
    const outcomes = await Promise.all(both.map((s) => Promise.race([s.ready().then(() => 'open'), s.closed.then((c) => c.code)])));
    assert.deepEqual(outcomes.sort(), [4401, 'open'].sort());
  });
});

describe('Redis lost and back', { skip: redisMissing }, () => {
  test('healthz says so, sends still store, and both sides\u2019 SDK views end equal to the store', async () => {
    const redis = await RedisServer.start();
    const cluster = await startNodes(redis.url);
    const [a, b] = cluster.nodes as [Node, Node];
    const workshop = unique('w');
    const ownerToken = owner(unique('u'));
    const adminToken = admin(unique('a'), workshop);
    const room = await createRoom(a.url, ownerToken, workshop);
    const ownerClient = sdk(a.url, ownerToken);
    const adminClient = sdk(b.url, adminToken);
    const ownerRoom = ownerClient.room(room.id);
    const adminRoom = adminClient.room(room.id);
    try {
      await Promise.all([ownerRoom.connect(), adminRoom.connect()]);
      const exchange = async (round: string) => {
        for (let i = 0; i < 5; i++) await Promise.all([ownerRoom.send(`${round} owner ${i}`), adminRoom.send(`${round} admin ${i}`)]);
      };
      await exchange('before');
      await eventually(() => ownerRoom.messages.length === 10 && adminRoom.messages.length === 10, 'the first exchange on both sides');

      const reconnects = [ownerRoom, adminRoom].map((r) => new Promise<void>((resolve) => r.on('status', (e) => e.status === 'reconnecting' && resolve())));
      await redis.stop();
      for (const node of [a, b]) {
        await eventually(async () => (await api(node.url, 'GET', '/healthz', null)).status === 503, 'healthz 503');
        assert.deepEqual((await api(node.url, 'GET', '/healthz', null)).body, { status: 'degraded', fanout: 'unreachable' });
      }
      await exchange('during');

      await redis.restart();
      for (const node of [a, b]) await eventually(async () => (await api(node.url, 'GET', '/healthz', null)).status === 200, 'healthz 200', 10_000);
      await Promise.all(reconnects);
      await exchange('after');

      const rows = await stored(a.url, room.id, ownerToken);
      assert.deepEqual(rows.map((m) => m.seq), range(30));
      const expected = rows.map((m) => ({ id: m.id, seq: m.seq, state: 'sent' }));
      for (const r of [ownerRoom, adminRoom]) await eventually(() => view(r).length === 30, 'every message in the SDK view', 10_000);
      assert.deepEqual(view(ownerRoom), expected);
      assert.deepEqual(view(adminRoom), expected);
    } finally {
      ownerRoom.close();
      adminRoom.close();
      await cluster.stop();
      await redis.stop();
    }
  });

  test('a socket opened while Redis is away is served at once, and closed with 1012 when Redis is back', async () => {
    const redis = await RedisServer.start();
    const cluster = await startNodes(redis.url);
    const [a, b] = cluster.nodes as [Node, Node];
    try {
      const workshop = unique('w');
      const ownerToken = owner(unique('u'));
      const room = await createRoom(a.url, ownerToken, workshop);
      await redis.stop();
      await eventually(async () => (await api(a.url, 'GET', '/healthz', null)).status === 503, 'healthz 503 on A');
      const during = TestSocket.chat(a, room.id, ownerToken);
      assert.equal((await during.ready()).last_seq, 0);
      during.send({ type: 'message', body: 'while Redis is away', client_id: 'c-away' });
      assert.equal((await during.next('message')).message.seq, 1);
      await redis.restart();
      assert.equal((await during.closed).code, 1012);
      // A socket B accepts before it has seen Redis back is one opened during the outage: it would get 1012 too.
      await eventually(async () => (await api(b.url, 'GET', '/healthz', null)).status === 200, 'healthz 200 on B');
      const after = TestSocket.chat(b, room.id, admin(unique('a'), workshop));
      assert.equal((await after.ready()).last_seq, 1);
      await after.close();
    } finally {
      await cluster.stop();
      await redis.stop();
    }
  });

  test('a ticket offered while Redis is away cannot be checked: closed 1013, and a new one works once Redis is back', async () => {
    const redis = await RedisServer.start();
    const cluster = await startNodes(redis.url);
    const [a, b] = cluster.nodes as [Node, Node];
    const ownerToken = owner(unique('u'));
    const withTicket = async (node: Node) => {
      const res = await api(node.url, 'POST', '/api/ws-tickets/', ownerToken);
      assert.equal(res.status, 200);
      return new TestSocket(`${node.wsUrl}/ws/notifications/?ticket=${encodeURIComponent(res.body.ticket)}`);
    };
    try {
      await redis.stop();
      await eventually(async () => (await api(a.url, 'GET', '/healthz', null)).status === 503, 'healthz 503 on A');
      // Issuing needs no Redis; honouring once does, and is not guessed.
      assert.deepEqual(await (await withTicket(a)).closed, { code: 1013, reason: 'try again later' });
      await redis.restart();
      // Each server's link for tickets reconnects on its own schedule: a 1013 until then, with a new ticket each time.
      await eventually(async () => {
        const socket = await withTicket(b);
        const opened = await Promise.race([socket.ready().then(() => true, () => false), socket.closed.then(() => false)]);
        await socket.close();
        return opened;
      }, 'a ticket honoured again', 10_000);
    } finally {
      await cluster.stop();
      await redis.stop();
    }
  });

  test('Redis unreachable at start: a clear error and exit status 2', async () => {
    const port = await freePort();
    const dir = tempDir();
    try {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', BIN, '--port', '0', '--data-dir', dir, '--jwt-secret', SECRET, '--redis-url', `redis://:hunter2@127.0.0.1:${port}`],
        { encoding: 'utf8', timeout: 20_000 },
      );
      assert.equal(result.status, 2);
      assert.equal(
        result.stderr.trim(),
        `motoreach-reference-server: cannot reach Redis at redis://:***@127.0.0.1:${port} (REDIS_URL): connect ECONNREFUSED 127.0.0.1:${port}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a server killed -9 while its clients send', { skip: redisMissing || (!inProcesses && 'needs server processes on one shared store: runs in the MongoDB pass') }, () => {
  test('the clients reconnect through the load balancer to the other server: nothing lost, nothing doubled', async () => {
    const redis = await RedisServer.start();
    const cluster = await startNodes(redis.url);
    const [a, b] = cluster.nodes as [Node, Node];
    const balancer = await new Balancer([a.port, b.port]).listen();
    const workshop = unique('w');
    const ownerToken = owner(unique('u'));
    const room = await createRoom(balancer.url, ownerToken, workshop);
    const ownerRoom = sdk(balancer.url, ownerToken).room(room.id);
    const adminRoom = sdk(balancer.url, admin(unique('a'), workshop)).room(room.id);
    try {
      await Promise.all([ownerRoom.connect(), adminRoom.connect()]);
      const perSide = 20;
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < perSide; i++) {
        sends.push(ownerRoom.send(`owner ${i}`), adminRoom.send(`admin ${i}`));
        if (i === 5) await a.kill();
      }
      await Promise.all(sends);
      const rows = await stored(b.url, room.id, ownerToken);
      assert.deepEqual(rows.map((m) => m.seq), range(2 * perSide));
      assert.equal(new Set(rows.map((m) => m.body)).size, 2 * perSide);
      const expected = rows.map((m) => ({ id: m.id, seq: m.seq, state: 'sent' }));
      for (const r of [ownerRoom, adminRoom]) await eventually(() => view(r).length === 2 * perSide, 'every message in the SDK view', 15_000);
      assert.deepEqual(view(ownerRoom), expected);
      assert.deepEqual(view(adminRoom), expected);
    } finally {
      ownerRoom.close();
      adminRoom.close();
      await balancer.close();
      await cluster.stop();
      await redis.stop();
    }
  });
});

/** Loses the publish of one seq, as a server killed between its commit and its publish would. */
class LosingFanout extends LocalFanout {
  constructor(private readonly lostSeq: number) {
    super();
  }

  override publish(group: string, event: FanoutEvent): void {
    if (event.seq !== this.lostSeq) super.publish(group, event);
  }
}

test('a message that never arrives: later ones are held back, not sent out of order, and the socket closes with 1012 to resync', async () => {
  const server = await startTestServer({ limits: { seqGapMs: 200 } }, { fanout: new LosingFanout(2) });
  try {
    const ownerToken = owner(unique('u'));
    const room = await createRoom(server.url, ownerToken);
    const socket = TestSocket.chat(server, room.id, ownerToken);
    await socket.ready();
    const path = `/api/service-requests/${room.id}/messages/`;
    for (const body of ['one', 'two', 'three']) assert.equal((await api(server.url, 'POST', path, ownerToken, { body })).status, 201);
    assert.equal((await socket.closed).code, 1012);
    assert.deepEqual(seqsOf(socket), [1]);
    const again = TestSocket.chat(server, room.id, ownerToken);
    assert.equal((await again.ready()).last_seq, 3);
    await again.close();
  } finally {
    await server.stop();
  }
});

const ownMongod = inProcesses && process.env.MONGOMS_SYSTEM_BINARY ? false : 'needs the MongoDB pass with MONGOMS_SYSTEM_BINARY (a replica set of its own to restart)';

describe('the MongoDB primary restarted while clients send on two servers', { skip: redisMissing || ownMongod }, () => {
  test('sends wait or retry: nothing lost, nothing doubled, both SDK views equal the store', async () => {
    const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
    const replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
    const redis = await RedisServer.start();
    const mongoUri = new URL(replSet.getUri());
    mongoUri.pathname = '/restart';
    const unusedDataDir = tempDir();
    const nodes: Array<Awaited<ReturnType<typeof spawnServer>>> = [];
    const rooms: Array<{ close(): void }> = [];
    try {
      // One after the other: the second finds the collections the first created. Whatever started is stopped below, even if the other did not.
      for (let i = 0; i < 2; i++) {
        nodes.push(
          await spawnServer([
            ...['--mongodb-uri', mongoUri.toString(), '--data-dir', unusedDataDir],
            ...['--port', '0', '--host', '127.0.0.1', '--jwt-secret', SECRET, '--redis-url', redis.url],
          ]),
        );
      }
      const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
      const workshop = unique('w');
      const ownerToken = owner(unique('u'));
      const room = await createRoom(a.url, ownerToken, workshop);
      const ownerRoom = sdk(a.url, ownerToken).room(room.id);
      const adminRoom = sdk(b.url, admin(unique('a'), workshop)).room(room.id);
      rooms.push(ownerRoom, adminRoom);
      await Promise.all([ownerRoom.connect(), adminRoom.connect()]);
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < 10; i++) sends.push(ownerRoom.send(`owner ${i}`), adminRoom.send(`admin ${i}`));
      const primary = replSet.servers[0]!;
      await primary.stop({ doCleanup: false });
      for (let i = 10; i < 15; i++) sends.push(ownerRoom.send(`owner ${i}`), adminRoom.send(`admin ${i}`));
      await primary.start(true);
      await Promise.all(sends);
      const rows = await stored(b.url, room.id, ownerToken);
      assert.deepEqual(rows.map((m) => m.seq), range(30));
      assert.equal(new Set(rows.map((m) => m.body)).size, 30);
      const expected = rows.map((m) => ({ id: m.id, seq: m.seq, state: 'sent' }));
      for (const r of [ownerRoom, adminRoom]) await eventually(() => view(r).length === 30, 'every message in the SDK view', 30_000);
      assert.deepEqual(view(ownerRoom), expected);
      assert.deepEqual(view(adminRoom), expected);
    } finally {
      for (const r of rooms) r.close();
      for (const node of nodes) node.child.kill('SIGTERM');
      await Promise.all(nodes.map((node) => node.exited));
      await redis.stop();
      await replSet.stop();
      rmSync(unusedDataDir, { recursive: true, force: true });
    }
  });
});
