import assert from 'node:assert/strict';
import { beforeEach, afterEach, mock, test } from 'node:test';
import { ChatError } from '../../src/errors.js';
import type { OutboxFile } from '../../src/files.js';
import { memoryOutbox, type OutboxEntry } from '../../src/outbox.js';
import { SendQueue, type SendHost } from '../../src/send-queue.js';
import type { ChatMessage } from '../../src/types.js';
import type { Me, Message } from '../../src/wire.js';

const ME: Me = { id: 'u-ana', role: 'user', name: 'Ana' };
const tick = () => new Promise((r) => setImmediate(r));
// Timers and Date.now() driven by hand (mock.timers.tick), starting at 0.
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

/**
 * A fake server for the queue alone (the unit under test): it stores each client_id once, as the
 * real one does, takes frames while `online`, and answers REST posts when the test says so.
 */
class FakeServer {
  online = false;
  stored = new Map<string, Message>();
  frames: { client_id: string; body: string }[] = [];
  posts: { entry: OutboxEntry; answer: (error?: ChatError) => void }[] = [];
  drops: ChatError[] = [];
  // Uploads by client_id, stored once each as the server does; the attachment ids made.
  attachments = new Map<string, string>();
  uploads: { file: OutboxFile; progress: (sent: number) => void; answer: (error?: ChatError) => void }[] = [];
  progress: [string, string, number][] = [];
  sentAttachments: (string[] | undefined)[] = [];
  changes = 0;
  readonly storage = memoryOutbox();
  queue!: SendQueue;

  upload(file: OutboxFile): string {
    if (!this.attachments.has(file.client_id)) this.attachments.set(file.client_id, `a${this.attachments.size + 1}`);
    return this.attachments.get(file.client_id)!;
  }

  store(clientId: string, body: string): Message {
    let m = this.stored.get(clientId);
    if (!m) {
      const seq = this.stored.size + 1;
      m = { id: `m${seq}`, request_id: 'r1', seq, sender: ME, body, client_id: clientId, created_at: new Date(0).toISOString() } as Message;
      this.stored.set(clientId, m);
    }
    return m;
  }
  // The server's ack of a frame: the broadcast of the stored message.
  ack(clientId: string): void {
    const frame = this.frames.find((f) => f.client_id === clientId)!;
    const m = this.store(frame.client_id, frame.body);
    this.queue.stored([{ ...m, state: 'sent' }]);
  }

  host(over: Partial<SendHost> = {}): SendHost {
    return {
      ctx: { outboxStorage: this.storage, ackTimeoutMs: 5000, outboxMaxAgeMs: 7 * 864e5, connection: { reconnect: { minDelayMs: 100, maxDelayMs: 1000, factor: 2 } } },
      closed: () => false,
      frame: (f) => this.online && (this.frames.push(f as { client_id: string; body: string }), true),
      post: (wire) => {
        const entry = wire as OutboxEntry;
        return new Promise<unknown>((resolve, reject) =>
          this.posts.push({
            entry,
            answer: (error) => {
              if (error) return reject(error);
              const m = this.store(entry.client_id, entry.body);
              this.sentAttachments.push((wire as { attachments?: string[] }).attachments);
              resolve(this.queue.stored([{ ...m, state: 'sent' }]));
            },
          }),
        );
      },
      upload: (file, _author, progress) =>
        new Promise<string>((resolve, reject) =>
          this.uploads.push({ file, progress, answer: (error) => (error ? reject(error) : resolve(this.upload(file))) }),
        ),
      emit: ((type: string, e: { client_id: string; file: OutboxFile; sent: number }) =>
        type === 'progress' ? this.progress.push([e.client_id, e.file.name, e.sent]) : assert.fail(type)) as unknown as SendHost["emit"],
      drop: (e) => this.drops.push(e),
      identify: () => {},
      changed: () => this.changes++,
      report: (e) => assert.fail(String(e)),
      message: (e): ChatMessage => ({ id: null, request_id: 'r1', seq: null, sender: ME, ...e, state: 'pending' }),
      ...over,
    };
  }

  async start(over?: Partial<SendHost>): Promise<SendQueue> {
    this.queue = new SendQueue(this.host(over));
    this.queue.open(ME, 'k');
    await tick();
    return this.queue;
  }
}

const entry = (n: number, created_at = new Date(0).toISOString()): OutboxEntry => ({ client_id: `c${n}`, body: `b${n}`, created_at });

