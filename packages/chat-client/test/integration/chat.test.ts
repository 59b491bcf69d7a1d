import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChatMessage, memoryOutbox, type NotificationFrame, type Room } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, waitFor, serverForFile } from '../helpers.js';

const { server, clients } = serverForFile();
const open = (token: string | (() => string | Promise<string>), extra = {}) => {
  const c = client(server.url, token, extra);
  clients.push(c);
  return c;
};
const bodies = (room: Room) => room.messages.map((m) => m.body);
const seqs = (room: Room) => room.messages.map((m) => m.seq);


async function newRoom(title = 'Brakes squeak'): Promise<string> {
  const info = await open(mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title });
  return info.id;
}

test('owner and workshop chat: optimistic pending, ack by client_id, same ordered list on both sides', async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  const bo = open(mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  assert.equal(ana.status, 'open');
  assert.deepEqual(ana.me, { id: 'u-ana', role: 'user', name: 'Ana' });
  assert.equal(ana.side, 'user');
  assert.equal(bo.side, 'workshop');

  const incoming: { message: ChatMessage; own: boolean }[] = [];
  bo.on('message', (e) => incoming.push(e));
  const sending = ana.send('  Brakes squeak when cold  ');
  const pending = ana.messages.at(-1)!;
  assert.equal(pending.state, 'pending');
  assert.equal(pending.seq, null);
  assert.equal(pending.body, 'Brakes squeak when cold');
  assert.match(pending.client_id!, /^c_[0-9a-f]{24}$/);

  const stored = await sending;
  assert.equal(stored.state, 'sent');
  assert.equal(stored.seq, 1);
  assert.equal(stored.client_id, pending.client_id);
  assert.equal(ana.outboxSize, 0);

  await bo.send('Bring it in tomorrow at 9');
  await ana.send('Thanks!');
  await waitFor(() => bo.messages.length === 3 && ana.messages.length === 3, 'three messages on both sides');
  for (const room of [ana, bo]) {
    assert.deepEqual(seqs(room), [1, 2, 3]);
    assert.deepEqual(bodies(room), ['Brakes squeak when cold', 'Bring it in tomorrow at 9', 'Thanks!']);
    assert.ok(room.messages.every((m) => m.state === 'sent'));
  }
  assert.deepEqual(
    incoming.map((e) => [e.message.seq, e.own]),
    [[1, false], [2, true], [3, false]],
  );
});

test('read receipts move cursors over the socket and the other side sees them', async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  const bo = open(mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  const m1 = await ana.send('one');
  await ana.send('two');
  await waitFor(() => bo.messages.length === 2, 'bo has both');
  assert.equal(bo.unread(), 2);
  assert.equal(ana.unread(), 0);
  assert.equal(ana.isReadByOtherSide(m1), false);

  const reads: unknown[] = [];
  ana.on('read', (e) => reads.push(e));
  await bo.markRead(1);
  await waitFor(() => ana.readCursors.workshop === 1, 'ana sees the workshop read seq 1');
  assert.deepEqual(reads, [{ side: 'workshop', last_read_seq: 1, read_cursors: { user: 0, workshop: 1 } }]);
  assert.equal(ana.isReadByOtherSide(ana.messages[0]!), true);
  assert.equal(ana.isReadByOtherSide(ana.messages[1]!), false);
  await waitFor(() => bo.unread() === 1, 'bo unread 1');

  await bo.markRead();
  await waitFor(() => ana.readCursors.workshop === 2 && bo.unread() === 0, 'everything read');
});

test('markRead falls back to REST when the room has no socket', async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  await ana.connect();
  await ana.send('hello');
  const bo = open(mintToken(ADMIN)).room(id);
  const reads: unknown[] = [];
  bo.on('read', (e) => reads.push(e));
  await bo.markRead(1);
  assert.equal(bo.status, 'idle');
  assert.deepEqual(bo.readCursors, { user: 0, workshop: 1 });
  assert.deepEqual(reads, [{ side: 'workshop', last_read_seq: 1, read_cursors: { user: 0, workshop: 1 } }]);
  await waitFor(() => ana.readCursors.workshop === 1, 'ana sees it live');
});

test('typing is relayed to the other side only', async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  const bo = open(mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  const seen: unknown[] = [];
  const mine: unknown[] = [];
  bo.on('typing', (e) => seen.push(e));
  ana.on('typing', (e) => mine.push(e));
  ana.setTyping(true);
  await waitFor(() => seen.length === 1, 'typing on the other side');
  assert.deepEqual(seen, [{ user: { id: 'u-ana', role: 'user', name: 'Ana' }, is_typing: true }]);
  assert.deepEqual(mine, []);
});

