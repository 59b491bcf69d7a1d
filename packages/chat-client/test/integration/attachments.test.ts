import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ChatError, type ChatClient } from '../../src/index.js';
import type { Message } from '../../src/wire.js';
import { ADMIN, client, mintToken, OWNER, removeDir, spawnServer, storedMessages, TcpProxy, unhandled, waitFor, type ServerProcess } from '../helpers.js';

const ENV = { WS_RATE_LIMIT: '0', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' };
const PHOTO = readFileSync(new URL('../../../../reference-server/test/fixtures/gps-rotated.jpg', import.meta.url));
const photo = (name = 'scratch.jpg'): File => new File([PHOTO], name, { type: 'image/jpeg' });

let server: ServerProcess;
const clients: ChatClient[] = [];
const proxies: TcpProxy[] = [];
const open = (baseUrl: string, claims: typeof OWNER, extra = {}): ChatClient => {
  const c = client(baseUrl, mintToken(claims), extra);
  clients.push(c);
  return c;
};

before(async () => {
  server = await spawnServer({ env: ENV });
});

after(async () => {
  for (const c of clients) c.close();
  for (const p of proxies) await p.close();
  await server?.kill();
  if (server) removeDir(server.dataDir);
  assert.deepEqual(unhandled, []);
});

// Stored files of the server (DATA_DIR/attachments: `<id>` and `<id>.thumb`), thumbnails aside.
const filesOnDisk = (): string[] => readdirSync(join(server.dataDir, 'attachments')).filter((n) => !n.endsWith('.thumb') && !n.endsWith('.tmp'));

const attachmentsOf = (messages: Message[]) => messages.map((m) => (m.attachments ?? []).map((a) => [a.kind, a.name]));

test('a photo with a caption: uploaded, then one message carries it; the other side gets it with a URL that serves the image', async () => {
  const id = (await open(server.url, OWNER).createRoom({ workshop_id: 'w-1', title: 'Paint' })).id;
  const ana = open(server.url, OWNER).room(id);
  const bo = open(server.url, ADMIN).room(id);
  await Promise.all([ana.connect(), bo.connect()]);

  const sending = ana.send({ body: 'The scratch', files: [photo()] });
  assert.deepEqual(ana.messages.map((m) => [m.state, m.body, m.files?.map((f) => [f.name, f.size])]), [['pending', 'The scratch', [['scratch.jpg', PHOTO.length]]]]);
  const stored = await sending;
  assert.equal(stored.seq, 1);
  assert.deepEqual(attachmentsOf([stored as Message]), [[['image', 'scratch.jpg']]]);
  await waitFor(() => bo.messages.length === 1, 'bo got it');
  const [attachment] = bo.messages[0]!.attachments!;
  assert.equal(attachment!.id, stored.attachments![0]!.id);
  const res = await fetch(new URL(attachment!.url, server.url));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(filesOnDisk(), [attachment!.id]);
});

test('a type or a size the server refuses is refused before any request, naming the file', async () => {
  const requests: string[] = [];
  const c = open(server.url, OWNER, { fetch: (input: RequestInfo | URL, init?: RequestInit) => (requests.push(String(input)), fetch(input, init)) });
  const id = (await c.createRoom({ workshop_id: 'w-1', title: 'Wheels' })).id;
  const room = c.room(id);
  requests.length = 0;
  await assert.rejects(room.send({ files: [new File(['GIF89a'], 'funny.gif', { type: 'image/gif' })] }), (e: ChatError) => e.code === 'invalid' && e.message === 'funny.gif: not JPEG, PNG, WebP, HEIC or PDF');
  await assert.rejects(room.send({ body: 'big', files: [new File([new Uint8Array(11 * 1048576)], 'huge.jpg', { type: 'image/jpeg' })] }), (e: ChatError) => e.code === 'too_large' && e.message === 'huge.jpg: over 10 MB');
  // HEIC without a declared type (as some browsers give iPhone photos): accepted by its name.
  assert.doesNotThrow(() => void room.send({ files: [new File(['x'], 'IMG_1.HEIC')] }).catch(() => {}));
  assert.deepEqual(room.messages.length, 1, 'only the HEIC one is queued');
  assert.deepEqual(requests.filter((r) => r.includes('/attachments/')), []);
  room.close();
});

test('the server is SIGKILLed mid-upload and restarted: one message, one file', async () => {
  const { port, dataDir } = server;
  const id = (await open(server.url, OWNER).createRoom({ workshop_id: 'w-1', title: 'Leak' })).id;
  const filesBefore = existsSync(join(dataDir, 'attachments')) ? filesOnDisk().length : 0;
  let uploads = 0;
  let halfSent!: () => void;
  const midUpload = new Promise<void>((r) => (halfSent = r));
  // The first upload's body goes half, then stalls: the server dies while it reads it.
  const stalling = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (!String(input).includes('/attachments/') || uploads++) return fetch(input, init);
    const bytes = new Uint8Array(await (init!.body as Blob).arrayBuffer());
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, bytes.length >> 1));
        halfSent();
      },
    });
    return fetch(input, { ...init, body, duplex: 'half' } as RequestInit);
  };
  const ana = open(server.url, OWNER, { fetch: stalling, ackTimeoutMs: 1000 }).room(id);
  await ana.connect();
  const sending = ana.send({ body: 'Oil under the car', files: [photo('leak.jpg')] });
  await midUpload;
  await server.kill('SIGKILL');
  await waitFor(() => ana.status !== 'open', 'ana notices the crash');
  server = await spawnServer({ port, dataDir, env: ENV });

  const stored = await sending;
  assert.ok(uploads >= 2, 'the upload was made again');
  const onServer = await storedMessages(server.url, id);
  assert.deepEqual(onServer.map((m) => [m.seq, m.client_id, m.body]), [[1, stored.client_id, 'Oil under the car']]);
  assert.deepEqual(attachmentsOf(onServer), [[['image', 'leak.jpg']]]);
  assert.equal(filesOnDisk().filter((f) => f === onServer[0]!.attachments![0]!.id).length, 1);
  assert.equal(filesOnDisk().length, filesBefore + 1, 'this one, nothing else');
});

