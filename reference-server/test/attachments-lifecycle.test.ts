import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { Attachments } from '../src/attachments/attachments.js';
import { AttachmentUrls } from '../src/attachments/urls.js';
import type { AttachmentStore } from '../src/attachments/store.js';
import { DEFAULT_LIMITS } from '../src/config.js';
import {
  admin,
  api,
  createRoom,
  owner,
  SECRET,
  spawnServer,
  startTestServer,
  suiteServer,
  tempDir,
  token,
  unique,
  type ServerProcess,
} from './helpers/harness.js';
import { download, rawUpload, storedFileCount, upload } from './helpers/attachments.js';
import { dbNameFor, dropTestDatabase, storeArgs, testMongoUri, testStoreKind } from './helpers/test-store.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

const service = (id = 'host-backend') => token({ sub: id, role: 'service' });
const png = (width: number, height: number, g = 120) =>
  sharp({ create: { width, height, channels: 3, background: { r: 10, g, b: 30 } } }).png().toBuffer();

describe('attachments: erasure, export and budgets', () => {
  const server = suiteServer({ limits: { attachmentUploadsPerHour: 3, attachmentBytesPerDay: 0 } });

  test('erasing a person removes their files (404 from then on); the export listed them before', async () => {
    const anaId = unique('u');
    const ana = owner(anaId);
    const room = await createRoom(server.url, ana);
    const sent = (await upload(server.url, room.id, ana, await png(20, 20), { name: 'sent.png' })).body.attachment;
    const unsent = (await upload(server.url, room.id, ana, await png(21, 21), { name: 'unsent.png' })).body.attachment;
    const res = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'look', attachments: [sent.id] });
    assert.equal(res.status, 201);

    const exported = await api(server.url, 'GET', `/api/users/${anaId}/export/`, service());
    assert.deepEqual(
      exported.body.attachments.map((a: any) => [a.id, a.name, a.request_id, a.used]),
      [
        [sent.id, 'sent.png', room.id, true],
        [unsent.id, 'unsent.png', room.id, false],
      ],
    );
    assert.equal(exported.body.messages[0].attachments[0].id, sent.id);
    assert.equal((await download(server.url, exported.body.attachments[0].url)).status, 200);

    const erased = await api(server.url, 'DELETE', `/api/users/${anaId}/messages/`, service());
    assert.deepEqual(erased.body, { redacted: 1 });
    for (const url of [sent.url, sent.thumbnail_url, unsent.url]) assert.equal((await download(server.url, url)).status, 404);
    const history = await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, admin());
    assert.equal(history.body.messages[0].attachments, undefined);
    assert.equal(history.body.messages[0].redacted, true);
    const after = await api(server.url, 'GET', `/api/users/${anaId}/export/`, service());
    assert.deepEqual(after.body.attachments, []);
  });

  test('uploads per hour: the one over the limit is 429 with Retry-After, and its body is not stored', async () => {
    const ana = owner(unique('u'));
    const room = await createRoom(server.url, ana);
    const bytes = await png(10, 10);
    for (let i = 0; i < 3; i++) assert.equal((await upload(server.url, room.id, ana, bytes)).status, 201);
    const refused = await upload(server.url, room.id, ana, bytes);
    assert.deepEqual([refused.status, refused.body.error.code], [429, 'rate_limited']);
    // Another person's budget is their own.
    assert.equal((await upload(server.url, room.id, admin(unique('a')), bytes)).status, 201);
  });
});

describe('attachments: the daily byte budget', () => {
  const server = suiteServer({ limits: { attachmentBytesPerDay: 40_000 } });

  test('a person past their bytes for the day is refused with 429; what was stored counts', async () => {
    const ana = owner(unique('u'));
    const room = await createRoom(server.url, ana);
    // Noise does not compress: each PNG stays over 10 kB.
    const noisy = await sharp(randomBytes(80 * 80 * 3), { raw: { width: 80, height: 80, channels: 3 } }).png().toBuffer();
    assert.ok(noisy.length > 10_000);
    let stored = 0;
    // Each upload is admitted while what is stored and what it declares fit the budget.
    while (stored + noisy.length <= 40_000) {
      const res = await upload(server.url, room.id, ana, noisy);
      assert.equal(res.status, 201);
      stored += res.body.attachment.size;
    }
    const refused = await upload(server.url, room.id, ana, noisy);
    assert.deepEqual([refused.status, refused.body.error.code], [429, 'rate_limited']);
    assert.match(refused.body.error.message, /daily upload budget/);
  });
});

