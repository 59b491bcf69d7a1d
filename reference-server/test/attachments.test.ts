import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { AttachmentUrls, urlKey } from '../src/attachments/urls.js';
import { admin, api, createRoom, owner, SECRET, socketTracker, suiteServer, TestSocket, token, unique } from './helpers/harness.js';
import { download, exifSegment, hasGps, rawUpload, storedFileCount, upload } from './helpers/attachments.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
/** 40×20 pixels, EXIF orientation 6 (turn 90° clockwise), GPS of the Eiffel tower (made with exiftool). */
const GPS_PHOTO = fixture('gps-rotated.jpg');
const service = (id = 'host-backend') => token({ sub: id, role: 'service' });

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 120, b: 30 } } }).png().toBuffer();
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

describe('attachments: uploads (contract v1.2)', () => {
  const sockets = socketTracker();
  const server = suiteServer({}, sockets);
  let room: { id: string };
  let ana: string;
  const bo = admin();

  before(async () => {
    ana = owner(unique('u'));
    room = await createRoom(server.url, ana);
  });

  test('a photo is served without its EXIF and GPS, turned upright, with a thumbnail of at most 320 px', async () => {
    assert.ok(hasGps(exifSegment(GPS_PHOTO)), 'the fixture carries GPS');
    const res = await upload(server.url, room.id, ana, GPS_PHOTO, { type: 'image/jpeg', name: 'scratch.jpg' });
    assert.equal(res.status, 201);
    const a = res.body.attachment;
    assert.match(a.id, /^a_/);
    assert.deepEqual(
      { kind: a.kind, name: a.name, content_type: a.content_type, width: a.width, height: a.height },
      { kind: 'image', name: 'scratch.jpg', content_type: 'image/jpeg', width: 20, height: 40 },
    );
    const photo = await download(server.url, a.url);
    assert.equal(photo.status, 200);
    assert.equal(photo.headers.get('content-type'), 'image/jpeg');
    assert.equal(photo.bytes.length, a.size);
    assert.equal(exifSegment(photo.bytes), null);
    const meta = await sharp(photo.bytes).metadata();
    assert.deepEqual([meta.width, meta.height, meta.exif, meta.orientation], [20, 40, undefined, undefined]);
    const thumb = await download(server.url, a.thumbnail_url);
    assert.equal(thumb.status, 200);
    assert.equal(exifSegment(thumb.bytes), null);
    assert.equal((await sharp(thumb.bytes).metadata()).exif, undefined);
  });

  test('a big photo gets a 320 px thumbnail; a PNG stays a PNG', async () => {
    const res = await upload(server.url, room.id, ana, await png(1000, 500), { name: 'dash.png' });
    assert.equal(res.status, 201);
    const thumb = await download(server.url, res.body.attachment.thumbnail_url);
    const meta = await sharp(thumb.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 320, 160]);
  });

  test('an iPhone HEIC photo is converted to JPEG', async () => {
    const res = await upload(server.url, room.id, ana, fixture('photo.heic'), { type: 'image/heic', name: 'IMG_0001.HEIC' });
    assert.equal(res.status, 201);
    const a = res.body.attachment;
    assert.deepEqual([a.content_type, a.name, a.width, a.height], ['image/jpeg', 'IMG_0001.jpg', 64, 48]);
    const photo = await download(server.url, a.url);
    assert.equal((await sharp(photo.bytes).metadata()).format, 'jpeg');
  });

  test('a 12 MP HEIC photo is decoded beside the event loop, which keeps running meanwhile', async () => {
    // 7.8 KB of one colour, 4032×3024: heic-convert takes seconds over it, on the thread that calls it.
    const heic = fixture('flat-12mp.heic');
    let longestGap = 0;
    let last = performance.now();
    const ticking = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    const res = await upload(server.url, room.id, ana, heic, { type: 'image/heic', name: 'IMG_0002.HEIC' });
    const took = performance.now() - started;
    clearInterval(ticking);
    assert.equal(res.status, 201);
    assert.deepEqual([res.body.attachment.content_type, res.body.attachment.width, res.body.attachment.height], ['image/jpeg', 4032, 3024]);
    // Decoded on this thread, the upload would be one long gap of this process's timers.
    assert.ok(longestGap < took / 4, `the event loop stood still for ${Math.round(longestGap)} ms of the upload's ${Math.round(took)} ms`);
  });

  test('a HEIC declaring 72 megapixels is refused as invalid from its header, never decoded', async () => {
    const before = await storedFileCount(server.dataDir);
    const res = await upload(server.url, room.id, ana, fixture('flat-72mp.heic'), { type: 'image/heic', name: 'bomb.heic' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid');
    assert.match(res.body.error.message, /72000000 pixels, over the limit of 67108864/);
    assert.equal(await storedFileCount(server.dataDir), before);
  });

  test('a PDF is a file: served as a download, never sniffed', async () => {
    const res = await upload(server.url, room.id, bo, PDF, { type: 'application/pdf', name: 'Quote ünd 1.pdf' });
    assert.equal(res.status, 201);
    const a = res.body.attachment;
    assert.deepEqual([a.kind, a.content_type, a.size, a.thumbnail_url], ['file', 'application/pdf', PDF.length, undefined]);
    const file = await download(server.url, a.url);
    assert.equal(file.status, 200);
    assert.deepEqual(file.bytes, PDF);
    assert.equal(file.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(file.headers.get('content-disposition'), `attachment; filename="Quote _nd 1.pdf"; filename*=UTF-8''Quote%20%C3%BCnd%201.pdf`);
    assert.match(file.headers.get('content-security-policy') ?? '', /sandbox/);
  });

  test('an HTML page declared image/jpeg is refused as invalid, and nothing is stored', async () => {
    const before = await storedFileCount(server.dataDir);
    const html = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
    const res = await upload(server.url, room.id, ana, html, { type: 'image/jpeg', name: 'photo.jpg' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid');
    assert.match(res.body.error.message, /not accepted: send JPEG, PNG, WebP, HEIC\/HEIF or PDF/);
    assert.equal(await storedFileCount(server.dataDir), before);
  });

  test('a big file of no accepted type is refused from its first bytes, before the rest is read', async () => {
    const total = 9 * 1024 * 1024;
    const up = rawUpload(server.url, `/api/service-requests/${room.id}/attachments/?name=page.jpg`, {
      authorization: `Bearer ${ana}`,
      'content-type': 'image/jpeg',
      'content-length': String(total),
    });
    const page = Buffer.alloc(64 * 1024, ' ');
    page.write('<!doctype html><html><body>');
    // Each write waits for the socket to take it: once the server stops reading, they stall until it cuts the connection.
    while (up.sent < total) {
      if (!(await up.write(page))) break;
    }
    const res = await up.response;
    assert.deepEqual([res.status, JSON.parse(res.body).error.code], [400, 'invalid']);
    assert.ok(up.sent < total, `the client sent all ${total} bytes: the server read them`);
    up.req.destroy();
  });

  test('strangers are refused: another owner, another workshop, no token; the room\'s admin and the host\'s service may upload', async () => {
    const bytes = await png(8, 8);
    const stranger = await upload(server.url, room.id, owner(unique('u')), bytes);
    assert.deepEqual([stranger.status, stranger.body.error.code], [403, 'forbidden']);
    const otherShop = await upload(server.url, room.id, admin('a-x', 'w-other'), bytes);
    assert.deepEqual([otherShop.status, otherShop.body.error.code], [403, 'forbidden']);
    const anonymous = await upload(server.url, room.id, null, bytes);
    assert.deepEqual([anonymous.status, anonymous.body.error.code], [401, 'unauthorized']);
    const missing = await upload(server.url, 'r_nope', ana, bytes);
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'not_found']);
    assert.equal((await upload(server.url, room.id, bo, bytes)).status, 201);
    assert.equal((await upload(server.url, room.id, service(), bytes)).status, 201);
  });

  test('11 MB declared in Content-Length is refused with 413 before any of the body is sent', async () => {
    const up = rawUpload(server.url, `/api/service-requests/${room.id}/attachments/?name=big.jpg`, {
      authorization: `Bearer ${ana}`,
      'content-type': 'image/jpeg',
      'content-length': String(11 * 1024 * 1024),
    });
    up.req.flushHeaders();
    const res = await up.response;
    assert.equal(up.sent, 0);
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).error.code, 'too_large');
    up.req.destroy();
  });

  test('a streamed body is refused with 413 once it passes 10 MB, and the server stops reading it', async () => {
    const total = 64 * 1024 * 1024;
    const up = rawUpload(server.url, `/api/service-requests/${room.id}/attachments/`, {
      authorization: `Bearer ${ana}`,
      'content-type': 'image/jpeg',
      'transfer-encoding': 'chunked',
    });
    // A JPEG's first bytes, so that the type passes and the size is what is refused.
    const chunk = Buffer.alloc(256 * 1024, 0xab);
    GPS_PHOTO.copy(chunk);
    let answeredAt: number | null = null;
    void up.response.then(
      () => (answeredAt = up.sent),
      () => (answeredAt ??= up.sent),
    );
    // Writes on after the answer: each write waits for the socket to take it, so once the server stops
    // reading, the writes stall until it cuts the connection, and the rest is never sent.
    while (up.sent < total) {
      if (!(await up.write(chunk))) break;
    }
    const res = await up.response;
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).error.code, 'too_large');
    assert.ok(answeredAt !== null && answeredAt > 10 * 1024 * 1024, `answered after ${answeredAt} bytes, before the limit`);
    // What socket buffers took after the answer, a few MB at most: far from the 64 MB.
    assert.ok(up.sent < 32 * 1024 * 1024, `the client sent ${up.sent} of ${total} bytes: the server read on after refusing`);
    up.req.destroy();
  });

  test('a repeated upload client_id gives one attachment and one stored file', async () => {
    const bytes = await png(30, 30);
    const before = await storedFileCount(server.dataDir);
    const first = await upload(server.url, room.id, ana, bytes, { clientId: 'up-1', name: 'a.png' });
    const again = await upload(server.url, room.id, ana, bytes, { clientId: 'up-1', name: 'a.png' });
    const racing = await Promise.all([1, 2, 3].map(() => upload(server.url, room.id, ana, bytes, { clientId: 'up-2' })));
    assert.equal(first.status, 201);
    assert.equal(again.status, 200);
    assert.equal(again.body.attachment.id, first.body.attachment.id);
    assert.equal(new Set(racing.map((r) => r.body.attachment.id)).size, 1);
    // Each photo is a file and a thumbnail.
    assert.equal(await storedFileCount(server.dataDir), before + 4);
  });
});