test('the socket dies between the message frame and its ack: the REST fallback sends the same message with the same attachment, stored once', async () => {
  const id = (await open(server.url, OWNER).createRoom({ workshop_id: 'w-1', title: 'Dent' })).id;
  const p = await new TcpProxy(server.port).listen();
  proxies.push(p);
  const ana = open(p.url, OWNER, { ackTimeoutMs: 60_000 }).room(id);
  const bo = open(server.url, ADMIN).room(id);
  await Promise.all([ana.connect(), bo.connect()]);

  // Acks never reach Ana; the upload's answer (plain HTTP) does.
  p.holdReplies({ socketsOnly: true });
  const sending = ana.send({ files: [photo('dent.jpg')] });
  await waitFor(() => bo.messages.length === 1, 'stored and broadcast');
  assert.equal(ana.messages.at(-1)!.state, 'pending');
  p.cut();

  const stored = await sending;
  const attachmentId = stored.attachments![0]!.id;
  assert.ok(p.upstreamText.includes(`POST /api/service-requests/${id}/messages/`), 'went through the REST fallback');
  assert.ok(p.upstreamText.includes(`"attachments":["${attachmentId}"]`), 'naming the same upload');
  assert.equal(p.upstreamText.split(`/api/service-requests/${id}/attachments/`).length - 1, 1, 'uploaded once');
  const onServer = await storedMessages(server.url, id);
  assert.deepEqual(onServer.map((m) => [m.seq, m.client_id, m.body]), [[1, stored.client_id, '']]);
  assert.deepEqual(attachmentsOf(onServer), [[['image', 'dent.jpg']]]);
  assert.equal(filesOnDisk().filter((f) => f === attachmentId).length, 1);
});
