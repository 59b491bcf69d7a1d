import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import mongoose from 'mongoose';
import type { Message } from '../src/chat/types.js';
import type { ChatStore } from '../src/store/store.js';
import {
  admin,
  api,
  createRoom,
  eventually,
  owner,
  socketTracker,
  startTestServer,
  suiteServer,
  tempDir,
  TestSocket,
  token,
  unique,
  type TestServer,
} from './helpers/harness.js';
import { redisMissing, RedisServer } from './helpers/redis-server.js';
import { pendingEventBodies } from './helpers/webhook-outbox.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';
import { dbNameFor, dropTestDatabase, openTestStore, testMongoUri, testStoreKind, unclosable } from './helpers/test-store.js';

/** The host's backend: `role: "service"`, signed with the same key as the participants' tokens. */
const service = (id = 'host-backend') => token({ sub: id, role: 'service' });

/** A message as an erasure leaves it: in its place, its content gone. */
const redactedForm = (m: Message): Message => ({
  ...m,
  sender: { ...m.sender, name: null },
  body: '',
  redacted: true,
});

describe('DELETE /api/users/{user_id}/messages/ (contract v1.2)', () => {
  const sockets = socketTracker();
  const server = suiteServer({}, sockets);
  const call = (method: string, path: string, auth: string, body?: unknown) => api(server.url, method, path, auth, body);
  const send = async (roomId: string, auth: string, body: string, clientId?: string) => {
    const res = await call('POST', `/api/service-requests/${roomId}/messages/`, auth, { body, ...(clientId && { client_id: clientId }) });
    assert.equal(res.status, 201);
    return res.body.message as Message;
  };
  const history = async (roomId: string) => (await call('GET', `/api/service-requests/${roomId}/messages/?after=0`, service())).body.messages as Message[];

  /** Two rooms of Ana at one workshop: three messages of hers among the workshop's, some of them read. */
  async function conversation() {
    const ana = unique('u');
    const workshop = unique('w');
    const bo = admin(unique('a'), workshop, 'Bo');
    const first = await createRoom(server.url, owner(ana, 'Ana'), workshop, 'Brakes');
    const second = await createRoom(server.url, owner(ana, 'Ana'), workshop, 'Oil');
    await send(first.id, owner(ana, 'Ana'), 'My plate is 1234-ABC', 'c-1');
    await send(first.id, bo, 'Thanks, come on Monday');
    await send(first.id, owner(ana, 'Ana'), 'I live at Calle Mayor 5');
    await send(second.id, bo, 'Your oil change is due');
    await send(second.id, owner(ana, 'Ana'), 'Call me on 600 123 456');
    // Read cursors on both sides, and unread left on both sides.
    await call('POST', `/api/service-requests/${first.id}/messages/read/`, bo, { last_read_seq: 1 });
    await call('POST', `/api/service-requests/${first.id}/messages/read/`, owner(ana), {});
    return { ana, workshop, bo, first, second };
  }

  /** Everything an erasure must not move: the rooms' seqs and cursors, both sides' unread, the inboxes' counts. */
  async function counters(c: Awaited<ReturnType<typeof conversation>>) {
    const rooms = await Promise.all([c.first.id, c.second.id].map((id) => call('GET', `/api/service-requests/${id}/`, service())));
    const inbox = async (auth: string) =>
      ((await call('GET', '/api/service-requests/', auth)).body.service_requests as Array<{ id: string; unread: number; last_seq: number }>).map(
        (r) => [r.id, r.unread, r.last_seq],
      );
    return {
      rooms: rooms.map((r) => [r.body.last_seq, r.body.read_cursors]),
      unread: [(await call('GET', '/api/notifications/unread/', owner(c.ana))).body, (await call('GET', '/api/notifications/unread/', c.bo)).body],
      inboxes: [await inbox(owner(c.ana)), await inbox(c.bo)],
    };
  }

  test('redacts every message the person sent, in every room; seqs, cursors and unread counts stay', async () => {
    const c = await conversation();
    const before = { first: await history(c.first.id), second: await history(c.second.id), counters: await counters(c) };
    assert.deepEqual(before.counters.rooms, [
      [3, { user: 3, workshop: 1 }],
      [2, { user: 0, workshop: 0 }],
    ]);

    const res = await call('DELETE', `/api/users/${c.ana}/messages/`, service());
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { redacted: 3 });

    const [m1, m2, m3] = before.first as [Message, Message, Message];
    const [n1, n2] = before.second as [Message, Message];
    assert.deepEqual(await history(c.first.id), [redactedForm(m1), m2, redactedForm(m3)]);
    assert.deepEqual(await history(c.second.id), [n1, redactedForm(n2)]);
    assert.deepEqual((await history(c.first.id))[0], {
      id: m1.id,
      request_id: c.first.id,
      seq: 1,
      sender: { id: c.ana, role: 'user', name: null },
      body: '',
      client_id: 'c-1',
      created_at: m1.created_at,
      redacted: true,
    });
    assert.deepEqual(await counters(c), before.counters);
    // The inbox's last message is the stored one, redacted too.
    const inbox = (await call('GET', '/api/service-requests/', c.bo)).body.service_requests as Array<{ id: string; last_message: Message }>;
    assert.deepEqual(inbox.find((r) => r.id === c.second.id)?.last_message, redactedForm(n2));
    // A repeated client_id answers the stored message, as it now is; nothing new is stored.
    const repeat = await call('POST', `/api/service-requests/${c.first.id}/messages/`, owner(c.ana, 'Ana'), { body: 'again', client_id: 'c-1' });
    assert.equal(repeat.status, 200);
    assert.deepEqual(repeat.body.message, redactedForm(m1));

    // Idempotent: a repeat finds nothing left and changes nothing.
    const again = await call('DELETE', `/api/users/${c.ana}/messages/`, service());
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { redacted: 0 });
    assert.deepEqual(await history(c.first.id), [redactedForm(m1), m2, redactedForm(m3)]);
    assert.deepEqual(await counters(c), before.counters);
  });

  test('a person who wrote as an admin too: every message with their id is redacted, whatever the role', async () => {
    const ana = unique('u');
    const workshop = unique('w');
    const own = await createRoom(server.url, owner(ana, 'Ana'), workshop);
    const theirs = await createRoom(server.url, owner(unique('u')), workshop);
    const mine = await send(own.id, owner(ana, 'Ana'), 'As an owner');
    const asAdmin = await send(theirs.id, admin(ana, workshop, 'Ana at the desk'), 'As an admin');
    const kept = await send(theirs.id, admin(unique('a'), workshop), 'A colleague');
    const res = await call('DELETE', `/api/users/${ana}/messages/`, service());
    assert.deepEqual(res.body, { redacted: 2 });
    assert.deepEqual(await history(own.id), [redactedForm(mine)]);
    assert.deepEqual(await history(theirs.id), [redactedForm(asAdmin), kept]);
  });

  test('open chat sockets of each room get message_redacted for each seq; a later resume reads the redacted form', async () => {
    const c = await conversation();
    const watchers = {
      first: [sockets.track(TestSocket.chat(server, c.first.id, owner(c.ana))), sockets.track(TestSocket.chat(server, c.first.id, c.bo))],
      second: [sockets.track(TestSocket.chat(server, c.second.id, c.bo))],
    };
    const other = await createRoom(server.url, owner(unique('u')), c.workshop);
    const bystander = sockets.track(TestSocket.chat(server, other.id, c.bo));
    for (const s of [...watchers.first, ...watchers.second, bystander]) await s.ready();

    assert.deepEqual((await call('DELETE', `/api/users/${c.ana}/messages/`, service())).body, { redacted: 3 });
    const redactions = async (socket: TestSocket, count: number) =>
      (await socket.until((frames) => {
        const got = frames.filter((f) => f.type === 'message_redacted');
        return got.length >= count && got;
      }, `${count} message_redacted frames`)).map((f) => f);
    for (const s of watchers.first) {
      assert.deepEqual(await redactions(s, 2), [
        { type: 'message_redacted', request_id: c.first.id, seq: 1 },
        { type: 'message_redacted', request_id: c.first.id, seq: 3 },
      ]);
    }
    assert.deepEqual(await redactions(watchers.second[0]!, 1), [{ type: 'message_redacted', request_id: c.second.id, seq: 2 }]);
    // The bystander's room had nothing of hers: a ping's answer comes after anything published before it.
    bystander.send({ type: 'ping' });
    await bystander.next('pong');
    assert.deepEqual(bystander.of('message_redacted'), []);

    // A client that comes back fetches its gap (here, all) and reads the redacted form.
    const resumed = sockets.track(TestSocket.chat(server, c.first.id, owner(c.ana)));
    assert.equal((await resumed.ready()).last_seq, 3);
    const gap = await call('GET', `/api/service-requests/${c.first.id}/messages/?after=0`, owner(c.ana));
    assert.deepEqual(
      gap.body.messages.map((m: Message) => [m.seq, m.body, m.redacted ?? false]),
      [
        [1, '', true],
        [2, 'Thanks, come on Monday', false],
        [3, '', true],
      ],
    );
  });

  test('participants are refused (403), even about themselves, and nothing is redacted; an invalid id is 400 invalid', async () => {
    const c = await conversation();
    const before = await history(c.first.id);
    for (const auth of [owner(c.ana), c.bo]) {
      const res = await call('DELETE', `/api/users/${c.ana}/messages/`, auth);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'forbidden');
    }
    const invalid = await call('DELETE', `/api/users/${'x'.repeat(1025)}/messages/`, service());
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'invalid');
    assert.deepEqual(await history(c.first.id), before);
  });
});

