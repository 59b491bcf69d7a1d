/**
 * The nginx setup of docs/reference-server.md ("Behind a TLS proxy"), run with Debian's nginx: the
 * docs' blocks are generated from examples/nginx/ (scripts/docs-snippets.mjs), and this test runs
 * those files, changing only what a machine of its own needs (ports, certificate and log paths),
 * each change checked to apply exactly where expected. nginx runs as the user running the test
 * (no master process, its own prefix, pid and temp paths), on free ports of 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { LocalFanout } from '../src/fanout/local.js';
import { admin, eventually, owner, startTestServer, tempDir, TestSocket, type TestServer } from './helpers/harness.js';
import { LogCapture } from './helpers/log-capture.js';
import { freePort } from './helpers/redis-server.js';
import { openTestStore, unclosable } from './helpers/test-store.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/nginx/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const CERT = join(FIXTURES, 'test-tls.cert.pem');
const KEY = join(FIXTURES, 'test-tls.key.pem');
const CA = readFileSync(CERT);

/** Debian's nginx, on PATH or where the package puts it; null when it is not installed. */
const NGINX = ['nginx', '/usr/sbin/nginx'].find((bin) => !spawnSync(bin, ['-v']).error) ?? null;
/** Outside CI a machine without nginx skips with the reason; CI installs it (.ci/run), so there it must run. */
const skip = NGINX === null && !process.env.CI ? 'nginx is not installed (Debian: apt-get install nginx); CI installs it' : false;

/** The lines between `#region name` and `#endregion name` of an example file: what the docs show. */
function region(file: string, name: string): string {
  const lines = readFileSync(join(EXAMPLES, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.includes(`#region ${name}`));
  const end = lines.findIndex((l, i) => i > start && l.includes(`#endregion ${name}`));
  assert.ok(start >= 0 && end > start, `${file}: region ${name}`);
  return lines.slice(start + 1, end).join('\n');
}

/** `text` with `from` replaced by `to`, which must occur exactly `times` times: a docs change that moves it fails here. */
function swap(text: string, from: string, to: string, times = 1): string {
  assert.equal(text.split(from).length - 1, times, `"${from}" occurs ${times} time(s) in the docs' nginx configuration`);
  return text.split(from).join(to);
}

interface Nginx {
  port: number;
  accessLog: string;
  stop(): Promise<void>;
}

/** Runs the conf.d file `site` (http {} contents) in nginx of its own, once `nginx -t` has passed. */
async function startNginx(site: string, dir: string): Promise<Nginx> {
  const port = await freePort();
  const accessLog = join(dir, 'chat.access.log');
  let conf = swap(site, 'listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`);
  conf = swap(conf, '/etc/letsencrypt/live/chat.example.com/fullchain.pem', CERT);
  conf = swap(conf, '/etc/letsencrypt/live/chat.example.com/privkey.pem', KEY);
  conf = swap(conf, '/var/log/nginx/chat.access.log', accessLog);
  writeFileSync(join(dir, 'chat.conf'), conf);
  const main = join(dir, 'nginx.conf');
  writeFileSync(
    main,
    [
      'daemon off;',
      'master_process off;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events {}',
      'http {',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((temp) => `    ${temp}_temp_path ${join(dir, temp)};`),
      `    access_log ${join(dir, 'other.access.log')};`,
      `    include ${join(dir, 'chat.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const args = ['-p', `${dir}/`, '-c', main, '-e', join(dir, 'error.log')];
  const check = spawnSync(NGINX!, ['-t', ...args], { encoding: 'utf8' });
  assert.equal(check.status, 0, `nginx -t:\n${check.stderr}`);
  assert.match(check.stderr, /test is successful/);
  const child: ChildProcess = spawn(NGINX!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${readFileSync(join(dir, 'error.log'), 'utf8')}`);
        const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
        socket.on('error', () => resolve(false));
      }),
    'nginx listening',
  );
  return {
    port,
    accessLog,
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
    },
  };
}

