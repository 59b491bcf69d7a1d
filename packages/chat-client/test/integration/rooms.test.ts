// Who owns a Room, when it is released, who writes in it, and where its unsent messages are kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChatMessage, memoryOutbox, type OutboxEntry, type OutboxStorage } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, waitFor, serverForFile } from '../helpers.js';

const { server, clients } = serverForFile({ env: { WS_RATE_LIMIT: '0', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });
const open = (token: string | (() => string | Promise<string>), extra = {}, url = server.url) => {
  const c = client(url, token, extra);
  clients.push(c);
  return c;
};

const newRoom = async () => (await open(mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title: 'Gearbox' })).id;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
// A base URL where nothing listens: sends stay pending.
const NOWHERE = 'http://127.0.0.1:9';

test('openRoom: two holders share one socket; releasing one leaves the other chatting; the last release closes it', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const c = open(mintToken(OWNER));
  const a = c.openRoom(id);
  const b = c.openRoom(id);
  assert.equal(a.room, b.room);
  await Promise.all([a.ready, b.ready]);
  a.release();
  a.release(); // a second release of the same hold changes nothing
  assert.equal(b.room.status, 'open');
  assert.equal((await b.room.send('still here')).seq, 1);
  b.release();
  assert.equal(b.room.status, 'closed');
  assert.notEqual(c.room(id), b.room, 'released: the client makes a fresh Room');
});

test('openRoom never closes a room its owner connected with connect(); close() leaves it open for the holders', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const c = open(mintToken(OWNER));
  const room = c.room(id);
  await room.connect();
  const widget = c.openRoom(id);
  await widget.ready;
  widget.release();
  assert.equal(room.status, 'open', 'the host connected it: the widget does not close it');
  const second = c.openRoom(id);
  room.close();
  assert.equal(room.status, 'open', 'a holder still uses it');
  assert.equal((await room.send('for the holder')).seq, 1);
  second.release();
  assert.equal(room.status, 'closed');
});

test('a hold released before the room is ready: ready rejects with aborted, nothing is left behind', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const c = open(mintToken(OWNER));
  const h = c.openRoom(id);
  h.release();
  await assert.rejects(h.ready, { code: 'aborted' });
  assert.equal(h.room.status, 'closed');
});

test('a closed room is released: gone from the client, its timers and listeners gone; its unsent messages go with the next Room', { timeout: 20_000 }, async () => {
  const id = await newRoom();
  const listeners = new Set<unknown>();
  const g = globalThis as unknown as Record<string, unknown>;
  g.addEventListener = (_type: string, fn: unknown) => listeners.add(fn);
  g.removeEventListener = (_type: string, fn: unknown) => listeners.delete(fn);
  try {
    const baseline = timers();
    const storage = memoryOutbox();
    const c = open(mintToken(OWNER), { outboxStorage: storage });
    const room = c.room(id);
    await room.connect();
    await room.send('stored');
    assert.equal(listeners.size, 1);
    room.close();
    // Its promise would settle if this Room were connected again; the fresh Room sends it instead.
    void room.send('written after close');
    await waitFor(() => (storage.load(`${server.url}|user:u-ana|${id}`) as OutboxEntry[]).length === 1, 'kept in the outbox');
    assert.equal(listeners.size, 0);
    await waitFor(() => timers() <= baseline, 'no timer of the room is left', 5000);
    const fresh = c.room(id);
    assert.notEqual(fresh, room);
    assert.equal(c.room(id), fresh);
    await fresh.connect();
    await waitFor(() => fresh.outboxSize === 0 && fresh.messages.length === 2, 'the fresh room sent what the closed one held');
    assert.deepEqual(fresh.messages.map((m) => [m.seq, m.body, m.state]), [
      [1, 'stored', 'sent'],
      [2, 'written after close', 'sent'],
    ]);
  } finally {
    delete g.addEventListener;
    delete g.removeEventListener;
  }
});

