import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { UserExport } from '@motoreach/protocol';
import type { Message } from '../src/chat/types.js';
import { admin, api, createRoom, owner, startTestServer, suiteServer, tempDir, token, unique } from './helpers/harness.js';
import { dropTestDatabase, openTestStore, testStoreKind, unclosable } from './helpers/test-store.js';

/** The host's backend: `role: "service"`, signed with the same key as the participants' tokens. */
const service = (id = 'host-backend') => token({ sub: id, role: 'service' });

const bySeat = (a: Message, b: Message) => a.request_id.localeCompare(b.request_id) || a.seq - b.seq;

describe('GET /api/users/{user_id}/export/ (contract v1.2)', () => {
  const server = suiteServer();
  const call = (method: string, path: string, auth: string, body?: unknown) => api(server.url, method, path, auth, body);
  const send = async (roomId: string, auth: string, body: string, clientId?: string) => {
    const res = await call('POST', `/api/service-requests/${roomId}/messages/`, auth, { body, ...(clientId && { client_id: clientId }) });
    assert.equal(res.status, 201);
    return res.body.message as Message;
  };

  test('answers the rooms the person owns, as stored, and every message they sent in any room and role', async () => {
    const ana = unique('u');
    const workshop = unique('w');
    const other = unique('w');
    const own = await createRoom(server.url, owner(ana, 'Ana'), workshop, 'Brakes squeak');
    const hostId = unique('sr');
    const put = await call('PUT', `/api/service-requests/${hostId}/`, service(), {
      user_id: ana,
      workshop_id: workshop,
      title: 'Oil change',
      user_name: 'Ana Pérez',
      workshop_name: 'Garage Bo',
    });
    assert.equal(put.status, 201);
    // A room of somebody else, where Ana writes as an admin of another workshop (ids are per person, not per role).
    const elsewhere = await createRoom(server.url, owner(unique('u')), other, 'Tyres');

    const sent = [
      await send(own.id, owner(ana, 'Ana'), 'Hello', 'c-1'),
      await send(hostId, owner(ana, 'Ana'), 'When can I come?'),
      await send(elsewhere.id, admin(ana, other, 'Ana at the desk'), 'Tomorrow at nine'),
    ];
    // Not hers: the workshop's answer in her room.
    await send(own.id, admin(unique('a'), workshop), 'Come on Monday');
    await call('POST', `/api/service-requests/${own.id}/messages/read/`, owner(ana), {});

    const res = await fetch(`${server.url}/api/users/${encodeURIComponent(ana)}/export/`, { headers: { authorization: `Bearer ${service()}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as UserExport;

    const detail = async (id: string, unread: number) => ({ ...(await call('GET', `/api/service-requests/${id}/`, service())).body, unread });
    assert.deepEqual(Object.keys(body), ['user_id', 'rooms', 'messages', 'attachments']);
    assert.equal(body.user_id, ana);
    // Newest activity first, as her inbox orders them; her unread in each as stored.
    assert.deepEqual(body.rooms, [await detail(own.id, 0), await detail(hostId, 0)]);
    assert.equal(body.rooms[1]?.user_name, 'Ana Pérez');
    assert.equal(body.rooms[1]?.workshop_name, 'Garage Bo');
    assert.deepEqual([...body.messages].sort(bySeat), [...sent].sort(bySeat));
    assert.deepEqual(
      sent.map((m) => [m.sender.role, m.sender.name, m.client_id]),
      [
        ['user', 'Ana', 'c-1'],
        ['user', 'Ana', null],
        ['workshop_admin', 'Ana at the desk', null],
      ],
    );
  });

  test('a person with nothing stored gets an empty export', async () => {
    const nobody = unique('u');
    const res = await call('GET', `/api/users/${nobody}/export/`, service());
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { user_id: nobody, rooms: [], messages: [], attachments: [] });
  });

  test('participants are refused (403), even about themselves; an invalid id is 400 invalid', async () => {
    const ana = unique('u');
    await createRoom(server.url, owner(ana), 'w-1');
    for (const auth of [owner(ana), admin(unique('a'), 'w-1')]) {
      const res = await call('GET', `/api/users/${ana}/export/`, auth);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'forbidden');
    }
    const tooLong = await call('GET', `/api/users/${'x'.repeat(1025)}/export/`, service());
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.code, 'invalid');
    const loneSurrogate = await call('GET', '/api/users/%ED%A0%80/export/', service());
    assert.equal(loneSurrogate.status, 400);
    assert.equal(loneSurrogate.body.error.code, 'invalid');
    assert.equal((await call('GET', `/api/users/${ana}/export/`, token({ sub: 'x', role: 'admin' }))).status, 401);
  });
});

describe('an export larger than a page', () => {
  test('is streamed (no Content-Length) and holds every message once: 1,200 of hers among others', async () => {
    const dataDir = tempDir();
    const store = await openTestStore(dataDir);
    const server = await startTestServer({ dataDir }, { store: unclosable(store) });
    try {
      const ana = unique('u');
      const rooms = await Promise.all(Array.from({ length: 12 }, () => createRoom(server.url, owner(ana), 'w-1', 'Service')));
      const writes: Promise<unknown>[] = [];
      const appendTo = (roomId: string, count: number, sender: { id: string; role: 'user' | 'workshop_admin' }) =>
        writes.push(
          (async () => {
            for (let i = 0; i < count; i++) {
              await store.appendMessage({
                request_id: roomId,
                sender: { ...sender, name: null },
                side: sender.role === 'user' ? 'user' : 'workshop',
                body: `${sender.id} ${i}`,
                client_id: null,
              });
            }
          })(),
        );
      for (const room of rooms) {
        appendTo(room.id, 100, { id: ana, role: 'user' });
        appendTo(room.id, 10, { id: 'a-bo', role: 'workshop_admin' });
      }
      // On SQLite, more rows than one step of the scan (SCAN_ROWS) reads, hers spread over several steps.
      if (testStoreKind === 'sqlite') {
        const filler = await createRoom(server.url, owner(unique('u')), 'w-2');
        await Promise.all(
          Array.from({ length: 21_000 }, (_, i) =>
            store.appendMessage({ request_id: filler.id, sender: { id: 'u-filler', role: 'user', name: null }, side: 'user', body: `f${i}`, client_id: null }),
          ),
        );
      }
      await Promise.all(writes);

      const res = await fetch(`${server.url}/api/users/${ana}/export/`, { headers: { authorization: `Bearer ${service()}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), null);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
      const body = (await res.json()) as { rooms: Array<{ id: string }>; messages: Message[] };
      assert.deepEqual(body.rooms.map((r) => r.id).sort(), rooms.map((r) => r.id).sort());
      assert.equal(body.messages.length, 1200);
      const seen = new Set(body.messages.map((m) => `${m.request_id}/${m.seq}`));
      assert.equal(seen.size, 1200);
      for (const m of body.messages) assert.equal(m.sender.id, ana);
      const perRoom = new Map<string, string[]>();
      for (const m of [...body.messages].sort(bySeat)) perRoom.set(m.request_id, [...(perRoom.get(m.request_id) ?? []), m.body]);
      for (const room of rooms) {
        assert.deepEqual(
          perRoom.get(room.id),
          Array.from({ length: 100 }, (_, i) => `${ana} ${i}`),
        );
      }
    } finally {
      await server.stop();
      await store.close();
      await dropTestDatabase(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('an export that fails midway', () => {
  test('cuts the connection after the pages already sent: the client never gets a complete-looking answer', async () => {
    const dataDir = tempDir();
    const real = await openTestStore(dataDir);
    // The store fails after its first page of messages, as a disk or a database lost midway would.
    const store = new Proxy(unclosable(real), {
      get(target, property) {
        if (property !== 'exportMessages') return Reflect.get(target, property, target);
        return (senderId: string) =>
          (async function* () {
            for await (const page of real.exportMessages(senderId)) yield page;
            throw new Error('the storage went away');
          })();
      },
    });
    const server = await startTestServer({ dataDir }, { store });
    try {
      const ana = unique('u');
      const room = await createRoom(server.url, owner(ana), 'w-1');
      assert.equal((await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, owner(ana), { body: 'Hello' })).status, 201);
      const res = await fetch(`${server.url}/api/users/${ana}/export/`, { headers: { authorization: `Bearer ${service()}` } });
      assert.equal(res.status, 200);
      await assert.rejects(res.text(), /terminated/);
      // The server goes on serving.
      assert.equal((await api(server.url, 'GET', `/api/users/${ana}/export/`, owner(ana))).status, 403);
    } finally {
      await server.stop();
      await real.close();
      await dropTestDatabase(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
