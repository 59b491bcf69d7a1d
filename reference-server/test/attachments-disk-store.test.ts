import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ATTACHMENTS_DIR, DiskAttachmentStore } from '../src/attachments/disk-store.js';
import type { StoredAttachment } from '../src/attachments/store.js';
import { tempDir } from './helpers/harness.js';

const record = (id: string): StoredAttachment => ({
  id,
  request_id: 'sr-1',
  uploader_side: 'user',
  uploader_id: 'u-1',
  client_id: null,
  kind: 'file',
  name: 'quote.pdf',
  content_type: 'application/pdf',
  size: 4,
  width: null,
  height: null,
  thumbnail: false,
  created_at: new Date().toISOString(),
  claim: null,
});

/** What a crash between a file's rename and its record's insert leaves, and one mid-write. */
function plantLeftovers(dir: string): void {
  writeFileSync(join(dir, 'a_orphan'), 'left by a crash');
  writeFileSync(join(dir, 'a_half.tmp'), 'cut short');
}

test('a start after a crash removes its leftovers; a start after a clean close does not list the files', async () => {
  const dataDir = tempDir();
  const dir = join(dataDir, ATTACHMENTS_DIR);
  const crashed = await DiskAttachmentStore.open(dataDir);
  await crashed.put(record('a_kept'), Buffer.from('%PDF'), null);
  // Never closed: as after kill -9.
  plantLeftovers(dir);
  const afterCrash = await DiskAttachmentStore.open(dataDir);
  assert.deepEqual(readdirSync(dir).sort(), ['a_kept']);
  await afterCrash.close();
  assert.ok(existsSync(join(dir, '.closed-cleanly')));
  // Files that appear while the server is stopped are no crash's: after a clean close nothing is listed.
  plantLeftovers(dir);
  const afterClose = await DiskAttachmentStore.open(dataDir);
  assert.deepEqual(readdirSync(dir).sort(), ['a_half.tmp', 'a_kept', 'a_orphan']);
  // The mark is gone as soon as the store is open: a crash from here on is seen at the next start.
  plantLeftovers(dir);
  const afterSecondCrash = await DiskAttachmentStore.open(dataDir);
  assert.deepEqual(readdirSync(dir).sort(), ['a_kept']);
  await Promise.all([crashed.close(), afterClose.close(), afterSecondCrash.close()]);
});
