// A room the host closed (contract v1.2) refuses sends for good with `closed`, on either path; the
// SDK's own stop (close(), another person signed in) is `aborted`, and the message waits.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ChatError, memoryOutbox, type RoomInfo } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, SERVICE, serverForFile, storedMessages, TcpProxy, waitFor } from '../helpers.js';

const { server, clients } = serverForFile();
const proxies: TcpProxy[] = [];
after(async () => {
  for (const p of proxies) await p.close();
});
const open = (...args: Parameters<typeof client>) => {
  const c = client(...args);
  clients.push(c);
  return c;
};

let rooms = 0;
// A room under the host's id, put by its backend, as the contract's service route does: created
// (201) without an id, updated (200) with one.
async function putRoom(status: 'open' | 'closed', id?: string, names: Pick<RoomInfo, 'user_name' | 'workshop_name'> | {} = {}): Promise<string> {
  const res = await fetch(`${server.url}/api/service-requests/${id ?? `sr-closed-${++rooms}`}/`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${mintToken(SERVICE)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: OWNER.sub, workshop_id: ADMIN.workshop_id, title: 'Brakes', status, ...names }),
  });
  assert.equal(res.status, id ? 200 : 201);
  return ((await res.json()) as RoomInfo).id;
}

const summary = (r: RoomInfo | null) => r && [r.status, r.title, r.user_name, r.workshop_name];

test('room.info comes with connect() (in ready, no request for it) and follows the host: closed and named, then reopened, with a room event each time', { timeout: 10_000 }, async () => {
  const id = await putRoom('open');
  const requests: string[] = [];
  const recording: typeof fetch = (url, init) => (requests.push(`${init?.method} ${new URL(String(url)).pathname}`), fetch(url, init));
  const room = open(server.url, mintToken(OWNER), { fetch: recording }).room(id);
  const seen: unknown[] = [];
  room.on('room', (r) => seen.push(summary(r)));
  const before = room.info;
  await room.connect();
  assert.equal(before, null);
  assert.deepEqual([room.info?.id, room.info?.user_id, room.info?.workshop_id, summary(room.info)], [id, OWNER.sub, ADMIN.workshop_id, ['open', 'Brakes', null, null]]);
  assert.equal('read_cursors' in room.info!, false, 'the room alone, its cursors are readCursors');
  assert.deepEqual(requests, ['POST /api/ws-tickets/']);

  await putRoom('closed', id, { user_name: 'Ana Silva', workshop_name: 'MotoWerk Porto' });
  await waitFor(() => seen.length === 2, 'the room frame');
  assert.deepEqual(summary(room.info), ['closed', 'Brakes', 'Ana Silva', 'MotoWerk Porto']);
  await assert.rejects(room.send('while closed'), { code: 'closed' });

  await putRoom('open', id);
  await waitFor(() => seen.length === 3, 'the second room frame');
  assert.deepEqual(seen, [
    ['open', 'Brakes', null, null],
    ['closed', 'Brakes', 'Ana Silva', 'MotoWerk Porto'],
    ['open', 'Brakes', 'Ana Silva', 'MotoWerk Porto'],
  ]);
  const stored = await room.send('after the reopen');
  assert.deepEqual([stored.seq, stored.state], [1, 'sent']);
  assert.deepEqual(room.messages.map((m) => [m.body, m.state, m.error?.code]), [
    ['after the reopen', 'sent', undefined],
    ['while closed', 'failed', 'closed'],
  ]);
});

test('a message queued offline for a room the host closes meanwhile fails for good with closed once the connection is back, and leaves the outbox', { timeout: 15_000 }, async () => {
  const id = await putRoom('open');
  const p = await new TcpProxy(server.port).listen();
  proxies.push(p);
  const port = p.port;
  const storage = memoryOutbox();
  const room = open(p.url, mintToken(OWNER), { outboxStorage: storage }).room(id);
  await room.connect();
  await p.close();
  proxies.splice(proxies.indexOf(p), 1);
  await waitFor(() => room.status === 'reconnecting', 'offline');
  const pending = room.send('written offline');
  const key = `${p.url}|user:${OWNER.sub}|${id}`;
  await waitFor(() => (storage.load(key) as unknown[]).length === 1, 'in the outbox');
  // Closed while the room could not hear it: no room frame reaches it.
  await putRoom('closed', id);
  proxies.push(await new TcpProxy(server.port).listen(port));
  const refused = await pending.then(
    () => assert.fail('stored in a closed room'),
    (e: ChatError) => e,
  );
  assert.deepEqual([refused.code, refused.clientId], ['closed', room.messages[0]!.client_id]);
  assert.deepEqual(room.messages.map((m) => [m.body, m.state, m.error?.code]), [['written offline', 'failed', 'closed']]);
  assert.equal(room.outboxSize, 0);
  await waitFor(() => (storage.load(key) as unknown[]).length === 0, 'gone from the outbox storage');
  await waitFor(() => room.info?.status === 'closed', 'the detail fetched on reconnect tells the status');
  assert.deepEqual(await storedMessages(server.url, id), []);

  // Reopened: the failed message goes with retry().
  await putRoom('open', id);
  await waitFor(() => room.info?.status === 'open', 'reopened');
  const stored = await room.retry(room.messages[0]!);
  assert.deepEqual([stored.body, stored.seq], ['written offline', 1]);
  assert.deepEqual((await storedMessages(server.url, id)).map((m) => m.body), ['written offline']);
});

