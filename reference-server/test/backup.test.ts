import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../src/config.js';
import { backupCommand } from '../src/store/backup.js';
import { download, upload } from './helpers/attachments.js';
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

  test('uploads go with it: records and files beside the copy, and the restored server serves them as before', async () => {
    const dir = dataDir();
    const args = (d: string) => ['--port', '0', '--host', '127.0.0.1', '--data-dir', d, '--jwt-secret', SECRET];
    const server = await spawnServer(args(dir));
    const ana = owner();
    const room = await createRoom(server.url, ana);
    const photo = await upload(server.url, room.id, ana, readFileSync(fileURLToPath(new URL('./fixtures/gps-rotated.jpg', import.meta.url))), {
      type: 'image/jpeg',
      name: 'scratch.jpg',
    });
    assert.equal(photo.status, 201);
    const pdf = await upload(server.url, room.id, ana, Buffer.from('%PDF-1.4\n%%EOF\n'), { type: 'application/pdf', name: 'quote.pdf' });
    assert.equal(pdf.status, 201);
    const sent = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, {
      body: 'the scratch, and the quote',
      attachments: [photo.body.attachment.id, pdf.body.attachment.id],
    });
    assert.equal(sent.status, 201);
    const served = async (base: string) => {
      const [message] = (await api(base, 'GET', `/api/service-requests/${room.id}/messages/`, ana)).body.messages;
      return Promise.all(
        message.attachments.flatMap((a: { url: string; thumbnail_url?: string }) => [a.url, ...(a.thumbnail_url ? [a.thumbnail_url] : [])]).map(async (url: string) => {
          const { status, bytes } = await download(base, url);
          return [status, bytes.toString('base64')];
        }),
      );
    };
    const before = await served(server.url);
    assert.deepEqual(before.map(([status]) => status), [200, 200, 200], 'the photo, its thumbnail and the PDF');

    const file = join(dataDir(), 'chat.backup.sqlite3');
    const backup = await runBackup([file, '--data-dir', dir]);
    server.child.kill('SIGTERM');
    await server.exited;
    assert.equal(backup.code, 0, backup.output);
    assert.match(backup.output, /, and 2 attachments beside it \(.*chat\.backup\.sqlite3\.attachments\.sqlite3, .*chat\.backup\.sqlite3\.attachments\/\)\n$/);

    const restored = dataDir();
    copyFileSync(file, join(restored, 'motoreach-chat.sqlite3'));
    copyFileSync(`${file}.attachments.sqlite3`, join(restored, 'attachments.sqlite3'));
    cpSync(`${file}.attachments`, join(restored, 'attachments'), { recursive: true });
    const second = await spawnServer(args(restored));
    try {
      assert.deepEqual(await served(second.url), before);
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
