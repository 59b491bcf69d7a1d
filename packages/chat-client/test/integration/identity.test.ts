// A pending message belongs to the person who wrote it: it is never relabelled nor sent under the
// name of someone else the token provider starts answering for; signOut() wipes a person from the
// device; stored messages that waited too long are not sent.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type ChatClient, ChatError, type ChatMessage, memoryOutbox, type OutboxEntry, type OutboxStorage } from '../../src/index.js';
import { ADMIN, type Claims, client, mintToken, OWNER, removeDir, type ServerProcess, spawnServer, storedMessages, unhandled, waitFor } from '../helpers.js';

// Another admin of Bo's workshop: a participant of the same rooms.
const CY: Claims = { sub: 'a-cy', role: 'workshop_admin', workshop_id: 'w-1', name: 'Cy' };

const clients: ChatClient[] = [];
let server: ServerProcess;
after(async () => {
  for (const c of clients) c.close();
  await server.kill();
  removeDir(server.dataDir);
  assert.deepEqual(unhandled, []);
});

const open = (token: string | (() => string | Promise<string>), extra = {}) => {
  const c = client(server.url, token, extra);
  clients.push(c);
  return c;
};
const newRoom = async () => (await open(mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title: 'Clutch' })).id;
const entries = async (storage: OutboxStorage, key: string) => (await storage.load(key)).map((e) => e.body);
const onServer = async (id: string) => (await storedMessages(server.url, id)).map((m) => [m.seq, m.sender.id, m.body]);
const now = () => new Date().toISOString();

test('Bo writes while the server is away, the provider switches to Cy: nothing goes as Cy; Bo\'s message goes as Bo when Bo signs in again', { timeout: 30_000 }, async () => {
  server = await spawnServer();
  const { port, dataDir } = server;
  const id = await newRoom();
  const bosKey = `${server.url}|workshop:a-bo|${id}`;
  await server.kill();

  // One page, one client, a provider answering for whoever is signed in. Bo's token ran out while
  // the server was away, so the server refuses it when it is back and the provider is asked again.
  const storage = memoryOutbox();
  let signedIn = mintToken(ADMIN, -60);
  const page = open(() => signedIn, { outboxStorage: storage });
  const room = page.room(id);
  const bos = room.send('Bo: the part arrives Tuesday');
  await waitFor(() => (storage.load(bosKey) as OutboxEntry[]).length === 1, "Bo's message in Bo's outbox");
  assert.deepEqual(room.messages.map((m) => [m.sender.id, m.state]), [['a-bo', 'pending']]);

  signedIn = mintToken(CY);
  server = await spawnServer({ port, dataDir });
  await room.connect();
  await assert.rejects(bos, (e: ChatError) => e instanceof ChatError && e.code === 'aborted' && e.message === 'Signed in as another person');
  assert.deepEqual(room.me, { id: 'a-cy', role: 'workshop_admin', name: 'Cy' });
  // Cy writes: sends go in order, so had Bo's message been relabelled it would be stored first.
  const cys = await room.send('Cy: I can take it');
  assert.equal(cys.sender.id, 'a-cy');
  assert.deepEqual(await onServer(id), [[1, 'a-cy', 'Cy: I can take it']]);
  assert.deepEqual(room.messages.map((m) => [m.sender.id, m.body, m.state]), [['a-cy', 'Cy: I can take it', 'sent']]);
  assert.deepEqual(await entries(storage, bosKey), ['Bo: the part arrives Tuesday'], "still in Bo's outbox");
  assert.deepEqual(await entries(storage, `${server.url}|workshop:a-cy|${id}`), []);

  // Bo signs in again, on a new page over the same storage: the message goes, as Bo.
  const bo = open(mintToken(ADMIN), { outboxStorage: storage }).room(id);
  await bo.connect();
  await waitFor(() => bo.outboxSize === 0 && bo.messages.length === 2, "Bo's message stored");
  assert.deepEqual(await onServer(id), [
    [1, 'a-cy', 'Cy: I can take it'],
    [2, 'a-bo', 'Bo: the part arrives Tuesday'],
  ]);
  await waitFor(() => (storage.load(bosKey) as OutboxEntry[]).length === 0, "Bo's outbox emptied");
});

