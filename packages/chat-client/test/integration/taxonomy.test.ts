// The error taxonomy of contract section 9 as the SDK applies it, against a scripted peer that
// answers on cue what the reference server gives only under faults (a full disk, a restart).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ChatClient, RoomEvents } from '../../src/index.js';
import { client, mintToken, OWNER, unhandled, waitFor } from '../helpers.js';
import { ContractPeer, json } from '../peer.js';

const clients: ChatClient[] = [];
const peers: ContractPeer[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const p of peers) await p.close();
  assert.deepEqual(unhandled, []);
});

async function setup() {
  const peer = await new ContractPeer().listen();
  peers.push(peer);
  const c = client(peer.url, mintToken(OWNER));
  clients.push(c);
  return { peer, room: c.room('r_peer') };
}

for (const code of ['unavailable', 'rate_limited', 'internal']) {
  test(`a WS error frame "${code}" for a client_id keeps the message queued; it goes again with the same client_id, stored once`, { timeout: 10_000 }, async () => {
    const { peer, room } = await setup();
    let refusals = 0;
    peer.onFrame = (ws, f) => {
      if (f.type === 'message' && refusals++ < 2) {
        return ws.send(JSON.stringify({ type: 'error', code, message: 'not now', client_id: f.client_id }));
      }
      peer.store(ws, f);
    };
    await room.connect();
    const errors: string[] = [];
    room.on('error', (e) => errors.push(e.code));
    const states: string[] = [];
    room.on('change', (e) => states.push(e.messages.at(-1)!.state));
    const stored = await room.send('hello');
    assert.equal(stored.seq, 1);
    assert.deepEqual(
      peer.frames.map((f) => [f.type, f.client_id]),
      [0, 1, 2].map(() => ['message', stored.client_id]),
    );
    assert.deepEqual(peer.stored.map((m) => m.client_id), [stored.client_id]);
    assert.ok(!states.includes('failed'), `never shown failed: ${states}`);
    assert.deepEqual(errors, []);
    assert.equal(room.outboxSize, 0);
  });
}

for (const code of ['invalid', 'too_large', 'forbidden', 'not_found']) {
  test(`a WS error frame "${code}" for a client_id is final: the message fails with that code`, { timeout: 10_000 }, async () => {
    const { peer, room } = await setup();
    peer.onFrame = (ws, f) => ws.send(JSON.stringify({ type: 'error', code, message: 'no', client_id: f.client_id }));
    await room.connect();
    await assert.rejects(room.send('hello'), { name: 'ChatError', code });
    assert.deepEqual(room.messages.map((m) => [m.state, m.error?.code]), [['failed', code]]);
    assert.equal(room.outboxSize, 0);
    assert.equal(peer.frames.length, 1);
  });
}

test('REST 503 and 502 are retried with backoff, same client_id, until stored', { timeout: 10_000 }, async () => {
  const { peer, room } = await setup();
  const answers = [503, 502];
  peer.onPost = (res, b) => {
    const status = answers.shift();
    if (status) return json(res, status, { error: { code: status === 503 ? 'unavailable' : 'server', message: 'later' } });
    json(res, 201, { message: peer.save(b.client_id, b.body) });
  };
  // Never connected: it goes by REST.
  const stored = await room.send('by REST');
  assert.equal(stored.seq, 1);
  assert.equal(peer.posts.length, 3);
  assert.deepEqual(new Set(peer.posts.map((p) => p.client_id)), new Set([stored.client_id]));
});

test('closes 1001, 1011, 1012, 1013 and 4429 are transient: the room reconnects, and status says why', { timeout: 10_000 }, async () => {
  const { peer, room } = await setup();
  const codes = [1001, 1011, 1012, 1013, 4429];
  peer.onSocket = (ws, n) => {
    peer.ready(ws);
    if (n < codes.length) ws.close(codes[n]);
  };
  const seen: RoomEvents['status'][] = [];
  room.on('status', (e) => seen.push(e));
  await room.connect();
  await waitFor(() => peer.sockets === codes.length + 1 && room.status === 'open', 'open on the sixth socket');
  const reasons = seen.filter((e) => e.status === 'reconnecting').map((e) => [e.reason?.code, e.reason?.closeCode]);
  assert.deepEqual(reasons, [
    ['network', 1001],
    ['network', 1011],
    ['network', 1012],
    ['network', 1013],
    ['rate_limited', 4429],
  ]);
  assert.ok(seen.filter((e) => e.status === 'open').every((e) => e.reason === undefined));
  assert.equal(room.statusReason, undefined);
});

test('a close before the first frame keeps connecting with the reason; a dead server shows network', { timeout: 10_000 }, async () => {
  const { peer, room } = await setup();
  peer.onSocket = (ws, n) => (n === 0 ? ws.close(4429) : peer.ready(ws));
  const seen: RoomEvents['status'][] = [];
  room.on('status', (e) => seen.push(e));
  await room.connect();
  assert.deepEqual(
    seen.map((e) => [e.status, e.reason?.code]),
    [['connecting', undefined], ['connecting', 'rate_limited'], ['open', undefined]],
  );
  await peer.close();
  // Three failed opens later the reason turns to unreachable (see unreachable.test.ts).
  await waitFor(() => room.statusReason?.code === 'unreachable', 'reconnecting, unreachable');
  assert.deepEqual(
    seen.slice(3).map((e) => [e.status, e.reason?.code]),
    [['reconnecting', 'network'], ['reconnecting', 'unreachable']],
  );
});

test('with a token that is not a JWT, the first ready names the sender of pending messages, with a change', { timeout: 10_000 }, async () => {
  const peer = await new ContractPeer().listen();
  peers.push(peer);
  peer.onFrame = () => {}; // never acks: the message stays pending
  const c = client(peer.url, 'opaque-session-token');
  clients.push(c);
  const room = c.room('r_peer');
  const senders: unknown[] = [];
  room.on('change', (e) => senders.push(e.messages.map((m) => m.sender.id)));
  void room.send('before ready').catch(() => {});
  assert.deepEqual(room.messages.map((m) => [m.sender.id, m.state]), [['', 'pending']]);
  await room.connect();
  assert.deepEqual(senders, [[''], ['u-ana']]);
  assert.deepEqual(room.messages[0]!.sender, { id: 'u-ana', role: 'user', name: 'Ana' });
  assert.equal(room.messages[0]!.state, 'pending');
});