describe('attachments: in messages (contract v1.2)', () => {
  const sockets = socketTracker();
  const server = suiteServer({}, sockets);
  let room: { id: string };
  let ana: string;
  const bo = admin();
  const photo = async (auth: string, r = room) => (await upload(server.url, r.id, auth, await png(50, 40), { name: 'p.png' })).body.attachment;
  const send = (auth: string, body: unknown) => api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, auth, body);

  before(async () => {
    ana = owner(unique('u'));
    room = await createRoom(server.url, ana);
  });

  test('a message with files alone goes out on the socket and in history with fresh signed URLs', async () => {
    const [one, two] = [await photo(ana), (await upload(server.url, room.id, ana, PDF, { name: 'q.pdf' })).body.attachment];
    const watcher = sockets.track(TestSocket.chat(server, room.id, bo));
    await watcher.ready();
    const chat = sockets.track(TestSocket.chat(server, room.id, ana));
    await chat.ready();
    chat.send({ type: 'message', body: '', client_id: 'c-files', attachments: [one.id, two.id] });
    const frame = await watcher.next('message', (f) => f.message.client_id === 'c-files');
    const carried = frame.message.attachments;
    assert.deepEqual(
      carried.map((a: any) => [a.id, a.kind, a.name, a.size, a.width ?? null]),
      [
        [one.id, 'image', 'p.png', one.size, 50],
        [two.id, 'file', 'q.pdf', PDF.length, null],
      ],
    );
    assert.equal(frame.message.body, '');
    assert.equal((await download(server.url, carried[0].url)).status, 200);
    assert.equal((await download(server.url, carried[0].thumbnail_url)).status, 200);
    const history = await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, bo);
    const stored = history.body.messages.find((m: any) => m.client_id === 'c-files');
    assert.deepEqual(stored.attachments.map((a: any) => a.id), [one.id, two.id]);
    assert.match(stored.attachments[0].url, new RegExp(`^/api/attachments/${one.id}/\\?expires=\\d+&signature=[\\w-]{43}$`));
    assert.equal((await download(server.url, stored.attachments[1].url)).status, 200);
    const inbox = await api(server.url, 'GET', '/api/service-requests/', bo);
    const row = inbox.body.service_requests.find((r: any) => r.id === room.id);
    assert.equal(row.last_message.attachments[0].id, one.id);
    assert.ok(row.last_message.attachments[0].url);
  });

  test('a text sent right after a message with files, on one socket, is stored after it', async () => {
    const a = await photo(ana);
    const chat = sockets.track(TestSocket.chat(server, room.id, ana));
    await chat.ready();
    chat.send({ type: 'message', body: 'first, the photo', client_id: 'c-order-1', attachments: [a.id] });
    chat.send({ type: 'message', body: 'then the words', client_id: 'c-order-2' });
    const second = await chat.next('message', (f) => f.message.client_id === 'c-order-2');
    const first = await chat.next('message', (f) => f.message.client_id === 'c-order-1');
    assert.equal(second.message.seq, first.message.seq + 1);
    assert.deepEqual(
      chat.of('message').map((f) => f.message.client_id),
      ['c-order-1', 'c-order-2'],
    );
  });

  test('over REST, with a retry of the same client_id: one message', async () => {
    const a = await photo(ana);
    const first = await send(ana, { body: 'the scratch', client_id: 'c-rest', attachments: [a.id] });
    const again = await send(ana, { body: 'the scratch', client_id: 'c-rest', attachments: [a.id] });
    assert.deepEqual([first.status, again.status], [201, 200]);
    assert.equal(again.body.message.seq, first.body.message.seq);
    assert.equal(again.body.message.attachments[0].id, a.id);
  });

  test('another person\'s upload cannot be attached; a used one cannot be attached again; nor 11', async () => {
    const bos = await photo(bo);
    const refused = await send(ana, { body: 'mine?', client_id: 'c-other', attachments: [bos.id] });
    assert.deepEqual([refused.status, refused.body.error.code], [403, 'forbidden']);
    assert.match(refused.body.error.message, /another person's upload/);
    const mine = await photo(ana);
    assert.equal((await send(ana, { body: 'one', client_id: 'c-used-1', attachments: [mine.id] })).status, 201);
    const reused = await send(ana, { body: 'two', client_id: 'c-used-2', attachments: [mine.id] });
    assert.deepEqual([reused.status, reused.body.error.code], [409, 'conflict']);
    assert.match(reused.body.error.message, /already sent in another message/);
    const eleven = await send(ana, { body: 'many', attachments: Array.from({ length: 11 }, (_, i) => `a_${i}`) });
    assert.deepEqual([eleven.status, eleven.body.error.code], [400, 'invalid']);
    // The refused send took nothing: Bo's photo is still free for Bo.
    assert.equal((await send(bo, { body: 'here', attachments: [bos.id] })).status, 201);
  });

  test('a send refused because the room closed leaves its uploads free for the next send; a closed room takes no uploads', async () => {
    const ownerId = unique('u');
    const mine = owner(ownerId);
    const shut = await createRoom(server.url, mine);
    const a = (await upload(server.url, shut.id, mine, await png(9, 9))).body.attachment;
    const put = (status: string) =>
      api(server.url, 'PUT', `/api/service-requests/${shut.id}/`, service(), { user_id: ownerId, workshop_id: 'w-1', title: 'Brakes squeak', status });
    assert.equal((await put('closed')).status, 200);
    const path = `/api/service-requests/${shut.id}/messages/`;
    const refused = await api(server.url, 'POST', path, mine, { body: 'late', client_id: 'c-late', attachments: [a.id] });
    assert.deepEqual([refused.status, refused.body.error.code], [409, 'closed']);
    const upload409 = await upload(server.url, shut.id, mine, await png(9, 9));
    assert.deepEqual([upload409.status, upload409.body.error.code], [409, 'closed']);
    assert.equal((await put('open')).status, 200);
    const sent = await api(server.url, 'POST', path, mine, { body: 'again', client_id: 'c-again', attachments: [a.id] });
    assert.equal(sent.status, 201);
    assert.equal(sent.body.message.attachments[0].id, a.id);
  });

  test('a service\'s system message carries its own upload', async () => {
    const pdf = (await upload(server.url, room.id, service(), PDF, { name: 'invoice.pdf' })).body.attachment;
    const res = await send(service(), { body: 'Your invoice', attachments: [pdf.id] });
    assert.equal(res.status, 201);
    assert.deepEqual([res.body.message.sender.role, res.body.message.attachments[0].name], ['system', 'invoice.pdf']);
  });

  test('a tampered or expired URL is 403; a well-signed URL of a file that does not exist is 404', async () => {
    const a = await photo(ana);
    const url = new URL(a.url, server.url);
    const tampered = new URL(url);
    tampered.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    assert.equal((await download(server.url, tampered.toString())).status, 403);
    const otherFile = url.toString().replace(a.id, `${a.id.slice(0, -1)}${a.id.endsWith('x') ? 'y' : 'x'}`);
    assert.equal((await download(server.url, otherFile)).status, 403);
    const unsigned = new URL(url.pathname, server.url);
    assert.equal((await download(server.url, unsigned.toString())).status, 403);
    // Signed with the server's key, as it would have been two hours ago.
    const key = urlKey(SECRET);
    const expired = new AttachmentUrls(key, 3600, () => Date.now() - 7200_000).sign(a.id, 'file');
    const res = await download(server.url, expired);
    assert.equal(res.status, 403);
    assert.match(JSON.parse(res.bytes.toString()).error.message, /expired/);
    assert.equal((await download(server.url, new AttachmentUrls(key, 3600).sign('a_gone', 'file'))).status, 404);
  });
});