/** One HTTPS request through nginx, trusting the test certificate. */
function https(port: number, method: string, path: string, auth: string | null, body?: unknown) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: CA,
        servername: 'localhost',
        headers: { ...(auth && { authorization: `Bearer ${auth}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A WebSocket through nginx (wss://, the test certificate). */
function wss(port: number, path: string): TestSocket {
  return new TestSocket(`wss://127.0.0.1:${port}${path}`, { ca: CA, servername: 'localhost' } as WebSocket.ClientOptions);
}

describe('nginx as documented (docs/reference-server.md, Behind a TLS proxy)', { skip }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const dir = () => {
    const made = tempDir('motoreach-nginx-');
    dirs.push(made);
    return made;
  };

  test('one server: nginx -t passes; WebSocket upgrades pass, X-Request-Id travels, no query string is logged', async () => {
    const log = new LogCapture('debug');
    const server = await startTestServer({}, { logger: log.logger });
    const nginx = await startNginx(swap(region('chat.conf', 'nginx'), 'http://127.0.0.1:8080', `http://127.0.0.1:${server.port}`, 2), dir());
    const ana = owner();
    const bo = admin();
    try {
      const created = await https(nginx.port, 'POST', '/api/service-requests/', ana, { workshop_id: 'w-1', title: 'Brakes squeak' });
      assert.equal(created.status, 201);
      // nginx's $request_id reaches the server, which logs it and answers it.
      const requestId = created.headers['x-request-id'] as string;
      assert.match(requestId, /^[0-9a-f]{32}$/);
      const line = log.lines.find((l) => l.msg === 'http' && l.req_id === requestId);
      assert.deepEqual([line?.method, line?.path, line?.status, line?.principal], ['POST', '/api/service-requests/', 201, 'user:u-ana']);

      const roomId = created.body.id as string;
      const { ticket } = (await https(nginx.port, 'POST', '/api/ws-tickets/', ana)).body as { ticket: string };
      const chat = wss(nginx.port, `/ws/service-chat/${roomId}/?ticket=${encodeURIComponent(ticket)}`);
      assert.equal((await chat.ready()).last_seq, 0);
      // A v1 client's token in the URL goes through too.
      const notes = wss(nginx.port, `/ws/notifications/?token=${encodeURIComponent(bo)}`);
      assert.equal((await notes.ready()).type, 'unread');
      chat.send({ type: 'message', body: 'through nginx', client_id: 'n-1' });
      assert.equal((await chat.next('message')).message.body, 'through nginx');
      assert.equal((await notes.next('notification')).request_id, roomId);
      await Promise.all([chat.close(), notes.close()]);
      await nginx.stop();

      const access = readFileSync(nginx.accessLog, 'utf8');
      assert.match(access, new RegExp(`"GET /ws/service-chat/${roomId}/" 101 `));
      assert.match(access, /"GET \/ws\/notifications\/" 101 /);
      assert.match(access, /"POST \/api\/ws-tickets\/" 200 /);
      for (const secret of [ticket, encodeURIComponent(ticket), ana, bo, 'ticket=', 'token=', '?']) {
        assert.equal(access.includes(secret), false, `the access log holds ${secret.slice(0, 20)}`);
      }
      const serverLog = JSON.stringify(log.lines);
      for (const secret of [ticket, ana, bo, 'ticket=', 'token=']) assert.equal(serverLog.includes(secret), false);
    } finally {
      await nginx.stop();
      await server.stop();
    }
  });

  test('two servers behind one upstream: nginx -t passes, sockets spread over both, and a message crosses between them', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    // One store and one fan-out for both, standing in for MongoDB and Redis.
    const store = await openTestStore(dataDir);
    const fanout = new LocalFanout();
    const logs = [new LogCapture('debug'), new LogCapture('debug')];
    const servers: TestServer[] = [];
    for (const log of logs) servers.push(await startTestServer({}, { store: unclosable(store), fanout, logger: log.logger }));
    let site = swap(region('chat.conf', 'nginx'), 'http://127.0.0.1:8080', 'http://motoreach_chat', 2);
    let upstream = swap(region('upstream.conf', 'upstream'), 'server 10.0.0.11:8080;', `server 127.0.0.1:${servers[0]!.port};`);
    upstream = swap(upstream, 'server 10.0.0.12:8080;', `server 127.0.0.1:${servers[1]!.port};`);
    // Beside `map`, in http {}.
    site = `${upstream}\n${site}`;
    const nginx = await startNginx(site, dir());
    const ana = owner();
    const bo = admin();
    try {
      const created = await https(nginx.port, 'POST', '/api/service-requests/', ana, { workshop_id: 'w-1', title: 'Brakes squeak' });
      assert.equal(created.status, 201);
      const roomId = created.body.id as string;
      // Round robin: two upgrades one after the other go to one server each.
      const owners = wss(nginx.port, `/ws/service-chat/${roomId}/?token=${encodeURIComponent(ana)}`);
      await owners.ready();
      const admins = wss(nginx.port, `/ws/service-chat/${roomId}/?token=${encodeURIComponent(bo)}`);
      await admins.ready();
      const opened = logs.map((log) => log.lines.filter((l) => l.msg === 'websocket open').map((l) => l.user));
      assert.deepEqual(opened.flat().sort(), ['a-bo', 'u-ana']);
      assert.deepEqual(opened.map((users) => users.length), [1, 1]);
      admins.send({ type: 'message', body: 'from the other server', client_id: 'x-1' });
      assert.equal((await owners.next('message')).message.body, 'from the other server');
      await Promise.all([owners.close(), admins.close()]);
    } finally {
      await nginx.stop();
      for (const server of servers) await server.stop();
      await store.close();
    }
  });
});
