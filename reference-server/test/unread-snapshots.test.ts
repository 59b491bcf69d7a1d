import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { api, createRoom, startTestServer, TestSocket, type TestServer, token, socketTracker, unique } from './helpers/harness.js';
import { startFaultyServer } from './helpers/faulty-store.js';

/**
 * The `unread` snapshots a read owes its side's notifications sockets
 * (contract section 6): a read answers without waiting for one, and a burst of
 * reads shares them, since each holds every room with unread.
 */

const { track, closeAll } = socketTracker();

function people() {
  const workshop = unique('w');
  const owner = unique('u');
  return {
    workshop,
    owner: token({ sub: owner, role: 'user', name: 'Ana' }),
    admin: token({ sub: unique('a'), role: 'workshop_admin', workshop_id: workshop, name: 'Bo' }),
  };
}

describe('unread snapshots after reads', () => {
  const servers: TestServer[] = [];
  afterEach(closeAll);
  after(async () => {
    await closeAll();
    for (const server of servers) await server.stop();
  });

  /** A room with `n` messages from the admin, unread by the owner, and the owner's notifications socket. */
  async function setUp(server: TestServer, n: number) {
    const p = people();
    const room = await createRoom(server.url, p.owner, p.workshop);
    for (let i = 1; i <= n; i++) await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, p.admin, { body: `m${i}` });
    const socket = track(TestSocket.notifications(server, p.owner));
    await socket.ready();
    const read = (seq: number) => api(server.url, 'POST', `/api/service-requests/${room.id}/messages/read/`, p.owner, { last_read_seq: seq });
    return { p, room, socket, read };
  }

  test('a read answers while its snapshot is still being read from the store', async () => {
    const { server, store } = await startFaultyServer();
    servers.push(server);
    const { room, socket, read } = await setUp(server, 3);
    const held = store.hold('unread');
    const res = await read(2);
    assert.deepEqual(res.body, { read_cursors: { user: 2, workshop: 0 }, unread: 1 });
    await held.reached;
    assert.equal(socket.of('unread').length, 1);
    held.release();
    assert.deepEqual(await socket.until((fs) => fs.filter((f) => f.type === 'unread')[1], 'the snapshot'), {
      type: 'unread',
      total: 1,
      rooms: { [room.id]: 1 },
    });
  });

  test('reads right after one that published share the next snapshot instead of one each', async () => {
    const server = await startTestServer({ limits: { unreadSnapshotWindowMs: 600_000 } });
    servers.push(server);
    const { p, room, socket, read } = await setUp(server, 4);
    await read(1);
    assert.deepEqual(await socket.until((fs) => fs.filter((f) => f.type === 'unread')[1], 'the first read’s snapshot'), {
      type: 'unread',
      total: 3,
      rooms: { [room.id]: 3 },
    });
    for (const seq of [2, 3, 4]) assert.equal((await read(seq)).body.unread, 4 - seq);
    // Marker: a notification published after those reads reaches the socket after anything they published.
    const marker = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, p.admin, { body: 'marker' });
    await socket.next('notification', (f) => f.message.id === marker.body.message.id);
    assert.equal(socket.of('unread').length, 2);
  });

  test('the window’s end publishes what the reads in it changed', async () => {
    const server = await startTestServer({ limits: { unreadSnapshotWindowMs: 50 } });
    servers.push(server);
    const { socket, read } = await setUp(server, 3);
    await read(1);
    await read(2);
    await read(3);
    // No read follows the last one: only the window's end can publish its snapshot.
    const last = await socket.until((fs) => fs.find((f) => f.type === 'unread' && f.total === 0), 'a snapshot after the last read');
    assert.deepEqual(last, { type: 'unread', total: 0, rooms: {} });
  });
});
