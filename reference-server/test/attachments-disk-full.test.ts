import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { createRoom, owner, startTestServer, tempDir, unique } from './helpers/harness.js';
import { upload } from './helpers/attachments.js';

/**
 * DATA_DIR on a small tmpfs, filled up: an upload that cannot be written is `unavailable` (503, a
 * transient error the client retries), leaves no file behind, and the same client_id is stored once
 * space is back.
 */
test('a full disk: an upload is 503 unavailable and leaves nothing; the retry stores it once space is back', async (t) => {
  const base = tempDir();
  const disk = join(base, 'disk');
  mkdirSync(disk);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    rmSync(base, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.trim() || `exit ${mounted.status}`}`);
    return;
  }
  const server = await startTestServer({ dataDir: join(disk, 'data') });
  t.after(async () => {
    await server.close();
    spawnSync('umount', [disk]);
    rmSync(base, { recursive: true, force: true });
  });
  const ana = owner(unique('u'));
  const room = await createRoom(server.url, ana);
  // Noise: about 1 MB as a PNG, whatever sharp does to it.
  const photo = await sharp(randomBytes(600 * 600 * 3), { raw: { width: 600, height: 600, channels: 3 } }).png().toBuffer();

  const filler = join(disk, 'filler');
  const { bsize, bavail } = statfsSync(disk);
  writeFileSync(filler, Buffer.alloc(Math.max(0, bsize * bavail - 64 * 1024)));
  const refused = await upload(server.url, room.id, ana, photo, { name: 'noise.png', clientId: 'up-full' });
  assert.deepEqual([refused.status, refused.body.error.code], [503, 'unavailable']);
  assert.deepEqual(readdirSync(join(disk, 'data', 'attachments')), []);

  unlinkSync(filler);
  const stored = await upload(server.url, room.id, ana, photo, { name: 'noise.png', clientId: 'up-full' });
  assert.equal(stored.status, 201);
  const again = await upload(server.url, room.id, ana, photo, { name: 'noise.png', clientId: 'up-full' });
  assert.deepEqual([again.status, again.body.attachment.id], [200, stored.body.attachment.id]);
  assert.deepEqual(readdirSync(join(disk, 'data', 'attachments')).sort(), [stored.body.attachment.id, `${stored.body.attachment.id}.thumb`]);
});
