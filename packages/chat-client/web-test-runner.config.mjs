// The built ESM (dist/, made by rollup) in real Chromium against the real reference server,
// started here as a child process in development mode (any origin may connect). A second one,
// started when a test asks, allows one other origin only: the test page's is refused.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromeLauncher } from '@web/test-runner-chrome';
import { esbuildPlugin } from '@web/dev-server-esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
const secret = 'chat-client-browser-secret-0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'chat-client-browser-'));
const strictDataDir = mkdtempSync(join(tmpdir(), 'chat-client-browser-strict-'));
let server = null;
let strict = null;
// Origins the strict server refused on its WebSocket paths, and how many REST preflights it refused, from its log.
const refusedOrigins = [];
let refusedPreflights = 0;
// What each test page printed to its console, from when the test asked ('console-start').
const consoles = new Map();

function start(dir, flags) {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'reference-server/src/bin.ts'), '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--jwt-secret', secret, '--shutdown-drain-ms', '0', ...flags],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let partial = '';
    let listening = false;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (!listening && line.includes('"msg":"listening"')) {
          listening = true;
          resolve({ proc, url: JSON.parse(line).url });
        } else if (line.includes('"msg":"websocket origin refused"')) refusedOrigins.push(JSON.parse(line).origin);
        else if (line.includes('"method":"OPTIONS"') && line.includes('"status":403')) refusedPreflights += 1;
      }
    });
    proc.once('exit', (code) => reject(new Error(`reference server exited with ${code} before listening`)));
  });
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function token(claims) {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/**
 * Collects the page's console as DevTools shows it, over the Chrome DevTools Protocol: the page's
 * own console calls and exceptions, and the browser's messages (a failed WebSocket or fetch prints its URL).
 */
async function startConsole(session) {
  const cdp = await session.browser.getPage(session.id).createCDPSession();
  const lines = [];
  consoles.set(session.id, lines);
  cdp.on('Log.entryAdded', ({ entry }) => lines.push(`${entry.source} ${entry.level}: ${entry.text} ${entry.url ?? ''}`));
  cdp.on('Runtime.consoleAPICalled', ({ type, args }) => lines.push(`console.${type}: ${args.map((a) => a.value ?? a.description ?? '').join(' ')}`));
  cdp.on('Runtime.exceptionThrown', ({ exceptionDetails }) => lines.push(`exception: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`));
  await cdp.send('Log.enable');
  await cdp.send('Runtime.enable');
  return true;
}

/** A URL where nothing listens: a port bound and released at once. */
async function unusedUrl() {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return `http://127.0.0.1:${port}`;
}

const serverPlugin = {
  name: 'chat-client-server',
  async serverStart() {
    server = await start(dataDir, ['--dev']);
  },
  async serverStop() {
    for (const s of [server, strict]) {
      if (s && s.proc.exitCode === null) {
        await new Promise((r) => {
          s.proc.once('exit', r);
          s.proc.kill('SIGTERM');
        });
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(strictDataDir, { recursive: true, force: true });
  },
  async executeCommand({ command, payload, session }) {
    if (command === 'server-url') return server.url;
    if (command === 'strict-server-url') return (strict ??= await start(strictDataDir, ['--allowed-origins', 'https://shop.example'])).url;
    if (command === 'refused-origins') return refusedOrigins;
    if (command === 'refused-preflights') return refusedPreflights;
    if (command === 'console-start') return startConsole(session);
    if (command === 'unused-url') return unusedUrl();
    if (command === 'console-lines') return consoles.get(session.id) ?? [];
    if (command === 'token') return token(payload);
    return undefined;
  },
};

export default {
  rootDir: root,
  files: ['test/browser/*.test.ts'],
  nodeResolve: { exportConditions: ['browser'] },
  concurrency: 1,
  testFramework: { config: { timeout: 20_000 } },
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      },
    }),
  ],
  plugins: [esbuildPlugin({ ts: true, target: 'es2022' }), serverPlugin],
};