describe('attachments: uploads no message named', () => {
  test('are removed after 24 hours; those a message named stay', async () => {
    const dataDir = tempDir();
    const server = await startTestServer({ dataDir });
    try {
      const ana = owner(unique('u'));
      const room = await createRoom(server.url, ana);
      const named = (await upload(server.url, room.id, ana, await png(12, 12))).body.attachment;
      const unnamed = (await upload(server.url, room.id, ana, await png(13, 13))).body.attachment;
      await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'x', attachments: [named.id] });
      const store = await openAttachmentStore(dataDir);
      try {
        const urls = new AttachmentUrls(Buffer.alloc(32), 60);
        const now = Date.now();
        const limits = { ...DEFAULT_LIMITS };
        assert.equal(await new Attachments(store, urls, limits, null, () => now + 23 * 3600_000).sweep(), 0);
        assert.equal(await new Attachments(store, urls, limits, null, () => now + 25 * 3600_000).sweep(), 1);
      } finally {
        await store.close();
      }
      assert.equal((await download(server.url, unnamed.url)).status, 404);
      assert.equal((await download(server.url, named.url)).status, 200);
      assert.equal(await storedFileCount(dataDir), 2);
    } finally {
      await server.stop();
    }
  });
});

/** The server's attachment storage, opened beside it (SQLite in WAL mode and GridFS both allow a second user). */
async function openAttachmentStore(dataDir: string): Promise<AttachmentStore> {
  if (testStoreKind === 'sqlite') {
    const { DiskAttachmentStore } = await import('../src/attachments/disk-store.js');
    return DiskAttachmentStore.open(dataDir);
  }
  const { GridFsAttachmentStore } = await import('../src/attachments/gridfs-store.js');
  return GridFsAttachmentStore.connect(testMongoUri(), dbNameFor(dataDir));
}

describe('attachments: webhooks', () => {
  const { receiver, server } = WebhookReceiver.suite();

  test('message.created carries the attachments as history does, with working signed URLs', async () => {
    const ana = owner(unique('u'));
    const room = await createRoom(server.url, ana);
    const a = (await upload(server.url, room.id, ana, await png(30, 20), { name: 'leak.png' })).body.attachment;
    assert.equal((await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: '', attachments: [a.id] })).status, 201);
    await receiver.until(() => receiver.acceptedFor(room.id).length === 2, 'room.created and message.created');
    const event = receiver.acceptedFor(room.id)[1] as any;
    const history = (await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, ana)).body.messages;
    const strip = (list: any[]) => list.map(({ url: _u, thumbnail_url: _t, ...rest }) => rest);
    assert.deepEqual(strip(event.data.message.attachments), strip(history[0].attachments));
    assert.deepEqual(strip(event.data.message.attachments), [
      { id: a.id, kind: 'image', name: 'leak.png', content_type: 'image/png', size: a.size, width: 30, height: 20 },
    ]);
    assert.equal((await download(server.url, event.data.message.attachments[0].url)).status, 200);
  });
});

describe('attachments: kill -9 of the server mid-upload', () => {
  test('a retry with the same client_id after the restart stores one file, and the send one message', async () => {
    const dataDir = tempDir();
    const args = (port = 0) => ['--port', String(port), '--host', '127.0.0.1', ...storeArgs(dataDir), '--jwt-secret', SECRET];
    let proc: ServerProcess | null = await spawnServer(args());
    try {
      const ana = owner(unique('u'));
      const room = await createRoom(proc.url, ana);
      const photo = await png(400, 300);
      const path = `/api/service-requests/${room.id}/attachments/?name=dent.png&client_id=up-kill`;
      const up = rawUpload(proc.url, path, { authorization: `Bearer ${ana}`, 'content-type': 'image/png', 'content-length': String(photo.length) });
      assert.ok(await up.write(photo.subarray(0, photo.length >> 1)));
      proc.child.kill('SIGKILL');
      await proc.exited;
      await assert.rejects(up.response);
      proc = await spawnServer(args());
      const first = await upload(proc.url, room.id, ana, photo, { name: 'dent.png', clientId: 'up-kill' });
      const again = await upload(proc.url, room.id, ana, photo, { name: 'dent.png', clientId: 'up-kill' });
      assert.deepEqual([first.status, again.status], [201, 200]);
      assert.equal(again.body.attachment.id, first.body.attachment.id);
      const send = () =>
        api(proc!.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, {
          body: 'the dent',
          client_id: 'm-kill',
          attachments: [first.body.attachment.id],
        });
      assert.deepEqual([(await send()).status, (await send()).status], [201, 200]);
      const history = await api(proc.url, 'GET', `/api/service-requests/${room.id}/messages/`, ana);
      assert.deepEqual(
        history.body.messages.map((m: any) => [m.client_id, m.attachments.map((a: any) => a.id)]),
        [['m-kill', [first.body.attachment.id]]],
      );
      // The photo and its thumbnail, once.
      assert.equal(await storedFileCount(dataDir), 2);
    } finally {
      proc?.child.kill('SIGKILL');
      await proc?.exited;
      await dropTestDatabase(dataDir);
    }
  });
});
