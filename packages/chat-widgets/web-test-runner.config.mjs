// Tests run in real Chromium against the real reference server, started here as a child process.
// Commands let a test stop, start and reconfigure that server (same port, same data, another JWT
// secret) to exercise outages and refusals; tokens come from the server's development endpoint, or
// are signed here for a secret the server is about to get.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromeLauncher } from '@web/test-runner-chrome';
import { esbuildPlugin } from '@web/dev-server-esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'reference-server/src/bin.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-widgets-'));
const secret = 'widgets-test-secret';
// The server's own JWT library, to sign tokens for a secret the server does not have yet.
const jwt = createRequire(join(root, 'reference-server/package.json'))('jsonwebtoken');

let child = null;
let url = null;
// The secret the running server verifies with, for the host's token endpoint below.
let currentSecret = secret;

// A host's token endpoint, as examples/vanilla's `/chat-token`: who is signed in comes from a session
// cookie, and the answer is a fresh token for them (401 without a session). It is another origin than
// the test page (another port), so the cookie travels only with `credentials: 'include'`.
const sessions = new Map();
const tokenRequests = [];
const tokenServer = createServer((req, res) => {
  const origin = req.headers.origin;
  if (origin) res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-allow-credentials', 'true');
  const session = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? null;
  tokenRequests.push(session);
  const claims = session && sessions.get(session);
  if (!claims) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('no session');
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
  res.end(jwt.sign(claims, currentSecret, { algorithm: 'HS256', expiresIn: '15m' }));
});

// The strict server allows one origin that is not the test page's (explicit origins win over --dev's any).
const strictDataDir = mkdtempSync(join(tmpdir(), 'motoreach-widgets-strict-'));
let strict = null;

function startServer(port = 0, extraArgs = [], jwtSecret = secret, dir = dataDir) {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', bin, '--port', String(port), '--host', '127.0.0.1', '--data-dir', dir, '--jwt-secret', jwtSecret, '--dev', '--http-rate-limit', '1000000', '--shutdown-drain-ms', '0', ...extraArgs],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line);
          if (entry.msg === 'listening' && entry.url) {
            proc.stdout.off('data', onData);
            proc.stdout.resume();
            resolve({ proc, url: entry.url });
            return;
          }
        } catch {
          // not a log line
        }
      }
    };
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`reference server exited with ${code} before listening`)));
  });
}

function stopServer() {
  const proc = child;
  child = null;
  if (!proc || proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

const port = () => Number(new URL(url).port);
const cdpSessions = {};

const serverPlugin = {
  name: 'motoreach-server',
  async serverStart() {
    const started = await startServer(0);
    child = started.proc;
    url = started.url;
    await new Promise((r) => tokenServer.listen(0, '127.0.0.1', r));
  },
  async serverStop() {
    await stopServer();
    await new Promise((r) => tokenServer.close(r));
    if (strict && strict.proc.exitCode === null) await new Promise((r) => (strict.proc.once('exit', r), strict.proc.kill('SIGTERM')));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(strictDataDir, { recursive: true, force: true });
  },
  async executeCommand({ command, payload, session }) {
    if (command === 'server-url') return url;
    // A DevTools Protocol call on the test's page, for what the page cannot do to itself: a touch
    // screen (pointer: coarse), a phone's safe areas. The CDP session stays, or its overrides would go.
    if (command === 'cdp') {
      const page = session.browser.getPage(session.id);
      const cdp = (cdpSessions[session.id] ??= await page.createCDPSession());
      await cdp.send(payload.method, payload.params);
      return true;
    }
    if (command === 'strict-server-url') {
      strict ??= await startServer(0, ['--allowed-origins', 'https://shop.example'], secret, strictDataDir);
      return strict.url;
    }
    if (command === 'server-stop') {
      await stopServer();
      return true;
    }
    if (command === 'server-start') {
      await stopServer();
      const args = payload && payload.maxBodyChars ? ['--max-body-chars', String(payload.maxBodyChars)] : [];
      currentSecret = payload?.jwtSecret ?? secret;
      const started = await startServer(port(), args, currentSecret);
      child = started.proc;
      return true;
    }
    // The token endpoint: its port (the page puts its own host name in front, so that its cookies
    // go there), who a session is, and the sessions it was asked for.
    if (command === 'token-port') return tokenServer.address().port;
    if (command === 'session') return void sessions.set(payload.session, payload.claims) ?? true;
    if (command === 'token-requests') return tokenRequests.splice(0);
    if (command === 'sign-token') return jwt.sign(payload.claims, payload.secret, { algorithm: 'HS256', expiresIn: '1h' });
    // A call of the host's backend (contract v1.2), made from here as a backend makes it (the server's
    // CORS rules are for pages): a service token for the secret the server has now.
    if (command === 'as-service') {
      const token = jwt.sign({ sub: 'host-backend', role: 'service' }, currentSecret, { algorithm: 'HS256', expiresIn: '1h' });
      const res = await fetch(url + payload.path, {
        method: payload.method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: payload.body && JSON.stringify(payload.body),
      });
      return { status: res.status, body: await res.text() };
    }
    return undefined;
  },
};

// The SDK is served from its TypeScript source, so the tests never run against a stale build.
const sdkFromSource = {
  name: 'sdk-from-source',
  resolveImport({ source }) {
    if (source === '@motoreach/chat-client') return '/packages/chat-client/src/index.ts';
    return undefined;
  },
};

const chromiumArgs = [
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default {
  rootDir: root,
  files: ['src/**/*.test.ts'],
  nodeResolve: { exportConditions: ['browser', 'development'] },
  concurrency: 1,
  concurrentBrowsers: 1,
  testsFinishTimeout: 180_000,
  testFramework: { config: { timeout: 20_000 } },
  browsers: [chromeLauncher({ launchOptions: { executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs } })],
  plugins: [
    sdkFromSource,
    esbuildPlugin({ ts: true, tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)), target: 'es2022' }),
    serverPlugin,
  ],
};
