import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { eventually, SECRET, tempDir } from './helpers/harness.js';
import { RedisServer, redisMissing } from './helpers/redis-server.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/stop-while-redis-down.ts', import.meta.url));

test('a server stopped while Redis is away leaves nothing behind: its process ends by itself', { skip: redisMissing }, async () => {
  const redis = await RedisServer.start();
  const dataDir = tempDir();
  const { MONGODB_URI: _inherited, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, redis.url, dataDir, SECRET], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await eventually(() => output.includes('started'), 'the server started', 20_000);
    await redis.stop();
    child.stdin.write('go\n');
    await eventually(() => output.includes('stopped'), 'close() resolved', 10_000);
    // Before, the Redis client went on reconnecting after close(): the process never ended.
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running 5 s after close()'), 5000))]);
    assert.equal(code, 0);
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
