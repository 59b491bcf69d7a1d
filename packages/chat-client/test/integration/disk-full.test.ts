import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ChatClient, ChatMessage } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, removeDir, type ServerProcess, spawnServer, storedMessages, unhandled, waitFor } from '../helpers.js';

const TOTAL = 1500;
const BEFORE_FULL = 100;

const mountPoint = mkdtempSync(join(tmpdir(), 'chat-client-disk-'));
let skip: string | false = false;
try {
  // Room for the WAL the retried backlog writes once space is back (it is checkpointed past 1 MiB,
  // but a burst runs ahead of the checkpoint): with less, the WAL can take every freed byte again
  // before its checkpoint, and then no checkpoint can grow the database file (see docs/reference-server.md).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], { stdio: 'pipe' });
} catch (e) {
  skip = `a tmpfs cannot be mounted here (${String((e as Error).message).split('\n')[0]}); run as root to test a full disk`;
}
if (skip) console.log(`# skipped the full-disk test: ${skip}`);

const clients: ChatClient[] = [];
let server: ServerProcess | undefined;
after(async () => {
  for (const c of clients) c.close();
  await server?.kill();
  if (!skip) execFileSync('umount', [mountPoint]);
  removeDir(mountPoint);
  assert.deepEqual(unhandled, []);
});

// Writes zeros until the file system refuses: what is left for the server is nothing.
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

test('the data disk fills mid-conversation, then space returns: every message is stored once, in order, and the room stays live', { skip }, async () => {
  server = await spawnServer({ dataDir: join(mountPoint, 'data'), env: { WS_RATE_LIMIT: '0', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });
  const make = (claims: typeof OWNER) => {
    const c = client(server!.url, mintToken(claims), { reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
    clients.push(c);
    return c;
  };
  const id = (await make(OWNER).createRoom({ workshop_id: 'w-1', title: 'Gearbox' })).id;
  const ana = make(OWNER).room(id);
  const bo = make(ADMIN).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  const failed: ChatMessage[] = [];
  ana.on('change', (e) => failed.push(...e.messages.filter((m) => m.state === 'failed' && !failed.includes(m))));

  const bodies = Array.from({ length: TOTAL }, (_, i) => `message ${i}`);
  const sent: Array<Promise<ChatMessage>> = bodies.slice(0, BEFORE_FULL).map((b) => ana.send(b));
  await Promise.all(sent);

  const filler = join(mountPoint, 'filler');
  fill(filler);
  sent.push(...bodies.slice(BEFORE_FULL).map((b) => ana.send(b)));
  // The disk is full for as long as the server keeps refusing: messages wait in the outbox, not failed.
  await server.waitForLog((line) => line.includes('"code":"unavailable"') || line.includes('storage unavailable'), 'the server reports the full disk');
  assert.ok(ana.outboxSize > 0, `messages wait in the outbox (${ana.outboxSize})`);
  assert.deepEqual(failed, []);
  // Reads keep working while writes cannot.
  assert.equal((await storedMessages(server.url, id)).length >= BEFORE_FULL, true);

  rmSync(filler);
  const stored = await Promise.all(sent);
  assert.deepEqual(stored.map((m) => m.body), bodies);
  // A message refused while a later one of the same burst found room is stored after it: the
  // order of the refused ones may change, nothing else. Each body once, seqs without a gap.
  const sorted = (list: readonly { body: string }[]) => list.map((m) => m.body).sort();
  const onServer = await storedMessages(server.url, id);
  assert.deepEqual(sorted(onServer), [...bodies].sort());
  assert.deepEqual(onServer.map((m) => m.seq), bodies.map((_, i) => i + 1));
  assert.deepEqual(onServer.slice(0, BEFORE_FULL).map((m) => m.body), bodies.slice(0, BEFORE_FULL));
  await waitFor(() => bo.messages.length === TOTAL, `bo holds all ${TOTAL}`);
  assert.deepEqual(bo.messages.map((m) => m.seq), bodies.map((_, i) => i + 1));
  assert.deepEqual(sorted(bo.messages), [...bodies].sort());
  assert.equal(ana.outboxSize, 0);
  assert.deepEqual(failed, []);
  // Live again, by itself: one more message goes both ways.
  await bo.send('All stored');
  await waitFor(() => ana.messages.at(-1)?.body === 'All stored', 'ana receives the next message');
});
