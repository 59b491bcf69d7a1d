/**
 * Redis is not a trust boundary (issue 15, item 8): whoever can PUBLISH on
 * the fan-out channels cannot make a server deliver an event that no server
 * sent. Two servers on one store and a real redis-server; the forgeries are
 * PUBLISHed by the test as an intruder in Redis would.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { ChatStore } from '../src/store/store.js';
import { admin, api, createRoom, eventually, owner, SECRET, spawnServer, startTestServer, tempDir, TestSocket, unique, type TestServer } from './helpers/harness.js';
import { redisMissing, RedisServer } from './helpers/redis-server.js';
import { dropTestDatabase, openTestStore, storeArgs, unclosable } from './helpers/test-store.js';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

type LogLine = { level: number; msg: string; [field: string]: unknown };

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

const DROPPED = 'dropped fan-out events that failed authentication: forged or altered in Redis, or from a server with another CLUSTER_SECRET/JWT_SECRET';

/**
 * A channel payload with its seq and frame replaced: the seq is the third line from the end
 * (origin, seq, exceptSocket, frame), whatever comes before it.
 */
function tampered(payload: string, seq: number, frame: (text: string) => string): string {
  const lines = payload.split('\n');
  const head = lines.slice(0, -4);
  const [origin, , exceptSocket, ...rest] = lines.slice(-4);
  return [...head, origin, String(seq), exceptSocket, frame(rest.join('\n'))].join('\n');
}

