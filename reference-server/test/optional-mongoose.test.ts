// mongoose is an optional peer: without it, SQLite works and MONGODB_URI stops the server with a
// message that says what to install (exit 2, like any configuration error).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const root = fileURLToPath(new URL('..', import.meta.url));
const withoutMongoose = fileURLToPath(new URL('./fixtures/without-mongoose.mjs', import.meta.url));

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-optional-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', '--import', withoutMongoose, 'src/bin.ts', '--dev'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.includes('"msg":"listening"')) proc.kill('SIGTERM');
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    proc.once('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    }),
  );
}

test('without mongoose installed, MONGODB_URI stops the server with what to install', async () => {
  const { code, stderr } = await run({ MONGODB_URI: 'mongodb://127.0.0.1:1/chat' });
  assert.equal(code, 2);
  assert.equal(
    stderr,
    'motoreach-reference-server: MONGODB_URI is set but the MongoDB driver is not installed: run `npm install mongoose@^9` next to @motoreach/reference-server\n',
  );
});

test('without mongoose installed, the SQLite server starts and stops cleanly', async () => {
  const { code, stdout } = await run({});
  assert.equal(code, 0);
  assert.match(stdout, /"msg":"listening"/);
});
