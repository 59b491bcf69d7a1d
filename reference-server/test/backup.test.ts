import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../src/config.js';
import { backupCommand } from '../src/store/backup.js';
import { api, createRoom, eventually, owner, SECRET, spawnServer, tempDir } from './helpers/harness.js';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

function runBackup(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const { MONGODB_URI: _inherited, DATA_DIR: _dir, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'backup', ...args], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('backup', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = tempDir();
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a backup taken while the server writes, restored into a fresh DATA_DIR, holds every message acknowledged before it began', async () => {
    const dir = dataDir();
    const args = (d: string) => ['--port', '0', '--host', '127.0.0.1', '--data-dir', d, '--jwt-secret', SECRET, '--http-rate-limit', '0'];
    const server = await spawnServer(args(dir));
    const ana = owner();
    const room = await createRoom(server.url, ana);
    const acked: Array<{ seq: number; id: string; body: string }> = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const sent = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: `m${i}`, client_id: `c${i}` });
        assert.equal(sent.status, 201);
        acked.push({ seq: sent.body.message.seq, id: sent.body.message.id, body: sent.body.message.body });
      }
    })();
    await eventually(() => acked.length >= 20, 'the first messages stored');

    const file = join(dataDir(), 'chat.backup.sqlite3');
    const ackedBefore = acked.slice();
    const backup = await runBackup([file, '--data-dir', dir]);
    const ackedDuring = acked.length - ackedBefore.length;
    writing = false;
    await writer;
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null });

    assert.equal(backup.code, 0, backup.output);
    assert.equal(backup.output, `motoreach-reference-server: backed up ${dir} to ${file} (${/\((\d+) bytes\)/.exec(backup.output)?.[1]} bytes)\n`);
    assert.ok(ackedDuring > 0, 'the server went on writing while the backup ran');
    assert.equal(existsSync(`${file}.partial`), false);

    const restored = dataDir();
    copyFileSync(file, join(restored, 'motoreach-chat.sqlite3'));
    const second = await spawnServer(args(restored));
    try {
      const stored: Array<{ seq: number; id: string; body: string }> = [];
      for (let afterSeq = 0; ; ) {
        const page = await api(second.url, 'GET', `/api/service-requests/${room.id}/messages/?after=${afterSeq}&limit=100`, ana);
        assert.equal(page.status, 200);
        stored.push(...page.body.messages.map((m: any) => ({ seq: m.seq, id: m.id, body: m.body })));
        if (!page.body.has_more) break;
        afterSeq = stored.at(-1)!.seq;
      }
      // A consistent copy: a prefix of the room, without gaps, holding at least everything acknowledged before.
      assert.deepEqual(stored.slice(0, ackedBefore.length), ackedBefore);
      assert.deepEqual(stored, acked.slice(0, stored.length));
      // The restored server takes new messages after the last one it holds.
      const next = await api(second.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'after the restore' });
      assert.equal(next.body.message.seq, stored.length + 1);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  test('without a file, on MongoDB, or without a database, it says how (exit 2)', async () => {
    const usage = 'Usage: motoreach-reference-server backup <file> [--data-dir DIR]  (or DATA_DIR; SQLite only)';
    await assert.rejects(backupCommand([], {}), new ConfigError(usage));
    await assert.rejects(backupCommand(['a', 'b'], {}), new ConfigError(usage));
    await assert.rejects(
      backupCommand(['x.sqlite3'], { MONGODB_URI: 'mongodb://127.0.0.1:1/chat?replicaSet=rs0' }),
      new ConfigError('MONGODB_URI is set: back MongoDB up with mongodump or snapshots of the replica set (see docs/reference-server.md, Backups)'),
    );
    const empty = dataDir();
    await assert.rejects(
      backupCommand([join(empty, 'b.sqlite3')], { DATA_DIR: empty }),
      new ConfigError(`DATA_DIR ${empty} holds no database (${join(empty, 'motoreach-chat.sqlite3')} does not exist)`),
    );
  });
});
