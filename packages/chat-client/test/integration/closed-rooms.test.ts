// A room the host closed (contract v1.2) refuses sends for good with `closed`, on either path; the
// SDK's own stop (close(), another person signed in) is `aborted`, and the message waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError, memoryOutbox } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, SERVICE, serverForFile, storedMessages, waitFor } from '../helpers.js';

const { server, clients } = serverForFile();
const open = (...args: Parameters<typeof client>) => {
  const c = client(...args);
  clients.push(c);
  return c;
};

let rooms = 0;
// A room under the host's id, put by its backend, as the contract's service route does.
async function putRoom(status: 'open' | 'closed', id = `sr-closed-${++rooms}`): Promise<string> {
  const res = await fetch(`${server.url}/api/service-requests/${id}/`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${mintToken(SERVICE)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: OWNER.sub, workshop_id: ADMIN.workshop_id, title: 'Brakes', status }),
  });
  assert.equal(res.status, status === 'open' ? 201 : 200);
  return id;
}

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
