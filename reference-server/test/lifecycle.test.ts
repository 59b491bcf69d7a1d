import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { admin, api, createRoom, eventually, owner, SECRET, spawnServer, tempDir, TestSocket } from './helpers/harness.js';
import { dropTestDatabase, storeArgs } from './helpers/test-store.js';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

describe('server process', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = tempDir();
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const dir of dirs) {
      await dropTestDatabase(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const args = (dir: string, port = 0) => ['--port', String(port), '--host', '127.0.0.1', ...storeArgs(dir), '--jwt-secret', SECRET];

  test('messages, rooms and cursors survive a restart on the same data dir', async () => {
    const dir = dataDir();
    const ana = owner();
    const bo = admin();
    const first = await spawnServer(args(dir));
    const room = await createRoom(first.url, ana);
    const sent = [];
    for (const body of ['one', 'two', 'three']) {
      sent.push((await api(first.url, 'POST', `/api/service-requests/${room.id}/messages/`, bo, { body, client_id: body })).body.message);
    }
    await api(first.url, 'POST', `/api/service-requests/${room.id}/messages/read/`, ana, { last_read_seq: 2 });
    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null });

    const second = await spawnServer(args(dir));
    try {
      const page = await api(second.url, 'GET', `/api/service-requests/${room.id}/messages/`, ana);
      assert.deepEqual(page.body, { messages: sent, has_more: false, read_cursors: { user: 2, workshop: 0 } });
      const repeat = await api(second.url, 'POST', `/api/service-requests/${room.id}/messages/`, bo, { body: 'x', client_id: 'two' });
      assert.deepEqual([repeat.status, repeat.body.message], [200, sent[1]]);
      const next = await api(second.url, 'POST', `/api/service-requests/${room.id}/messages/`, bo, { body: 'four' });
      assert.equal(next.body.message.seq, 4);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  test('every acknowledged message survives kill -9', async () => {
    const dir = dataDir();
    const ana = owner();
    const unlimited = [...args(dir), '--ws-rate-limit', '0', '--ws-user-rate-limit', '0'];
    const first = await spawnServer(unlimited);
    let second: Awaited<ReturnType<typeof spawnServer>> | undefined;
    try {
      const room = await createRoom(first.url, ana);
      const socket = TestSocket.chat(first, room.id, ana);
      await socket.ready();
      for (let i = 0; i < 200; i++) socket.send({ type: 'message', body: `m${i}`, client_id: `c${i}` });
      // Kill as soon as some acks are in, with more still in flight.
      await socket.until((frames) => frames.filter((f) => f.type === 'message').length >= 50, '50 acks');
      first.child.kill('SIGKILL');
      await first.exited;
      await socket.closed;
      const acked = socket.of('message').map((f) => f.message.seq as number);
      assert.equal(socket.of('error').length, 0);

      second = await spawnServer(unlimited);
      const stored: number[] = [];
      let afterSeq = 0;
      for (;;) {
        const page = await api(second.url, 'GET', `/api/service-requests/${room.id}/messages/?after=${afterSeq}&limit=100`, ana);
        stored.push(...page.body.messages.map((m: any) => m.seq));
        if (!page.body.has_more) break;
        afterSeq = stored.at(-1)!;
      }
      assert.deepEqual(stored.slice(0, acked.length), acked, 'every acked message is stored, in order');
      assert.deepEqual(stored, Array.from({ length: stored.length }, (_, i) => i + 1), 'no gaps');
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      await second?.exited;
    }
  });

  test('SIGTERM closes every socket with 1001 and exits 0', async () => {
    const dir = dataDir();
    const ana = owner();
    const server = await spawnServer(args(dir));
    const room = await createRoom(server.url, ana);
    const chat = TestSocket.chat(server, room.id, ana);
    const chatAdmin = TestSocket.chat(server, room.id, admin());
    const notes = TestSocket.notifications(server, ana);
    await Promise.all([chat.ready(), chatAdmin.ready(), notes.ready()]);
    server.child.kill('SIGTERM');
    const codes = await Promise.all([chat.closed, chatAdmin.closed, notes.closed]);
    assert.deepEqual(codes.map((c) => c.code), [1001, 1001, 1001]);
    assert.deepEqual(await server.exited, { code: 0, signal: null });
  });

  test('SIGTERM under load from keep-alive clients exits 0 at once, every time', async () => {
    // Each client sends its next request as soon as it has an answer, on one kept-alive connection,
    // so at the signal some connection is nearly always busy.
    const answer = (agent: Agent, url: string, auth: string, body: string | null) =>
      new Promise<{ status: number; code: string | undefined; connection: string | undefined }>((resolve, reject) => {
        const req = request(
          url,
          {
            agent,
            method: body === null ? 'GET' : 'POST',
            headers: { authorization: `Bearer ${auth}`, ...(body === null ? {} : { 'content-type': 'application/json' }) },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () =>
              resolve({ status: res.statusCode!, code: text && JSON.parse(text).error?.code, connection: res.headers.connection }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body ?? undefined);
      });

    for (let round = 0; round < 5; round++) {
      const server = await spawnServer([...args(dataDir()), '--http-rate-limit', '0']);
      const ana = owner();
      const room = await createRoom(server.url, ana);
      let running = true;
      const answers: Array<Awaited<ReturnType<typeof answer>>> = [];
      const clients = Array.from({ length: 6 }, (_, c) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        return (async () => {
          for (let i = 0; running; i++) {
            const write = c % 2 === 0;
            const url = write ? `${server.url}/api/service-requests/${room.id}/messages/` : `${server.url}/api/notifications/unread/`;
            try {
              answers.push(await answer(agent, url, ana, write ? JSON.stringify({ body: `c${c} m${i}`, client_id: `r${round}c${c}m${i}` }) : null));
            } catch {
              // Refused or cut between requests once the server stops listening: the client tries again.
              await new Promise((resolve) => setImmediate(resolve));
            }
          }
          agent.destroy();
        })();
      });
      await eventually(() => answers.length >= 60, 'the clients under way');
      const signalled = performance.now();
      server.child.kill('SIGTERM');
      const exit = await server.exited;
      const ms = performance.now() - signalled;
      running = false;
      await Promise.all(clients);
      assert.deepEqual(exit, { code: 0, signal: null }, `round ${round}: ${server.output().slice(-2000)}`);
      assert.ok(ms < 3000, `round ${round}: the stop took ${Math.round(ms)} ms`);
      for (const a of answers) {
        assert.ok([200, 201, 503].includes(a.status), `round ${round}: answered ${a.status}`);
        if (a.status === 503) assert.deepEqual([a.code, a.connection], ['unavailable', 'close']);
      }
    }
  });

  test('no token appears in any log line, at debug level, for good and refused tokens', async () => {
    const dir = dataDir();
    const ana = owner();
    const forged = owner().slice(0, -4) + 'AAAA';
    const server = await spawnServer([...args(dir), '--log-level', 'debug']);
    const room = await createRoom(server.url, ana);
    const chat = TestSocket.chat(server, room.id, ana);
    await chat.ready();
    await TestSocket.chat(server, room.id, forged).closed;
    await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/?after=0&token=${ana}`, ana);
    await api(server.url, 'GET', '/api/service-requests/', forged);
    await chat.close();
    server.child.kill('SIGTERM');
    await server.exited;
    const log = server.output();
    assert.match(log, /"path":"\/api\/service-requests\/[^"?]+\/messages\/"/);
    for (const secret of [ana, forged, ana.split('.')[2]!, forged.split('.')[2]!, SECRET]) {
      assert.equal(log.includes(secret), false, 'a token leaked into the log');
    }
    assert.equal(log.includes('token='), false);
    // Level names, and the request lines say who called, once the token was verified (a forged one names nobody).
    const requests = log.split('\n').filter((line) => line.includes('"msg":"http"')).map((line) => JSON.parse(line));
    assert.deepEqual(
      requests.map((r) => [r.level, r.method, r.status, r.principal]),
      [
        ['info', 'POST', 201, 'user:u-ana'],
        ['info', 'GET', 200, 'user:u-ana'],
        ['info', 'GET', 401, undefined],
      ],
    );
    assert.equal(log.includes('"level":30'), false);
  });
});

describe('configuration', () => {
  const publicPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const run = (cliArgs: string[], env: Record<string, string> = {}) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !['JWT_SECRET', 'JWT_PUBLIC_KEY', 'PORT', 'DEV', 'MOTOREACH_DEV', 'MONGODB_URI'].includes(k)),
    );
    const result = spawnSync(process.execPath, ['--import', 'tsx', BIN, ...cliArgs], {
      env: { ...clean, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    return { status: result.status, stderr: result.stderr };
  };

  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['no key and no dev mode', [], {}, /no JWT key: set JWT_SECRET \(HS256\) or JWT_PUBLIC_KEY \(RS256\), or start with --dev/],
    ['a short secret', [], { JWT_SECRET: 'short' }, /JWT_SECRET must be at least 32 characters/],
    ['both keys', ['--jwt-secret', SECRET], { JWT_PUBLIC_KEY: publicPem }, /either JWT_SECRET .* or JWT_PUBLIC_KEY/],
    ['a bad public key', [], { JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, /JWT_PUBLIC_KEY is not a PEM public key/],
    ['a bad port', ['--port', 'eighty'], { JWT_SECRET: SECRET }, /PORT must be a whole number, got "eighty"/],
    ['a port out of range', [], { JWT_SECRET: SECRET, PORT: '70000' }, /PORT must be between 0 and 65535, got 70000/],
    ['an origin with a path', [], { JWT_SECRET: SECRET, ALLOWED_ORIGINS: 'https://a.example/app' }, /ALLOWED_ORIGINS: "https:\/\/a.example\/app" must be an origin only/],
    ['a bad synchronous mode', [], { JWT_SECRET: SECRET, SQLITE_SYNCHRONOUS: 'off' }, /SQLITE_SYNCHRONOUS must be "full" or "normal", got "off"/],
    ['an unknown flag', ['--prot', '1'], { JWT_SECRET: SECRET }, /Unknown option '--prot'/],
  ];
  for (const [name, cliArgs, env, message] of cases) {
    test(`refuses to start with ${name}, exit 2 and a clear message`, () => {
      const { status, stderr } = run(cliArgs, env);
      assert.equal(status, 2);
      assert.match(stderr, message);
    });
  }
});