test("an admin's pending message shows the admin as its sender before any ready, from the token's claims", { timeout: 10_000 }, async () => {
  const admin = { id: 'a-bo', role: 'workshop_admin', name: 'Bo' };
  let release!: (t: string) => void;
  const gate = new Promise<string>((r) => (release = r));
  const room = open(() => gate, {}, NOWHERE).room('r_any');
  const senders: unknown[] = [];
  room.on('change', (e) => senders.push(e.messages.map((m) => m.sender)));
  void room.send('on my way').catch(() => {});
  assert.deepEqual(room.messages[0]!.sender, { id: '', role: 'user', name: null }, 'unknown while the provider has not answered');
  release(mintToken(ADMIN));
  await waitFor(() => senders.length === 2, 'a change when the sender is known');
  assert.deepEqual(senders[1], [admin]);
  assert.equal(room.messages[0]!.state, 'pending');

  // With a string token it is known at once.
  const direct = open(mintToken(ADMIN), {}, NOWHERE).room('r_any');
  void direct.send('hi').catch(() => {});
  assert.deepEqual(direct.messages[0]!.sender, admin);
});

test('the outbox is keyed by base URL and principal: another user on the same device never gets the drafts', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const storage = memoryOutbox();
  const ana = open(mintToken(OWNER), { outboxStorage: storage }, NOWHERE).room(id);
  void ana.send('draft of ana').catch(() => {});
  const key = `${NOWHERE}|user:u-ana|${id}`;
  await waitFor(() => (storage.load(key) as OutboxEntry[]).length === 1, 'stored under the principal key');
  const bo = open(mintToken(ADMIN), { outboxStorage: storage }).room(id);
  await bo.connect();
  assert.deepEqual(bo.messages, []);
  assert.equal(bo.outboxSize, 0);
  // Ana, later on the right server, still has it.
  const anaAgain = open(mintToken(OWNER), { outboxStorage: { load: (k: string) => storage.load(k.replace(server.url, NOWHERE)), save: () => {} } }).room(id);
  await anaAgain.connect();
  await waitFor(() => anaAgain.messages.some((m) => m.body === 'draft of ana' && m.state === 'sent'), 'her draft is sent');
});

test('a send() that races a slow outbox load is kept, and so is what the load brings back', { timeout: 10_000 }, async () => {
  const id = await newRoom();
  const data = new Map<string, OutboxEntry[]>();
  const key = `${server.url}|user:u-ana|${id}`;
  data.set(key, [{ client_id: 'c_from_last_page', body: 'from the last page', created_at: new Date().toISOString() }]);
  let open_!: () => void;
  const gate = new Promise<void>((r) => (open_ = r));
  // An asynchronous store (IndexedDB-like): it reads when the read actually happens.
  const slow: OutboxStorage = {
    load: async (k) => (await gate, data.get(k) ?? []),
    save: (k, entries) => void (entries.length ? data.set(k, entries) : data.delete(k)),
  };
  const room = open(mintToken(OWNER), { outboxStorage: slow }).room(id);
  const sending = room.send('written during the load');
  await new Promise((r) => setImmediate(r));
  open_();
  await room.connect();
  const stored: ChatMessage = await sending;
  await waitFor(() => room.outboxSize === 0 && room.messages.length === 2, 'both sent');
  assert.deepEqual(room.messages.map((m) => [m.seq, m.body]), [
    [1, 'from the last page'],
    [2, 'written during the load'],
  ]);
  assert.equal(stored.seq, 2);
  await waitFor(() => !data.has(key), 'the outbox is empty in storage');
});

test('notifications refused for good are replaced by the next notifications() call, which opens with a good token', { timeout: 10_000 }, async () => {
  let good = false;
  const c = open(() => mintToken(OWNER, good ? 3600 : -60));
  const refused = c.notifications();
  const errors: string[] = [];
  refused.on('error', (e) => errors.push(e.code));
  await waitFor(() => refused.status === 'closed', 'refused twice');
  assert.deepEqual(errors, ['unauthorized']);
  good = true;
  const fresh = c.notifications();
  assert.notEqual(fresh, refused);
  await waitFor(() => fresh.status === 'open', 'the new notifications socket opens');
  assert.equal(c.notifications(), fresh);
});

test('client.me names the person of the token in use: at once for a string token, after the first request for a token function', { timeout: 10_000 }, async () => {
  const named = open(mintToken(OWNER));
  assert.deepEqual(named.me, { id: 'u-ana', role: 'user', name: 'Ana' });
  const provided = open(async () => mintToken(ADMIN));
  assert.equal(provided.me, undefined);
  await provided.rooms({ limit: 1 });
  assert.deepEqual(provided.me, { id: 'a-bo', role: 'workshop_admin', name: 'Bo' });
  assert.equal(open('not-a-jwt').me, undefined);
});