describe('fan-out events in Redis are authenticated', { skip: redisMissing }, () => {
  let redis: RedisServer;
  let shared: ChatStore;
  let dataDir: string;
  let a: TestServer;
  let b: TestServer;
  const logA = recordingLogger();
  const logB = recordingLogger();
  const sockets: TestSocket[] = [];
  const open = (socket: TestSocket) => (sockets.push(socket), socket);

  before(async () => {
    redis = await RedisServer.start();
    dataDir = tempDir();
    shared = await openTestStore(dataDir);
    // A gap this short would close a socket with 1012 within the test, were a forged one held.
    const options = { redisUrl: redis.url, limits: { seqGapMs: 200 } };
    a = await startTestServer(options, { store: unclosable(shared), logger: logA.logger });
    b = await startTestServer(options, { store: unclosable(shared), logger: logB.logger });
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await a?.stop();
    await b?.stop();
    await shared?.close();
    await dropTestDatabase(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    await redis?.stop();
  });

  test('a tampered copy, a forged event, a fake gap and a genuine event moved to another room reach no socket, and are logged', { timeout: 30_000 }, async () => {
    const workshop = unique('w');
    const ownerId = unique('u');
    const ownerToken = owner(ownerId);
    const adminToken = admin(unique('a'), workshop);
    const room = await createRoom(a.url, ownerToken, workshop);
    const other = await createRoom(a.url, ownerToken, workshop);
    const channel = `motoreach:room:${room.id}`;
    const ownerChat = open(TestSocket.chat(a, room.id, ownerToken));
    const adminChat = open(TestSocket.chat(b, room.id, adminToken));
    const otherChat = open(TestSocket.chat(b, other.id, adminToken));
    const ownerNotes = open(TestSocket.notifications(b, ownerToken));
    await Promise.all([ownerChat, adminChat, otherChat, ownerNotes].map((s) => s.ready()));

    const intruder = new Redis(redis.url);
    const listener = new Redis(redis.url);
    try {
      const heard: string[] = [];
      await listener.subscribe(channel);
      listener.on('message', (_channel: string, payload: string) => heard.push(payload));
      ownerChat.send({ type: 'message', body: 'Brakes squeak', client_id: 'c-1' });
      assert.equal((await adminChat.next('message')).message.body, 'Brakes squeak');
      const genuine = (await eventually(() => heard[0], 'the genuine PUBLISH')) as string;

      // The next message, in the owner's name, with other words.
      await intruder.publish(
        channel,
        tampered(genuine, 2, (frame) => frame.replace('"seq":1', '"seq":2').replace('Brakes squeak', 'Pay the deposit to IBAN XX00 0000')),
      );
      // An unread count out of nothing, in the format of a channel without authentication.
      const forgedUnread = JSON.stringify({ type: 'unread', total: 999, rooms: { [room.id]: 999 } });
      await intruder.publish(`motoreach:user:${ownerId}`, `intruder\n\n\n${forgedUnread}`);
      // A message far ahead: held, it would close the room's sockets with 1012 for a gap that never fills.
      const farAhead = JSON.parse(genuine.slice(genuine.indexOf('{"type"'))) as { message: { seq: number } };
      farAhead.message.seq = 50;
      await intruder.publish(channel, `intruder\n50\n\n${JSON.stringify(farAhead)}`);
      // A genuine event, signed for its own room, replayed in another.
      await intruder.publish(`motoreach:room:${other.id}`, genuine);

      // What comes after on the same channels arrives after the forgeries did.
      ownerChat.send({ type: 'message', body: 'Tuesday works', client_id: 'c-2' });
      const second = (await adminChat.next('message', (f) => f.message.seq === 2)).message;
      assert.deepEqual([second.body, second.client_id], ['Tuesday works', 'c-2']);
      await api(a.url, 'POST', `/api/service-requests/${other.id}/messages/`, ownerToken, { body: 'In the other room', client_id: 'c-3' });
      assert.equal((await otherChat.next('message')).message.body, 'In the other room');
      // Sent on A: its notification reaches the owner's socket on B through Redis, after the forged count.
      const reply = await api(a.url, 'POST', `/api/service-requests/${room.id}/messages/`, adminToken, { body: 'See you', client_id: 'c-4' });
      assert.equal(reply.status, 201);
      assert.deepEqual((await ownerNotes.next('notification')).unread, { count: 1, total: 1 });

      assert.deepEqual(
        adminChat.of('message').map((f) => [f.message.seq, f.message.body]),
        [
          [1, 'Brakes squeak'],
          [2, 'Tuesday works'],
          [3, 'See you'],
        ],
      );
      assert.deepEqual(otherChat.of('message').map((f) => f.message.body), ['In the other room']);
      assert.deepEqual(ownerNotes.of('unread').map((f) => f.total), [0]);
      assert.equal(adminChat.ws.readyState, adminChat.ws.OPEN);

      // Server B had each of the four; server A only the two on the room channel (it has no socket on the others).
      const dropped = (lines: LogLine[]) => lines.filter((l) => l.msg === DROPPED).reduce((n, l) => n + (l.dropped as number), 0);
      await eventually(() => dropped(logB.lines) === 4 && dropped(logA.lines) === 2, 'the drops in the logs (at most a line a second)');
      const first = logB.lines.find((l) => l.msg === DROPPED)!;
      assert.equal(first.level, 40);
      assert.equal(first.channel, channel);
    } finally {
      intruder.disconnect();
      listener.disconnect();
    }
  });
});

describe('the key of the signatures', { skip: redisMissing }, () => {
  test('servers with the same CLUSTER_SECRET understand each other; one keyed from JWT_SECRET instead drops their events', { timeout: 30_000 }, async () => {
    const redis = await RedisServer.start();
    const dataDir = tempDir();
    const shared = await openTestStore(dataDir);
    const clusterSecret = 'cluster-secret-of-this-deployment-0123456789';
    const logC = recordingLogger();
    const servers: TestServer[] = [];
    const sockets: TestSocket[] = [];
    try {
      for (const [secret, logger] of [[clusterSecret, undefined], [clusterSecret, undefined], [undefined, logC.logger]] as const) {
        servers.push(await startTestServer({ redisUrl: redis.url, clusterSecret: secret }, { store: unclosable(shared), ...(logger ? { logger } : {}) }));
      }
      const [a, b, c] = servers as [TestServer, TestServer, TestServer];
      const workshop = unique('w');
      const ownerToken = owner(unique('u'));
      const room = await createRoom(a.url, ownerToken, workshop);
      const [onB, onC] = [TestSocket.chat(b, room.id, admin(unique('a'), workshop)), TestSocket.chat(c, room.id, admin(unique('a'), workshop))];
      sockets.push(onB, onC);
      await Promise.all([onB.ready(), onC.ready()]);
      assert.equal((await api(a.url, 'POST', `/api/service-requests/${room.id}/messages/`, ownerToken, { body: 'Hello', client_id: 'c-1' })).status, 201);
      assert.equal((await onB.next('message')).message.body, 'Hello');
      await eventually(() => logC.lines.find((l) => l.msg === DROPPED), 'the drop on the server with another key');
      assert.equal(onC.of('message').length, 0);
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
      for (const server of servers) await server.stop();
      await shared.close();
      await dropTestDatabase(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
      await redis.stop();
    }
  });
});

describe('Redis settings at start', { skip: redisMissing }, () => {
  test('a REDIS_URL without a password starts with a warning; with one, no warning', { timeout: 60_000 }, async () => {
    const open = await RedisServer.start();
    const locked = await RedisServer.start({ password: 'correct-horse-battery-staple' });
    const dirs = [tempDir(), tempDir()];
    const servers: Array<Awaited<ReturnType<typeof spawnServer>>> = [];
    try {
      const start = async (dir: string, redisUrl: string) => {
        const server = await spawnServer([...storeArgs(dir), '--port', '0', '--host', '127.0.0.1', '--jwt-secret', SECRET, '--redis-url', redisUrl]);
        servers.push(server);
        return server.output().split('\n').filter((line) => line.includes('"level":"warn"'));
      };
      const warnings = await start(dirs[0]!, open.url);
      assert.equal(warnings.length, 1);
      const warning = JSON.parse(warnings[0]!) as LogLine;
      assert.deepEqual([warning.msg.split(':')[0], warning.redis], ['REDIS_URL has no password', open.url]);
      assert.deepEqual(await start(dirs[1]!, locked.url), []);
      assert.equal((await api(servers[1]!.url, 'GET', '/healthz', null)).status, 200);
    } finally {
      for (const server of servers) server.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.exited));
      await open.stop();
      await locked.stop();
      for (const dir of dirs) {
        await dropTestDatabase(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('a CLUSTER_SECRET shorter than 32 characters: exit status 2', { timeout: 30_000 }, () => {
    const dir = tempDir();
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', BIN, '--port', '0', '--data-dir', dir, '--jwt-secret', SECRET], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, CLUSTER_SECRET: 'too-short' },
      });
      assert.deepEqual([result.status, result.stderr], [2, 'motoreach-reference-server: CLUSTER_SECRET must be at least 32 characters\n']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('REDIS_URL with an RS256 public key and no CLUSTER_SECRET: one clear line and exit status 2', { timeout: 30_000 }, () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const dir = tempDir();
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', BIN, '--port', '0', '--data-dir', dir, '--redis-url', 'redis://127.0.0.1:1'], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, JWT_PUBLIC_KEY: pem },
      });
      assert.equal(result.status, 2);
      assert.equal(
        result.stderr,
        'motoreach-reference-server: REDIS_URL with JWT_PUBLIC_KEY (RS256) needs CLUSTER_SECRET: a secret of 32+ characters, the same on every server, that keys their WebSocket tickets and their events in Redis\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