test("the notifications socket hands on the host's changes to a participant's rooms as room events", { timeout: 10_000 }, async () => {
  const id = await putRoom('open');
  const notes = open(server.url, mintToken(ADMIN)).notifications();
  await waitFor(() => notes.status === 'open', 'notifications open');
  const seen: RoomInfo[] = [];
  notes.on('room', (r) => seen.push(r));
  await putRoom('closed', id, { user_name: 'Ana Silva' });
  await waitFor(() => seen.length === 1, 'the room event');
  assert.deepEqual([seen[0]!.id, ...summary(seen[0]!)!], [id, 'closed', 'Brakes', 'Ana Silva', null]);
});

test('a message sent by REST to a room the host closed fails for good with closed (409), never retried', { timeout: 10_000 }, async () => {
  const id = await putRoom('closed', await putRoom('open'));
  let posts = 0;
  const counting = ((url: string, init: RequestInit) => (init.method === 'POST' && posts++, fetch(url, init))) as typeof fetch;
  const room = open(server.url, mintToken(OWNER), { fetch: counting }).room(id);
  await assert.rejects(room.send('after the close'), (e: ChatError) => e instanceof ChatError && e.code === 'closed' && e.status === 409);
  assert.deepEqual(room.messages.map((m) => [m.body, m.state, m.error?.code]), [['after the close', 'failed', 'closed']]);
  assert.equal(room.outboxSize, 0);
  assert.equal(posts, 1);
  assert.deepEqual(await storedMessages(server.url, id), []);
});

test('a message sent over the socket to a room the host closed fails for good with closed (error frame)', { timeout: 10_000 }, async () => {
  const id = await putRoom('open');
  const room = open(server.url, mintToken(OWNER)).room(id);
  await room.connect();
  await putRoom('closed', id);
  const refused = await room.send('after the close').then(
    () => assert.fail('stored in a closed room'),
    (e: ChatError) => e,
  );
  assert.deepEqual([refused.code, refused.message, refused.clientId], ['closed', 'this service request is closed; it takes no new messages', room.messages[0]!.client_id]);
  assert.equal(refused.status, undefined, 'answered on the socket, not by REST');
  assert.deepEqual(room.messages.map((m) => [m.state, m.error?.code]), [['failed', 'closed']]);
  assert.equal(room.status, 'open', 'reads go on');
  assert.deepEqual(await storedMessages(server.url, id), []);
});

test('close() rejects a pending send with aborted: the message stays in the outbox and goes with the next Room of that id', { timeout: 10_000 }, async () => {
  const id = await putRoom('open');
  const storage = memoryOutbox();
  // Offline: the message waits in the outbox.
  const offline = open(server.url, mintToken(OWNER), { outboxStorage: storage, fetch: () => Promise.reject(new TypeError('offline')) });
  const room = offline.room(id);
  const pending = room.send('written offline');
  const key = `${server.url}|user:${OWNER.sub}|${id}`;
  await waitFor(() => (storage.load(key) as unknown[]).length === 1, 'in the outbox');
  room.close();
  await assert.rejects(pending, { name: 'ChatError', code: 'aborted', message: 'Room closed' });
  assert.deepEqual(room.messages.map((m) => [m.body, m.state]), [['written offline', 'pending']]);
  assert.equal(room.outboxSize, 1);
  assert.deepEqual((await storage.load(key)).map((e) => e.body), ['written offline']);

  const next = open(server.url, mintToken(OWNER), { outboxStorage: storage }).room(id);
  await next.connect();
  await waitFor(() => next.outboxSize === 0 && next.messages.length === 1, 'sent');
  assert.deepEqual((await storedMessages(server.url, id)).map((m) => [m.seq, m.body]), [[1, 'written offline']]);
});