test('a REST send whose token is refreshed to another person (401, then the provider answers for Cy) is not made', { timeout: 20_000 }, async () => {
  const id = await newRoom();
  const storage = memoryOutbox();
  let signedIn = mintToken(ADMIN, -60);
  const posts: string[] = [];
  // The room is never connected: its messages go by REST. This fetch sees who each POST is for; while
  // Bo's first one is under way, Bo signs out and Cy signs in.
  const spy = (url: string, init: RequestInit) => {
    if (init.method === 'POST') {
      posts.push(JSON.parse(Buffer.from((init.headers as Record<string, string>).authorization!.split('.')[1]!, 'base64url').toString()).sub);
      signedIn = mintToken(CY);
    }
    return fetch(url, init);
  };
  const room = open(() => signedIn, { outboxStorage: storage, fetch: spy as typeof fetch }).room(id);
  const bos = room.send('Bo: call me back');
  await assert.rejects(bos, { code: 'aborted', message: 'Signed in as another person' });
  // Not a refusal of the message: it is not shown failed (nor at all: the room is Cy's now), it waits for Bo.
  assert.deepEqual(room.messages, []);
  assert.equal(room.outboxSize, 0);
  // One POST with Bo's (refused) token; none with Cy's.
  assert.deepEqual(posts, ['a-bo']);
  const cys = await room.send('Cy: on it');
  assert.deepEqual(posts, ['a-bo', 'a-cy']);
  assert.equal(cys.seq, 1);
  assert.deepEqual(await onServer(id), [[1, 'a-cy', 'Cy: on it']]);
  assert.deepEqual(await entries(storage, `${server.url}|workshop:a-bo|${id}`), ['Bo: call me back']);
});

test("a socket open as Bo while the token is refreshed to Cy's (a 401 elsewhere): what is written next is Cy's and never goes on Bo's socket", { timeout: 20_000 }, async () => {
  const id = await newRoom();
  // Bo's token runs out in two seconds; the next one the provider gives is Cy's.
  const tokens = [mintToken(ADMIN, 2), mintToken(CY)];
  let asked = 0;
  const page = open(() => tokens[Math.min(asked++, 1)]!);
  const room = page.room(id);
  await room.connect();
  assert.equal(room.me?.id, 'a-bo');
  // Some other request of the page meets the expired token: 401, and the provider answers for Cy.
  // (The socket opened with Bo's token stays open meanwhile.)
  while (asked < 2) {
    await page.rooms().catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
  }
  const sent = await room.send('Cy: written after the refresh');
  assert.equal(sent.sender.id, 'a-cy');
  assert.deepEqual(await onServer(id), [[1, 'a-cy', 'Cy: written after the refresh']]);
  await waitFor(() => room.me?.id === 'a-cy' && room.status === 'open', 'the room reopened as Cy');
});

test('signOut() closes everything and removes that person\'s unsent messages for this server, every room; another person\'s stay', { timeout: 20_000 }, async () => {
  const [r1, r2] = [await newRoom(), await newRoom()];
  const storage = memoryOutbox();
  const key = (who: string, room: string, base = server.url) => `${base}|${who}|${room}`;
  // What earlier pages left: Bo's in a room this client never opens, Ana's, and Bo's on another server.
  await storage.save(key('workshop:a-bo', r2), [{ client_id: 'c_old', body: 'Bo: from an earlier page', created_at: now() }]);
  await storage.save(key('user:u-ana', r1), [{ client_id: 'c_ana', body: 'Ana: hers', created_at: now() }]);
  await storage.save(key('workshop:a-bo', r1, 'https://other.example'), [{ client_id: 'c_other', body: 'Bo: elsewhere', created_at: now() }]);

  const bo = open(mintToken(ADMIN), { outboxStorage: storage, fetch: () => Promise.reject(new TypeError('offline')) });
  const room = bo.room(r1);
  const notes = bo.notifications();
  const pending = room.send('PRIVATE: my door code is 4711');
  await waitFor(() => (storage.load(key('workshop:a-bo', r1)) as OutboxEntry[]).length === 1, 'stored');

  await bo.signOut();
  await assert.rejects(pending, { code: 'aborted' });
  assert.equal(room.status, 'closed');
  assert.equal(notes.status, 'closed');
  assert.deepEqual(room.messages, []);
  assert.equal(room.outboxSize, 0);
  assert.deepEqual(await entries(storage, key('workshop:a-bo', r1)), []);
  assert.deepEqual(await entries(storage, key('workshop:a-bo', r2)), []);
  assert.deepEqual(await entries(storage, key('user:u-ana', r1)), ['Ana: hers']);
  assert.deepEqual(await entries(storage, key('workshop:a-bo', r1, 'https://other.example')), ['Bo: elsewhere']);
  // What the client writes afterwards stays in memory.
  void room.send('after signing out').catch(() => {});
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(await entries(storage, key('workshop:a-bo', r1)), []);
});