test('notifications: unread totals per room and a notification with the preview', async () => {
  const id = await newRoom('Oil change');
  const boClient = open(mintToken(ADMIN));
  const notes = boClient.notifications();
  assert.equal(boClient.notifications(), notes);
  await waitFor(() => notes.status === 'open', 'notifications open');
  const before = notes.unread();
  const frames: NotificationFrame[] = [];
  notes.on('notification', (f) => frames.push(f));

  const ana = open(mintToken(OWNER)).room(id);
  await ana.connect();
  const sent = await ana.send('x'.repeat(200));
  await waitFor(() => frames.length === 1, 'one notification');
  assert.equal(frames[0]!.request_id, id);
  assert.equal(frames[0]!.message.seq, sent.seq);
  assert.equal(frames[0]!.message.body.length, 140);
  assert.equal(notes.unread(id), 1);
  assert.equal(notes.unread(), before + 1);

  const bo = boClient.room(id);
  await bo.connect();
  await bo.markRead();
  await waitFor(() => notes.unread(id) === 0, 'the read clears the room count');
  assert.equal(notes.unread(), before);
});

test('REST helpers: rooms (the paged inbox), getRoom, and typed errors', async () => {
  const ana = open(mintToken({ ...OWNER, sub: 'u-inbox' }));
  const info = await ana.createRoom({ workshop_id: 'w-1', title: '  Tyres  ' });
  assert.equal(info.title, 'Tyres');
  const first = await ana.rooms();
  assert.deepEqual([first.service_requests.map((r) => [r.id, r.unread, r.last_message]), first.next_cursor], [[[info.id, 0, null]], null]);
  // Newest activity first, page by page.
  const older = await ana.createRoom({ workshop_id: 'w-1', title: 'Brakes' });
  const newer = await ana.createRoom({ workshop_id: 'w-1', title: 'Wipers' });
  await ana.room(older.id).send('this one moves to the top');
  const page1 = await ana.rooms({ limit: 2 });
  assert.deepEqual(page1.service_requests.map((r) => r.id), [older.id, newer.id]);
  assert.equal(page1.service_requests[0]!.last_message?.body, 'this one moves to the top');
  const page2 = await ana.rooms({ limit: 2, cursor: page1.next_cursor });
  assert.deepEqual([page2.service_requests.map((r) => r.id), page2.next_cursor], [[info.id], null]);
  const detail = await ana.getRoom(info.id);
  assert.deepEqual([detail.last_seq, detail.read_cursors], [0, { user: 0, workshop: 0 }]);
  await assert.rejects(ana.getRoom('no-such-room'), { name: 'ChatError', code: 'not_found', status: 404 });
  await assert.rejects(ana.createRoom({ workshop_id: 'w-1', title: '' }), { code: 'invalid', status: 400 });
  // Filters: q (trimmed, blank is none) and unread, paged with the same filters.
  const ids = (page: { service_requests: { id: string }[] }) => page.service_requests.map((r) => r.id);
  const brakes = await ana.createRoom({ workshop_id: 'w-1', title: 'Škoda brakes' });
  assert.deepEqual(ids(await ana.rooms({ q: '  ŠKODA ' })), [brakes.id]);
  assert.deepEqual(ids(await ana.rooms({ q: 'wipers & tyres?' })), []);
  assert.deepEqual(ids(await ana.rooms({ q: '  ', limit: 2 })), ids(await ana.rooms({ limit: 2 })));
  const bo = open(mintToken(ADMIN));
  const reply = await bo.room(older.id).send('reply to Brakes');
  // The inbox orders by time: the second reply in a later millisecond.
  while (new Date().toISOString() <= reply.created_at) await new Promise((resolve) => setImmediate(resolve));
  await bo.room(info.id).send('reply to Tyres');
  const unread1 = await ana.rooms({ unread: true, limit: 1 });
  assert.deepEqual([ids(unread1), unread1.service_requests[0]!.unread], [[info.id], 1]);
  const unread2 = await ana.rooms({ unread: true, limit: 1, cursor: unread1.next_cursor });
  assert.deepEqual([ids(unread2), unread2.next_cursor], [[older.id], null]);
  assert.deepEqual(ids(await ana.rooms({ unread: true, q: 'BRAKES' })), [older.id]);
});

test('a final refusal marks the message failed with the reason; retry() sends it again', async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  await ana.connect();
  await assert.rejects(ana.send('x'.repeat(4001)), { code: 'invalid' });
  const failed = ana.messages.at(-1)!;
  assert.equal(failed.state, 'failed');
  assert.equal(failed.error!.code, 'invalid');
  assert.equal(failed.error!.clientId, failed.client_id);
  assert.equal(ana.outboxSize, 0);
  // Still refused on retry (same input), and still one local copy.
  await assert.rejects(ana.retry(failed), { code: 'invalid' });
  assert.equal(ana.messages.filter((m) => m.client_id === failed.client_id).length, 1);

  const ok = await ana.send('fine');
  assert.equal(ok.seq, 1);
  assert.deepEqual(ana.messages.map((m) => [m.seq, m.state]), [[1, 'sent'], [null, 'failed']]);
});

