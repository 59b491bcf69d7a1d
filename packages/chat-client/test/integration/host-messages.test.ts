// What the host's backend puts in a conversation (contract v1.2): system messages, `data` on any
// message, and erasure (`message_redacted`). Against the real server, and against the scripted peer
// for frames written on cue.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { WebSocket } from 'ws';
import type { ChatMessage, Message, RoomInfo } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, SERVICE, serverForFile, storedMessages, waitFor } from '../helpers.js';
import { ContractPeer } from '../peer.js';

const { server, clients } = serverForFile();
const peers: ContractPeer[] = [];
after(async () => {
  for (const p of peers) await p.close();
});
const open = (...args: Parameters<typeof client>) => {
  const c = client(...args);
  clients.push(c);
  return c;
};

let rooms = 0;
async function service(method: 'PUT' | 'POST' | 'DELETE', path: string, body?: object): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${mintToken(SERVICE)}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
}
async function putRoom(): Promise<string> {
  const res = await service('PUT', `/api/service-requests/sr-host-${++rooms}/`, { user_id: OWNER.sub, workshop_id: ADMIN.workshop_id, title: 'Brakes' });
  assert.equal(res.status, 201);
  return ((await res.json()) as RoomInfo).id;
}

const QUOTE = { kind: 'quote', quote_id: 'q-7', total: { amount: 12000, currency: 'EUR' }, lines: ['pads', 'discs'] };
// A message as a UI reads it, its local state aside.
const wire = ({ state, error, ...m }: ChatMessage) => m;

