// The built ESM (dist/, made by rollup) in real Chromium against the real reference server,
// started here as a child process in development mode (any origin may connect). A second one,
// started when a test asks, allows one other origin only: the test page's is refused.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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
// Origins the strict server refused, from its log.
const refusedOrigins = [];

function start(dir, flags) {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'reference-server/src/bin.ts'), '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--jwt-secret', secret, ...flags],
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
  async executeCommand({ command, payload }) {
    if (command === 'server-url') return server.url;
    if (command === 'strict-server-url') return (strict ??= await start(strictDataDir, ['--allowed-origins', 'https://shop.example'])).url;
    if (command === 'refused-origins') return refusedOrigins;
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