describe('an erasure on one server reaches the sockets of another over Redis', { skip: redisMissing }, () => {
  let redis: RedisServer;
  let store: ChatStore;
  let dataDir: string;
  const nodes: TestServer[] = [];
  const sockets = socketTracker();

  before(async () => {
    redis = await RedisServer.start();
    dataDir = tempDir();
    store = await openTestStore(dataDir);
    for (let i = 0; i < 2; i++) nodes.push(await startTestServer({ redisUrl: redis.url }, { store: unclosable(store) }));
  });
  after(async () => {
    await sockets.closeAll();
    await Promise.all(nodes.map((node) => node.stop()));
    await store?.close();
    await dropTestDatabase(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    await redis?.stop();
  });

  test('message_redacted from A reaches a chat socket on B', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const ana = unique('u');
    const room = await createRoom(a.url, owner(ana), 'w-1');
    for (const body of ['one', 'two']) {
      assert.equal((await api(a.url, 'POST', `/api/service-requests/${room.id}/messages/`, owner(ana), { body })).status, 201);
    }
    const onB = sockets.track(TestSocket.chat(b, room.id, admin('a-bo', 'w-1')));
    await onB.ready();
    assert.deepEqual((await api(a.url, 'DELETE', `/api/users/${ana}/messages/`, service())).body, { redacted: 2 });
    await onB.until((frames) => frames.filter((f) => f.type === 'message_redacted').length === 2, 'two message_redacted frames');
    assert.deepEqual(onB.of('message_redacted'), [
      { type: 'message_redacted', request_id: room.id, seq: 1 },
      { type: 'message_redacted', request_id: room.id, seq: 2 },
    ]);
  });
});