test('over the socket at most 16 unacked at once; each ack lets the next one go', async () => {
  const server = new FakeServer();
  server.online = true;
  const queue = await server.start();
  const sent = Array.from({ length: 20 }, (_, i) => queue.add(entry(i)));
  assert.deepEqual(server.frames.map((f) => f.client_id), Array.from({ length: 16 }, (_, i) => `c${i}`));
  server.ack('c0');
  assert.equal(server.frames.length, 16, 'an ack alone sends nothing: the next pump does');
  queue.pump();
  assert.equal(server.frames.length, 17);
  assert.equal((await sent[0]!).seq, 1);
  assert.equal(queue.size, 19);
  assert.equal(server.posts.length, 0);
});

test('the socket goes down: the unacked go by REST one at a time, in order, stored once each', async () => {
  const server = new FakeServer();
  server.online = true;
  const queue = await server.start();
  const sent = [1, 2, 3].map((n) => queue.add(entry(n)));
  // The server stored c1 from its frame, but the ack was lost with the socket.
  server.store('c1', 'b1');
  server.online = false;
  queue.down();
  assert.deepEqual(server.posts.map((p) => p.entry.client_id), ['c1']);
  server.posts[0]!.answer();
  await tick();
  assert.deepEqual(server.posts.map((p) => p.entry.client_id), ['c1', 'c2']);
  server.posts[1]!.answer();
  await tick();
  server.posts[2]!.answer();
  const messages = await Promise.all(sent);
  assert.deepEqual(messages.map((m) => m.seq), [1, 2, 3]);
  assert.equal(server.stored.size, 3);
  assert.equal(queue.size, 0);
});

test('a transient REST failure waits out the backoff on the clock; a final one fails that message and the next goes', async () => {
  const server = new FakeServer();
  const queue = await server.start();
  const first = queue.add(entry(1));
  const second = queue.add(entry(2));
  server.posts[0]!.answer(new ChatError('network', 'offline'));
  await tick();
  assert.equal(server.posts.length, 1, 'nothing before the backoff has passed');
  mock.timers.tick(100);
  assert.equal(server.posts.length, 2);
  assert.equal(server.posts[1]!.entry.client_id, 'c1', 'the same message again, same client_id');
  server.posts[1]!.answer(new ChatError('invalid', 'too long', { status: 400 }));
  await assert.rejects(first, (e: ChatError) => e.code === 'invalid' && e.clientId === 'c1');
  assert.equal(queue.messages[0]!.state, 'failed');
  assert.equal(server.posts[2]!.entry.client_id, 'c2');
  server.posts[2]!.answer();
  assert.equal((await second).seq, 1);
});

test('rate limited: the message goes again after a 1 s pause, then one frame at a time until 2 s pass without a refusal', async () => {
  const server = new FakeServer();
  server.online = true;
  const queue = await server.start();
  [1, 2, 3].forEach((n) => queue.add(entry(n)));
  assert.equal(server.frames.length, 3);
  // The server refuses c2 and, behind it, c3; c1 is stored.
  server.ack('c1');
  assert.equal(queue.refused({ type: 'error', code: 'rate_limited', message: 'slow down', client_id: 'c2' }), true);
  queue.refused({ type: 'error', code: 'rate_limited', message: 'slow down', client_id: 'c3' });
  assert.equal(queue.refused({ type: 'error', code: 'rate_limited', message: 'x', client_id: 'nope' }), false);
  mock.timers.tick(999);
  assert.equal(server.frames.length, 3);
  mock.timers.tick(1);
  assert.deepEqual(server.frames.slice(3).map((f) => f.client_id), ['c2'], 'one at a time while limited');
  server.ack('c2');
  queue.pump();
  assert.deepEqual(server.frames.slice(4).map((f) => f.client_id), ['c3']);
});

test('no ack within ackTimeoutMs drops the socket; an ack in time cancels that', async () => {
  const server = new FakeServer();
  server.online = true;
  const queue = await server.start();
  queue.add(entry(1));
  queue.add(entry(2));
  server.ack('c1');
  mock.timers.tick(4999);
  assert.equal(server.drops.length, 0);
  mock.timers.tick(1);
  assert.deepEqual(server.drops.map((e) => [e.code, e.clientId]), [['timeout', 'c2']]);
});

test('a message older than maxAgeMs is not sent: it fails as expired', async () => {
  const server = new FakeServer();
    mock.timers.setTime(10_000);
  const queue = await server.start({ ctx: { ...server.host().ctx, outboxMaxAgeMs: 5000 } });
  const old = queue.add(entry(1, new Date(4000).toISOString()));
  await assert.rejects(old, (e: ChatError) => e.code === 'expired');
  queue.add(entry(2, new Date(6000).toISOString()));
  assert.deepEqual(server.posts.map((p) => p.entry.client_id), ['c2']);
});