test('a system message from the host reaches both sides, as neither side\'s own, unread for both, with its data', { timeout: 10_000 }, async () => {
  const id = await putRoom();
  const ana = open(server.url, mintToken(OWNER)).room(id);
  const bo = open(server.url, mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  const own: boolean[] = [];
  for (const room of [ana, bo]) room.on('message', (e) => own.push(e.own));
  const res = await service('POST', `/api/service-requests/${id}/messages/`, { body: 'Your quote is ready', data: QUOTE });
  assert.equal(res.status, 201);
  await waitFor(() => ana.messages.length === 1 && bo.messages.length === 1, 'both sides have it');
  for (const room of [ana, bo]) {
    const [m] = room.messages;
    assert.deepEqual([m!.sender.id, m!.sender.role, m!.body, m!.data, m!.state], [SERVICE.sub, 'system', 'Your quote is ready', QUOTE, 'sent']);
    assert.equal(room.unread(), 1);
  }
  assert.deepEqual(own, [false, false]);
});

test('data given to send() is stored and comes back as given, over the socket, over REST and in history', { timeout: 10_000 }, async () => {
  const id = await putRoom();
  const ana = open(server.url, mintToken(OWNER)).room(id);
  const bo = open(server.url, mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  const overSocket = await ana.send('I accept the quote', { accepted: true, quote_id: 'q-7' });
  // Never connected: its send goes by REST.
  const overRest = await open(server.url, mintToken(OWNER)).room(id).send('and one more', QUOTE);
  assert.deepEqual([overSocket.data, overRest.data], [{ accepted: true, quote_id: 'q-7' }, QUOTE]);
  await waitFor(() => bo.messages.length === 2, 'the other side has both');
  assert.deepEqual(bo.messages.map((m) => m.data), [{ accepted: true, quote_id: 'q-7' }, QUOTE]);
  assert.deepEqual((await storedMessages(server.url, id)).map((m) => m.data), [{ accepted: true, quote_id: 'q-7' }, QUOTE]);
  const plain = await ana.send('no data');
  assert.equal('data' in plain, false);
});

test("an erasure reaches an open room as message_redacted: the message becomes the server's redacted form, with a redacted event", { timeout: 10_000 }, async () => {
  const id = await putRoom();
  const ana = open(server.url, mintToken(OWNER)).room(id);
  const bo = open(server.url, mintToken(ADMIN)).room(id);
  await Promise.all([ana.connect(), bo.connect()]);
  await ana.send('call me on 555 0100', { phone: '555 0100' });
  await bo.send('will do');
  await waitFor(() => bo.messages.length === 2, 'both messages on the other side');
  const redacted: ChatMessage[] = [];
  bo.on('redacted', (e) => redacted.push(e.message));
  // The contract names no status for it: any success will do, the room is the subject here.
  const res = await service('DELETE', `/api/users/${OWNER.sub}/messages/`);
  assert.equal(res.ok, true, `DELETE answered ${res.status}`);
  await waitFor(() => redacted.length === 1, 'the redacted event');
  const fromServer = await storedMessages(server.url, id);
  assert.deepEqual(bo.messages.map(wire), fromServer);
  assert.deepEqual(redacted.map(wire), [fromServer[0]]);
  assert.deepEqual([fromServer[0]!.body, fromServer[0]!.sender.name, fromServer[0]!.redacted, 'data' in fromServer[0]!], ['', null, true, false]);
  assert.equal(bo.messages[1]!.body, 'will do');
});

// The scripted peer: frames the server on this branch does not send yet, written on cue.
async function peerRoom() {
  const peer = await new ContractPeer().listen();
  peers.push(peer);
  let socket: WebSocket | undefined;
  peer.onSocket = (ws) => {
    socket = ws;
    peer.ready(ws);
  };
  const room = open(peer.url, mintToken(OWNER)).room('r_peer');
  const push = (frame: object) => socket!.send(JSON.stringify(frame));
  return { peer, room, push };
}

const message = (seq: number, sender: Message['sender'], body: string, data?: Record<string, unknown>): Message => ({
  id: `m${seq}`,
  request_id: 'r_peer',
  seq,
  sender,
  body,
  client_id: null,
  created_at: '2026-12-07T10:00:00.000Z',
  ...(data && { data }),
});

test('message_redacted replaces the held message with its redacted form, keeps its seq and place, and emits redacted and change', { timeout: 10_000 }, async () => {
  const { peer, room, push } = await peerRoom();
  peer.stored.push(message(1, { id: 'a-bo', role: 'workshop_admin', name: 'Bo' }, 'the code is 1234', QUOTE), message(2, { id: 'a-bo', role: 'workshop_admin', name: 'Bo' }, 'see you'));
  await room.connect();
  const events: string[] = [];
  room.on('change', () => events.push('change'));
  room.on('redacted', (e) => events.push(`redacted ${e.message.seq}`));
  push({ type: 'message_redacted', request_id: 'r_peer', seq: 1 });
  await waitFor(() => events.length === 2, 'the events');
  assert.deepEqual(events, ['change', 'redacted 1']);
  assert.deepEqual(room.messages.map(wire), [
    { id: 'm1', request_id: 'r_peer', seq: 1, sender: { id: 'a-bo', role: 'workshop_admin', name: null }, body: '', client_id: null, created_at: '2026-12-07T10:00:00.000Z', redacted: true },
    message(2, { id: 'a-bo', role: 'workshop_admin', name: 'Bo' }, 'see you'),
  ]);
  // One the room does not hold (older than its history) changes nothing: a later fetch has it redacted.
  push({ type: 'message_redacted', request_id: 'r_peer', seq: 40 });
  push({ type: 'message', message: message(3, { id: 'a-bo', role: 'workshop_admin', name: 'Bo' }, 'next') });
  await waitFor(() => room.messages.length === 3, 'the next message');
  assert.deepEqual(events, ['change', 'redacted 1', 'change']);
});

test('a system message whose sender id is the viewer\'s own is still not theirs: unread, never own', { timeout: 10_000 }, async () => {
  const { room, push } = await peerRoom();
  await room.connect();
  const own: boolean[] = [];
  room.on('message', (e) => own.push(e.own));
  push({ type: 'message', message: message(1, { id: OWNER.sub, role: 'system', name: 'MotoReach' }, 'Booked for Monday', { slot: 'mon-9' }) });
  await waitFor(() => own.length === 1, 'the message');
  assert.deepEqual(own, [false]);
  assert.equal(room.unread(), 1);
  assert.deepEqual(room.messages[0]!.data, { slot: 'mon-9' });
});
