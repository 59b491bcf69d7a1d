// Starts the demo the way `npm start` does (reference server, development mode, the demo as static
// files) on a free port with a throw-away data directory; resolves with its URL and a stop function.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** `jwtSecret`: the server's JWT_SECRET, so that a test can sign a token of the host's backend (a service's). */
export function startDemo({ jwtSecret } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-demo-'));
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'reference-server/src/bin.ts', '--dev', '--static-dir', 'examples/demo'],
    { cwd: root, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, SHUTDOWN_DRAIN_MS: '0', ...(jwtSecret && { JWT_SECRET: jwtSecret }) }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stop = () =>
    new Promise((resolve) => {
      const done = () => {
        rmSync(dataDir, { recursive: true, force: true });
        resolve();
      };
      if (proc.exitCode !== null) return done();
      proc.once('exit', done);
      proc.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let buffer = '';
    proc.stdout.setEncoding('utf8');
    const onData = (chunk) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === 'listening') {
          proc.stdout.off('data', onData);
          proc.stdout.resume();
          resolve({ url: entry.url, stop });
          return;
        }
      }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`demo server exited with ${code}`)));
  });
}

export const chromiumOptions = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
};