test('loadOlder pages back through history', async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  await ana.connect();
  for (let i = 1; i <= 60; i++) await ana.send(`m${i}`);
  const fresh = open(mintToken(ADMIN)).room(id);
  await fresh.connect();
  assert.deepEqual([fresh.messages.length, fresh.messages[0]!.seq, fresh.hasOlder], [50, 11, true]);
  const older = await fresh.loadOlder(5);
  assert.deepEqual(older.map((m) => m.seq), [6, 7, 8, 9, 10]);
  assert.equal(fresh.hasOlder, true);
  await fresh.loadOlder();
  assert.deepEqual(seqs(fresh), Array.from({ length: 60 }, (_, i) => i + 1));
  assert.equal(fresh.hasOlder, false);
  assert.deepEqual(await fresh.loadOlder(), []);
});

test('an outbox restored after a reload holding a message the server already stored: acked, not doubled', async () => {
  const id = await newRoom();
  const first = open(mintToken(OWNER)).room(id);
  await first.connect();
  const stored = await first.send('sent just before the reload');
  // The page died before the outbox write that removed it.
  const storage = memoryOutbox();
  const key = `${server.url}|user:u-ana|${id}`;
  storage.save(key, [
    { client_id: stored.client_id!, body: stored.body, created_at: stored.created_at },
    { client_id: 'c_never_sent', body: 'never left the page', created_at: new Date().toISOString() },
  ]);

  const reloaded = open(mintToken(OWNER), { outboxStorage: storage }).room(id);
  await reloaded.connect();
  await waitFor(() => reloaded.outboxSize === 0 && reloaded.messages.every((m) => m.state === 'sent'), 'outbox drained');
  assert.deepEqual(reloaded.messages.map((m) => [m.seq, m.client_id]), [[1, stored.client_id], [2, 'c_never_sent']]);
  assert.deepEqual(await storage.load(key), []);
});

test('close() rejects a pending connect() and pending sends with aborted, and leaves the messages queued', async () => {
  const id = await newRoom();
  const c = open(mintToken(OWNER));
  const room = c.room(id);
  const connecting = room.connect();
  c.close();
  await assert.rejects(connecting, { code: 'aborted' });
  assert.equal(room.status, 'closed');
  const sending = room.send('later');
  assert.equal(room.outboxSize, 1);
  await room.connect();
  assert.equal((await sending).seq, 1);
});

test('a burst over the server frame rate limit (default limits): slowed down, stored once, in order, no disconnect', async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  await ana.connect();
  const seen: string[] = [];
  ana.on('status', (e) => seen.push(e.status));
  const all = await Promise.all(Array.from({ length: 100 }, (_, i) => ana.send(`r${i}`)));
  assert.deepEqual(all.map((m) => m.seq), Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual(ana.messages.map((m) => m.body), Array.from({ length: 100 }, (_, i) => `r${i}`));
  assert.deepEqual(seen, []);
});

test('connect() after close() opens the room again and fills in what was sent meanwhile', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const ana = open(mintToken(OWNER)).room(id);
  const bo = open(mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  await ana.send('before close');
  ana.close();
  assert.equal(ana.status, 'closed');
  await bo.send('while closed');
  await ana.connect();
  assert.equal(ana.status, 'open');
  assert.deepEqual(bodies(ana), ['before close', 'while closed']);
  assert.deepEqual(seqs(ana), [1, 2]);
});

test('an owner and an admin who share an id are told apart: own is the side and the id', { timeout: 10_000 }, async () => {
  const twinOwner = { sub: 'same-id', role: 'user', name: 'Owner' } as const;
  const twinAdmin = { sub: 'same-id', role: 'workshop_admin', workshop_id: 'w-twin', name: 'Admin' } as const;
  const id = (await open(mintToken(twinOwner)).createRoom({ workshop_id: 'w-twin', title: 'Twins' })).id;
  const owner = open(mintToken(twinOwner)).room(id);
  const admin = open(mintToken(twinAdmin)).room(id);
  await Promise.all([owner.connect(), admin.connect()]);
  const seenByAdmin: boolean[] = [];
  admin.on('message', (e) => seenByAdmin.push(e.own));
  const fromOwner = await owner.send('from the owner');
  const fromAdmin = await admin.send('from the admin');
  await waitFor(() => seenByAdmin.length === 2, 'both messages at the admin');
  assert.deepEqual(seenByAdmin, [false, true]);
  assert.deepEqual([fromOwner.seq, fromAdmin.seq], [1, 2]);
  assert.deepEqual(admin.messages.map((m) => [m.body, m.state]), [
    ['from the owner', 'sent'],
    ['from the admin', 'sent'],
  ]);
});