describe('nothing of an erased message is left in the SQLite files', { skip: testStoreKind === 'mongodb' && 'about the SQLite files' }, () => {
  const server = suiteServer();
  const files = () => ['motoreach-chat.sqlite3', 'motoreach-chat.sqlite3-wal', 'motoreach-chat.sqlite3-shm'].map((name) => join(server.dataDir, name));
  const bytes = (file: string) => (existsSync(file) ? readFileSync(file) : Buffer.alloc(0));
  const holds = (marker: string) => files().filter((file) => bytes(file).includes(marker));

  test('the database file, its WAL and its index hold no byte of the text, short or long (overflow pages), nor of its data', async () => {
    const ana = unique('u');
    const room = await createRoom(server.url, owner(ana), 'w-1');
    const other = owner(unique('u'));
    const otherRoom = await createRoom(server.url, other, 'w-1');
    const short = `secret-${unique('marker')}`;
    const long = `overflow-${unique('marker')}`;
    const inData = `data-${unique('marker')}`;
    const post = (id: string, auth: string, body: string, data?: object) =>
      api(server.url, 'POST', `/api/service-requests/${id}/messages/`, auth, { body, ...(data && { data }) });
    // Around them, enough other messages to fill and split pages: the erased cells sit amid others' rows.
    for (let i = 0; i < 150; i++) {
      assert.equal((await post(otherRoom.id, other, `filler ${i} ${'x'.repeat(200)}`)).status, 201);
      if (i === 70) assert.equal((await post(room.id, owner(ana), `My plate: ${short}`, { address: inData })).status, 201);
      // Two bytes a character in UTF-8: about 8 KB, more than a 4 KiB page holds, so it spills onto overflow pages.
      if (i === 80) assert.equal((await post(room.id, owner(ana), `${long} ${'é'.repeat(3900)}`)).status, 201);
    }
    // Written, so the check below is one that can fail.
    assert.ok(holds(short).length > 0, 'the short text is in the files before the erasure');
    assert.ok(holds(long).length > 0, 'the long text is in the files before the erasure');
    assert.ok(holds(inData).length > 0, 'the data is in the files before the erasure');

    const res = await api(server.url, 'DELETE', `/api/users/${ana}/messages/`, service());
    assert.deepEqual(res.body, { redacted: 2 });

    assert.deepEqual(holds(short), []);
    assert.deepEqual(holds(long), []);
    assert.deepEqual(holds(inData), []);
    assert.equal(bytes(files()[1]!).length, 0, 'the WAL is truncated');
    // The others' messages are all there, unchanged.
    const kept = await api(server.url, 'GET', `/api/service-requests/${otherRoom.id}/messages/?before=151&limit=100`, other);
    assert.equal(kept.body.messages.at(-1).body, `filler 149 ${'x'.repeat(200)}`);
  });

  test('a reader holding the WAL (a backup tool, the sqlite3 shell) fails the erasure with 503 after the redaction; the repeat leaves no byte', async () => {
    const ana = unique('u');
    const room = await createRoom(server.url, owner(ana), 'w-1');
    const secret = `held-${unique('marker')}`;
    assert.equal((await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, owner(ana), { body: secret })).status, 201);
    const reader = new Database(files()[0]!, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM messages').get();

    const failed = await api(server.url, 'DELETE', `/api/users/${ana}/messages/`, service());
    assert.equal(failed.status, 503);
    assert.equal(failed.body.error.code, 'unavailable');
    assert.equal(failed.body.error.message, 'the chat server cannot store this right now; retry shortly');
    // Redacted already, as everyone reads it; only the WAL, held by the reader, still has the text.
    const history = await api(server.url, 'GET', `/api/service-requests/${room.id}/messages/`, owner(ana));
    assert.deepEqual(history.body.messages.map((m: Message) => [m.body, m.redacted]), [['', true]]);
    assert.ok(holds(secret).length > 0, 'the old pages are still in the files while the reader holds them');

    reader.exec('COMMIT');
    reader.close();
    const repeated = await api(server.url, 'DELETE', `/api/users/${ana}/messages/`, service());
    assert.deepEqual([repeated.status, repeated.body], [200, { redacted: 0 }]);
    assert.deepEqual(holds(secret), []);
    assert.equal(bytes(files()[1]!).length, 0, 'the WAL is truncated');
  });
});

