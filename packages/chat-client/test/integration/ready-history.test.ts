// Time to chat (issue 19): the socket asks `ready` to carry the room and the history it lacks
// (`?history=N`, `&after=S` on a reconnect), so no REST request follows `ready`. The requests are
// counted on the wire, through a real TCP hop between the SDK and the server.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ChatMessage, RoomInfo } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, SERVICE, serverForFile, TcpProxy, waitFor } from '../helpers.js';

const { server, clients } = serverForFile();
const proxies: TcpProxy[] = [];
after(async () => {
  for (const p of proxies) await p.close();
});
const proxy = async (port?: number): Promise<TcpProxy> => {
  const p = await new TcpProxy(server.port).listen(port);
  proxies.push(p);
  return p;
};
const open = (...args: Parameters<typeof client>) => {
  const c = client(...args);
  clients.push(c);
  return c;
};

// Every HTTP request that went through the proxy (the socket's upgrade included), its ticket masked.
const requests = (p: TcpProxy): string[] =>
  [...p.upstreamText.matchAll(/^(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.1\r$/gm)].map(([, method, path]) => `${method} ${path!.replace(/ticket=[^&]+/, 'ticket=T')}`);

let rooms = 0;
async function putRoom(): Promise<string> {
  const res = await fetch(`${server.url}/api/service-requests/sr-ready-${++rooms}/`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${mintToken(SERVICE)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: OWNER.sub, workshop_id: ADMIN.workshop_id, title: 'Brakes', status: 'open' }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as RoomInfo).id;
}

// Written by the workshop, straight to the server (not through the proxy).
async function write(id: string, ...bodies: string[]): Promise<void> {
  for (const body of bodies) {
    const res = await fetch(`${server.url}/api/service-requests/${id}/messages/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${mintToken(ADMIN)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ body, client_id: `c_${body.replace(/\W/g, '')}` }),
    });
    assert.equal(res.status, 201);
  }
}

const rows = (messages: readonly ChatMessage[]) => messages.map((m) => [m.seq, m.body]);

test('a first connect asks ready for the room and the newest page: no REST request follows ready', { timeout: 10_000 }, async () => {
  const id = await putRoom();
  await write(id, 'one', 'two', 'three');
  const p = await proxy();
  const room = open(p.url, mintToken(OWNER)).room(id);
  await room.connect();
  assert.deepEqual(requests(p), ['POST /api/ws-tickets/', `GET /ws/service-chat/${id}/?ticket=T&history=50`]);
  assert.deepEqual(rows(room.messages), [
    [1, 'one'],
    [2, 'two'],
    [3, 'three'],
  ]);
  assert.equal(room.hasOlder, false);
  assert.deepEqual([room.info?.id, room.info?.status, room.info?.title], [id, 'open', 'Brakes']);
  assert.equal('read_cursors' in room.info!, false, 'the room alone, its cursors are readCursors');
  assert.deepEqual(room.readCursors, { user: 0, workshop: 0 });
});

test('a reconnect asks for what came after the last seq held: what was written while away comes with ready, none twice, none missing', { timeout: 15_000 }, async () => {
  const id = await putRoom();
  await write(id, 'before 1', 'before 2');
  const first = await proxy();
  const port = first.port;
  const room = open(first.url, mintToken(OWNER)).room(id);
  const live: unknown[] = [];
  const resyncs: unknown[] = [];
  room.on('message', (e) => live.push([e.message.seq, e.message.body]));
  room.on('resync', (e) => resyncs.push(e));
  await room.connect();

  await first.close();
  proxies.splice(proxies.indexOf(first), 1);
  await waitFor(() => room.status === 'reconnecting', 'the connection lost');
  await write(id, 'away 3', 'away 4', 'away 5');
  const second = await proxy(port);
  await waitFor(() => room.messages.length === 5, 'what was written while away');
  await waitFor(() => resyncs.length === 1, 'the resync');

  assert.deepEqual(requests(second), ['POST /api/ws-tickets/', `GET /ws/service-chat/${id}/?ticket=T&history=100&after=2`]);
  assert.deepEqual(rows(room.messages), [
    [1, 'before 1'],
    [2, 'before 2'],
    [3, 'away 3'],
    [4, 'away 4'],
    [5, 'away 5'],
  ]);
  assert.deepEqual(live, [
    [3, 'away 3'],
    [4, 'away 4'],
    [5, 'away 5'],
  ]);
  assert.deepEqual(resyncs, [{ after: 2, fetched: 3 }]);

  // Live again on the new socket.
  await write(id, 'after 6');
  await waitFor(() => room.messages.length === 6, 'the live message');
  assert.deepEqual(live.at(-1), [6, 'after 6']);
  assert.deepEqual(requests(second).slice(2), []);
});