test('what an earlier page left in the outbox goes first; a closed queue sends nothing and keeps its messages', async () => {
  const server = new FakeServer();
  await server.storage.save('k', [entry(7)]);
  let closed = false;
  const queue = new SendQueue(server.host({ closed: () => closed }));
  server.queue = queue;
  const mine = queue.add(entry(8));
  assert.equal(server.posts.length, 0, 'not before the outbox is open');
  queue.open(ME, 'k');
  await tick();
  assert.deepEqual(queue.messages.map((m) => m.client_id), ['c7', 'c8']);
  assert.deepEqual(server.posts.map((p) => p.entry.client_id), ['c7']);
  closed = true;
  queue.close('Room closed');
  await assert.rejects(mine, (e: ChatError) => e.code === 'aborted');
  server.posts[0]!.answer(new ChatError('network', 'offline'));
  await tick();
  mock.timers.tick(60_000);
  assert.equal(server.posts.length, 1, 'no backoff, no retry once closed');
  assert.equal(queue.size, 2);
  assert.deepEqual((await server.storage.load('k')).map((e) => e.client_id), ['c7', 'c8']);
});

const photo = (name: string, size: number): OutboxFile => ({ client_id: `f-${name}`, name, size, blob: new Blob([new Uint8Array(size)], { type: 'image/jpeg' }) });

test('files go first, one at a time, then the message names their attachments; a failed upload is retried with the same client_id', async () => {
  const server = new FakeServer();
  server.online = true;
  const queue = await server.start();
  const sent = queue.add({ ...entry(1), files: [photo('a.jpg', 10), photo('b.jpg', 20)] });
  const after = queue.add(entry(2));
  assert.deepEqual(server.uploads.map((u) => u.file.name), ['a.jpg']);
  assert.equal(server.frames.length, 0, 'nothing written behind it goes first');
  server.uploads[0]!.progress(4);
  // The upload reached the server, but the answer was lost (a network fault): the same client_id again.
  server.upload(server.uploads[0]!.file);
  server.uploads[0]!.answer(new ChatError('network', 'reset'));
  await tick();
  mock.timers.tick(100);
  assert.deepEqual(server.uploads.map((u) => u.file.client_id), ['f-a.jpg', 'f-a.jpg']);
  server.uploads[1]!.answer();
  await tick();
  server.uploads[2]!.progress(20);
  server.uploads[2]!.answer();
  await tick();
  assert.deepEqual(server.progress, [['c1', 'a.jpg', 4], ['c1', 'b.jpg', 20]]);
  assert.deepEqual(server.frames, [{ type: 'message', body: 'b1', client_id: 'c1', data: undefined, attachments: ['a1', 'a2'] }, { type: 'message', body: 'b2', client_id: 'c2', data: undefined, attachments: undefined }]);
  assert.equal(server.attachments.size, 2, 'one attachment per file');
  server.ack('c1');
  server.ack('c2');
  assert.equal((await sent).seq, 1);
  assert.equal((await after).seq, 2);
});

test('an uploaded file is not uploaded again: the socket dies after the upload, the message goes by REST with it', async () => {
  const server = new FakeServer();
  server.online = true;
  const queue = await server.start();
  const sent = queue.add({ ...entry(1), files: [photo('a.jpg', 10)] });
  server.uploads[0]!.answer();
  await tick();
  assert.equal(server.frames.length, 1);
  server.online = false;
  queue.down();
  server.posts[0]!.answer();
  assert.equal((await sent).seq, 1);
  assert.deepEqual(server.sentAttachments, [['a1']]);
  assert.equal(server.uploads.length, 1);
  await tick();
  assert.deepEqual(await server.storage.load('k'), []);
});

test('a file whose bytes did not survive a page reload fails the message by its name; one already uploaded is still sent', async () => {
  const server = new FakeServer();
  // As localStorage gives them back (JSON): a Blob becomes {}.
  await server.storage.save('k', JSON.parse(JSON.stringify([
    { ...entry(1), files: [photo('kept.jpg', 5)] },
    { ...entry(2), files: [{ ...photo('done.jpg', 5), id: 'a9' }] },
  ])));
  const queue = await server.start();
  assert.deepEqual(queue.messages.map((m) => [m.state, m.error?.code, m.error?.message]), [
    ['failed', 'lost', 'kept.jpg: lost on reload'],
    ['pending', undefined, undefined],
  ]);
  assert.equal(server.uploads.length, 0);
  server.posts[0]!.answer();
  assert.deepEqual(server.sentAttachments, [['a9']]);
});