describe('webhook events waiting for delivery lose the erased content too', () => {
  const { receiver, server } = WebhookReceiver.suite(
    {},
    { webhookTuning: { retryScheduleMs: Array(10_000).fill(50), pollMs: 20, unreadAfterMs: 100, reminderScanMs: 50 } },
  );
  // Down until the test says otherwise: every attempt fails and is retried soon, so the events wait.
  receiver.answer = () => ({ status: 503 });

  test("message.created and a reminder's oldest unread hold the text and data until the erasure, then go out redacted", async () => {
    const ana = unique('u');
    const room = await createRoom(server.url, owner(ana, 'Ana'), unique('w'));
    const text = `secret-${unique('marker')}`;
    const inData = `data-${unique('marker')}`;
    const post = async (body: string, data?: object) => {
      const res = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, owner(ana, 'Ana'), { body, ...(data && { data }) });
      assert.equal(res.status, 201);
      return res.body.message as Message;
    };
    const sent = [await post(`My plate: ${text}`, { address: inData }), await post(`Still ${text}`)];
    // The workshop has read nothing: its reminder names Ana's first message as the oldest unread.
    await eventually(async () => (await pendingEventBodies(server.dataDir)).some((body) => body.includes('"room.unread_reminder"')), 'the reminder recorded');
    const waiting = () => pendingEventBodies(server.dataDir);
    const holding = async (marker: string) => (await waiting()).filter((body) => body.includes(marker)).length;
    // room.created waits first in the room's order, so every message-bearing event is still there.
    assert.equal(await holding(text), 3, 'both message.created and the reminder hold the text before the erasure');
    assert.equal(await holding(inData), 2, 'the first message.created and the reminder hold the data');

    assert.deepEqual((await api(server.url, 'DELETE', `/api/users/${ana}/messages/`, service())).body, { redacted: 2 });

    assert.equal((await waiting()).length, 4, 'no event is dropped');
    assert.equal(await holding(text), 0);
    assert.equal(await holding(inData), 0);
    if (testStoreKind === 'sqlite') {
      const files = ['motoreach-chat.sqlite3', 'motoreach-chat.sqlite3-wal', 'motoreach-chat.sqlite3-shm'].map((name) => join(server.dataDir, name));
      const bytes = (file: string) => (existsSync(file) ? readFileSync(file) : Buffer.alloc(0));
      assert.deepEqual(files.filter((file) => bytes(file).includes(text) || bytes(file).includes(inData)), []);
    }

    // Back up; an attempt that read its event before the erasure is refused, so only what the store now holds is taken.
    receiver.answer = (delivery) => ({ status: delivery.body.includes(text) || delivery.body.includes(inData) ? 503 : 200 });
    await receiver.until(() => receiver.acceptedFor(room.id).length === 4, 'the four events delivered');
    const events = receiver.acceptedFor(room.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['room.created', 'message.created', 'message.created', 'room.unread_reminder'],
    );
    const redacted = sent.map(({ data: _data, ...m }) => redactedForm(m));
    assert.deepEqual(
      events.slice(1, 3).map((e) => e.data.message),
      redacted,
    );
    assert.deepEqual(events[3]!.data.oldest_unread, redacted[0]);
    assert.equal(events[3]!.data.unread, 2);
  });
});