test('signOut() with a storage that has no clear(): the keys this client opened are emptied', { timeout: 20_000 }, async () => {
  const id = await newRoom();
  const data = new Map<string, OutboxEntry[]>();
  // A storage written before clear() existed.
  const legacy: OutboxStorage = {
    load: (k) => data.get(k) ?? [],
    save: (k, e) => void (e.length ? data.set(k, e) : data.delete(k)),
  };
  data.set(`${server.url}|user:u-ana|${id}`, [{ client_id: 'c_ana', body: 'Ana: hers', created_at: now() }]);
  const bo = open(mintToken(ADMIN), { outboxStorage: legacy, fetch: () => Promise.reject(new TypeError('offline')) });
  void bo.room(id).send('Bo: pending').catch(() => {});
  await waitFor(() => data.has(`${server.url}|workshop:a-bo|${id}`), 'stored');
  await bo.signOut();
  assert.deepEqual([...data.keys()], [`${server.url}|user:u-ana|${id}`]);
});

test('stored messages older than outboxMaxAgeMs are not sent: they show as failed (expired) and leave storage; younger ones go', { timeout: 20_000 }, async () => {
  const id = await newRoom();
  const storage = memoryOutbox();
  const key = `${server.url}|user:u-ana|${id}`;
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  await storage.save(key, [
    { client_id: 'c_8_days', body: 'eight days old', created_at: ago(8 * 864e5) },
    { client_id: 'c_6_days', body: 'six days old', created_at: ago(6 * 864e5) },
  ]);
  const room = open(mintToken(OWNER), { outboxStorage: storage }).room(id);
  await room.connect();
  await waitFor(() => room.outboxSize === 0, 'the young one sent');
  assert.deepEqual(room.messages.map((m) => [m.body, m.state, m.error?.code]), [
    ['six days old', 'sent', undefined],
    ['eight days old', 'failed', 'expired'],
  ]);
  assert.equal(room.messages[1]!.error!.clientId, 'c_8_days');
  assert.deepEqual(await onServer(id), [[1, 'u-ana', 'six days old']]);
  await waitFor(() => (storage.load(key) as OutboxEntry[]).length === 0, 'storage emptied');
  // retry() sends it anyway: the writer decided.
  const sent: ChatMessage = await room.retry('c_8_days');
  assert.equal(sent.seq, 2);

  // Configurable: one minute.
  const other = await newRoom();
  const short = memoryOutbox();
  await short.save(`${server.url}|user:u-ana|${other}`, [
    { client_id: 'c_2_min', body: 'two minutes old', created_at: ago(120_000) },
    { client_id: 'c_now', body: 'just written', created_at: now() },
  ]);
  const quick = open(mintToken(OWNER), { outboxStorage: short, outboxMaxAgeMs: 60_000 }).room(other);
  await quick.connect();
  await waitFor(() => quick.outboxSize === 0, 'sent');
  assert.deepEqual(quick.messages.map((m) => [m.body, m.state, m.error?.code]), [
    ['just written', 'sent', undefined],
    ['two minutes old', 'failed', 'expired'],
  ]);
  assert.deepEqual((await storedMessages(server.url, other)).map((m) => m.body), ['just written']);
});
