import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { DataDirError } from '../src/store/data-dir.js';
import { api, createRoom, owner, SECRET, spawnServer, startTestServer, tempDir } from './helpers/harness.js';

/** DATA_DIR: one server at a time, and a clear one-line refusal when it cannot be used. */

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const args = (dir: string) => ['--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--jwt-secret', SECRET];

/** The CLI run to its end: a server that cannot start exits by itself. */
function runToExit(dir: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['MONGODB_URI', 'DATA_DIR'].includes(k)));
  const result = spawnSync(process.execPath, ['--import', 'tsx', BIN, ...args(dir)], { env, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('DATA_DIR', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = tempDir();
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a second server on the same DATA_DIR exits 2 with one line; after kill -9 of the first, a restart starts at once', async () => {
    const dir = dataDir();
    const first = await spawnServer(args(dir));
    let restarted: Awaited<ReturnType<typeof spawnServer>> | undefined;
    try {
      const ana = owner();
      const room = await createRoom(first.url, ana);
      const second = runToExit(dir);
      assert.equal(second.status, 2);
      assert.equal(
        second.stderr,
        `motoreach-reference-server: DATA_DIR ${dir} is in use by another server process (it holds ${join(dir, 'motoreach-chat.lock')})\n`,
      );
      // The first one is unaffected.
      assert.equal((await api(first.url, 'GET', `/api/service-requests/${room.id}/`, ana)).status, 200);

      first.child.kill('SIGKILL');
      await first.exited;
      restarted = await spawnServer(args(dir));
      assert.equal((await api(restarted.url, 'GET', `/api/service-requests/${room.id}/`, ana)).status, 200);
    } finally {
      first.child.kill('SIGKILL');
      restarted?.child.kill('SIGTERM');
      await restarted?.exited;
    }
  });

  test('in one process too: a second server on the DATA_DIR is refused until the first has closed', async () => {
    const dir = dataDir();
    const first = await startTestServer({ dataDir: dir });
    await assert.rejects(startTestServer({ dataDir: dir }), (error: unknown) => {
      assert.ok(error instanceof DataDirError);
      assert.equal(error.message, `DATA_DIR ${dir} is in use by another server process (it holds ${join(dir, 'motoreach-chat.lock')})`);
      return true;
    });
    await first.close();
    const again = await startTestServer({ dataDir: dir });
    await again.close();
  });

  test('a DATA_DIR that cannot be created, or is a file, exits 2 with one line naming it', () => {
    const parent = dataDir();
    const file = join(parent, 'a-file');
    writeFileSync(file, 'not a directory');
    const dir = join(file, 'data');
    const uncreatable = runToExit(dir);
    assert.equal(uncreatable.status, 2);
    assert.equal(uncreatable.stderr, `motoreach-reference-server: DATA_DIR ${dir} does not exist and cannot be created (ENOTDIR)\n`);
    const notADirectory = runToExit(file);
    assert.equal(notADirectory.status, 2);
    assert.equal(notADirectory.stderr, `motoreach-reference-server: DATA_DIR ${file} is not a directory\n`);
  });

  test('a read-only DATA_DIR exits 2 with one line naming it', (t) => {
    const dir = join(dataDir(), 'read-only');
    mkdirSync(dir);
    let expected: string;
    if (process.getuid?.() === 0) {
      // Root writes through file modes: only a read-only mount stops it.
      const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { encoding: 'utf8' });
      if (mounted.status !== 0) {
        t.skip(`cannot mount a read-only tmpfs here: ${mounted.stderr.trim()}`);
        return;
      }
      t.after(() => spawnSync('umount', [dir]));
      expected = 'EROFS';
    } else {
      spawnSync('chmod', ['0555', dir]);
      expected = 'EACCES';
    }
    const { status, stderr } = runToExit(dir);
    assert.equal(status, 2);
    assert.equal(stderr, `motoreach-reference-server: DATA_DIR ${dir} is not writable (${expected})\n`);
  });
});