describe('an erasure rewrites the MongoDB documents themselves', { skip: testStoreKind === 'sqlite' && 'about the MongoDB documents' }, () => {
  const server = suiteServer();

  test('the stored document keeps no text, name, data or attachments, whatever fields it held', async () => {
    const ana = unique('u');
    const room = await createRoom(server.url, owner(ana, 'Ana'), 'w-1');
    const sent = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, owner(ana, 'Ana'), { body: 'My plate is 1234-ABC' });
    const conn = await mongoose.createConnection(testMongoUri(), { dbName: dbNameFor(server.dataDir) }).asPromise();
    try {
      const messages = conn.collection<{ _id: string }>('messages');
      // Content fields other versions of the server store beside the body (contract 1.2's data and attachments).
      await messages.updateOne({ _id: sent.body.message.id }, { $set: { data: { plate: '1234-ABC' }, attachments: [{ id: 'a_1', name: 'plate.jpg' }] } });
      assert.deepEqual((await api(server.url, 'DELETE', `/api/users/${ana}/messages/`, service())).body, { redacted: 1 });
      assert.deepEqual(await messages.findOne({ _id: sent.body.message.id }), {
        _id: sent.body.message.id,
        request_id: room.id,
        seq: 1,
        side: 'user',
        sender: { id: ana, role: 'user', name: null },
        body: '',
        client_id: null,
        created_at: sent.body.message.created_at,
        redacted: true,
      });
    } finally {
      await conn.close();
    }
  });
});