describe('attachments: slow uploads', () => {
  // A JSON body gets 500 ms; an upload of n bytes gets 500 ms + n / 32 KiB/s.
  const server = suiteServer({ limits: { requestTimeoutMs: 500 } });
  const size = 48 * 1024;
  const slowPdf = Buffer.concat([PDF, Buffer.alloc(size - PDF.length, 0x20)]);
  let room: { id: string };
  let ana: string;

  before(async () => {
    ana = owner(unique('u'));
    room = await createRoom(server.url, ana);
  });

  const start = () =>
    rawUpload(server.url, `/api/service-requests/${room.id}/attachments/?name=quote.pdf`, {
      authorization: `Bearer ${ana}`,
      'content-type': 'application/pdf',
      'content-length': String(size),
    });

  test('an upload that takes longer than REQUEST_TIMEOUT_MS, at more than 32 KiB/s, is stored whole', async () => {
    const up = start();
    const started = performance.now();
    // 12 pieces, 100 ms apart, as a slow uplink sends them: 1.1 s in all, within the 2 s this size is given.
    for (let at = 0; at < size; at += size / 12) {
      if (at > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(await up.write(slowPdf.subarray(at, at + size / 12)), `the server cut the upload after ${at} bytes`);
    }
    up.req.end();
    const res = await up.response;
    assert.ok(performance.now() - started > 500, 'the upload took longer than REQUEST_TIMEOUT_MS');
    assert.equal(res.status, 201);
    const a = JSON.parse(res.body).attachment;
    assert.deepEqual([a.kind, a.size], ['file', size]);
    assert.deepEqual((await download(server.url, a.url)).bytes, slowPdf);
  });

  test('an upload that stalls is cut with 408 once its size\'s time is up, not before', async () => {
    const up = start();
    const started = performance.now();
    await up.write(slowPdf.subarray(0, 8 * 1024));
    const res = await up.response;
    const ms = performance.now() - started;
    assert.equal(res.status, 408);
    // 500 ms + 48 KiB at 32 KiB/s = 2 s, checked every 125 ms.
    assert.ok(ms >= 2000 && ms < 4000, `cut after ${Math.round(ms)} ms`);
  });

  test('a person has at most 4 uploads on their way at once: the fifth is 429, another person\'s goes through', async () => {
    const ups = [1, 2, 3, 4, 5].map(() => start());
    for (const up of ups) assert.ok(await up.write(slowPdf.subarray(0, 8 * 1024)));
    // None can finish before its body has: the first answer is the refusal of whichever came fifth.
    const refused = await Promise.race(ups.map((up, i) => up.response.then((res) => ({ i, res }))));
    assert.equal(refused.res.status, 429);
    const body = JSON.parse(refused.res.body);
    assert.equal(body.error.code, 'rate_limited');
    assert.match(body.error.message, /at most 4 uploads at once/);
    const other = await upload(server.url, room.id, admin(), PDF, { type: 'application/pdf', name: 'other.pdf' });
    assert.equal(other.status, 201);
    const held = ups.filter((_, i) => i !== refused.i);
    for (const up of held) {
      await up.write(slowPdf.subarray(8 * 1024));
      up.req.end();
    }
    assert.deepEqual((await Promise.all(held.map((up) => up.response))).map((res) => res.status), [201, 201, 201, 201]);
    assert.equal((await upload(server.url, room.id, ana, PDF, { type: 'application/pdf', name: 'next.pdf' })).status, 201);
  });
});
