// The built ESM (dist/, made by rollup) in real Chromium against the real reference server,
// started here as a child process in development mode (any origin may connect).
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
let server = null;

function start() {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'reference-server/src/bin.ts'), '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--jwt-secret', secret, '--dev'],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const onData = (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (!line) return;
      proc.stdout.off('data', onData);
      proc.stdout.resume();
      resolve({ proc, url: JSON.parse(line).url });
    };
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', onData);
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
    server = await start();
  },
  async serverStop() {
    if (server && server.proc.exitCode === null) {
      await new Promise((r) => {
        server.proc.once('exit', r);
        server.proc.kill('SIGTERM');
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
  },
  executeCommand({ command, payload }) {
    if (command === 'server-url') return server.url;
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
