import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { admin, api, owner, startTestServer, suiteServer, TestSocket, token, unique, type Frame } from './helpers/harness.js';

/** The host's backend: `role: "service"`; its `name` claim, when it has one, names its system messages. */
const service = (name?: string) => token({ sub: 'host-backend', role: 'service', ...(name !== undefined && { name }) });

/** Host-defined content as an integrator would send it: nested, non-ASCII, keys a document store treats specially. */
const QUOTE = {
  kind: 'quote',
  quote: { id: 'q-7', total: 120.5, currency: 'EUR', lines: [{ label: 'Brake pads – front', price: 80 }, { label: 'Labour 🔧', price: 40.5 }] },
  $set: 'kept as given',
  'a.b': null,
  accepted: false,
};

/** A room under the host's id with fresh principals, and the participants' tokens. */
async function hostRoom(base: string) {
  const id = unique('sr');
  const user = unique('u');
  const workshop = unique('w');
  const res = await api(base, 'PUT', `/api/service-requests/${id}/`, service(), { user_id: user, workshop_id: workshop, title: 'Brakes' });
  assert.equal(res.status, 201);
  return { id, user, workshop, ana: owner(user, 'Ana'), bo: admin(unique('a'), workshop, 'Bo') };
}

/**
 * Each side's unread in the room by counting its history (the messages not the side's own past the
 * side's cursor), to hold the server's counters against.
 */
async function recount(base: string, id: string): Promise<{ user: number; workshop: number }> {
  const history = await api(base, 'GET', `/api/service-requests/${id}/messages/?limit=100`, service());
  const { messages, read_cursors } = history.body as { messages: Frame[]; read_cursors: { user: number; workshop: number } };
  const count = (side: 'user' | 'workshop', own: string) => messages.filter((m) => m.sender.role !== own && m.seq > read_cursors[side]).length;
  return { user: count('user', 'user'), workshop: count('workshop', 'workshop_admin') };
}

describe('system messages: a service’s sends (contract v1.2)', () => {
  const server = suiteServer();
  const post = (id: string, auth: string, body: unknown) => api(server.url, 'POST', `/api/service-requests/${id}/messages/`, auth, body);
  const unread = async (auth: string) => (await api(server.url, 'GET', '/api/notifications/unread/', auth)).body;

  test('is stored with sender.role "system" from the token, broadcast to both sides’ chat sockets, notified and counted unread on both sides', async () => {
    const { id, ana, bo } = await hostRoom(server.url);
    assert.equal((await post(id, ana, { body: 'Hi' })).status, 201);
    const chats = [TestSocket.chat(server, id, ana), TestSocket.chat(server, id, bo)];
    const bells = [TestSocket.notifications(server, ana), TestSocket.notifications(server, bo)];
    await Promise.all([...chats, ...bells].map((s) => s.ready()));

    const sent = await post(id, service('MotoReach'), { body: 'Your quote is ready', client_id: 'quote-q-7', data: QUOTE });
    assert.equal(sent.status, 201);
    const message = sent.body.message;
    assert.deepEqual(message, {
      id: message.id,
      request_id: id,
      seq: 2,
      sender: { id: 'host-backend', role: 'system', name: 'MotoReach' },
      body: 'Your quote is ready',
      data: QUOTE,
      client_id: 'quote-q-7',
      created_at: message.created_at,
    });
    for (const chat of chats) assert.deepEqual(await chat.next('message'), { type: 'message', message });
    const note = (count: number, total: number) => ({
      type: 'notification',
      kind: 'message',
      request_id: id,
      message: { id: message.id, seq: 2, sender: message.sender, body: 'Your quote is ready', data: QUOTE, created_at: message.created_at },
      unread: { count, total },
    });
    assert.deepEqual(await bells[0]!.next('notification'), note(1, 1), 'the owner: the system’s message');
    assert.deepEqual(await bells[1]!.next('notification'), note(2, 2), 'the workshop: the owner’s and the system’s');
    assert.deepEqual(await unread(ana), { total: 1, rooms: { [id]: 1 } });
    assert.deepEqual(await unread(bo), { total: 2, rooms: { [id]: 2 } });
    assert.deepEqual(await recount(server.url, id), { user: 1, workshop: 2 });

    // Without a name claim the sender has none; a system message may be its data alone.
    const card = await post(id, service(), { body: '  ', data: { kind: 'status', step: 'parts ordered' } });
    assert.equal(card.status, 201);
    assert.deepEqual([card.body.message.sender, card.body.message.body], [{ id: 'host-backend', role: 'system', name: null }, '']);
    for (const auth of [ana, bo]) {
      const inbox = await api(server.url, 'GET', '/api/service-requests/', auth);
      const [row] = inbox.body.service_requests;
      assert.deepEqual([row.id, row.last_message], [id, card.body.message], 'the inbox row’s last message, data and all');
    }
    const read = await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, ana, { last_read_seq: 2 });
    assert.deepEqual(read.body, { read_cursors: { user: 2, workshop: 0 }, unread: 1 }, 'the owner read past one system message');
    assert.deepEqual(await recount(server.url, id), { user: 1, workshop: 3 });
    assert.deepEqual([await unread(ana), await unread(bo)], [{ total: 1, rooms: { [id]: 1 } }, { total: 3, rooms: { [id]: 3 } }]);
  });

  test('a repeated client_id answers the stored message (200) and neither broadcasts nor counts it again', async () => {
    const { id, ana, bo } = await hostRoom(server.url);
    const chat = TestSocket.chat(server, id, ana);
    await chat.ready();
    const first = await post(id, service(), { body: 'Quote ready', client_id: 'q-1', data: { total: 1 } });
    const again = await post(id, service(), { body: 'Quote ready!', client_id: 'q-1', data: { total: 2 } });
    assert.deepEqual([first.status, again.status], [201, 200]);
    assert.deepEqual(again.body.message, first.body.message, 'the stored message, data as first given');
    // A later message shows the repeat was not broadcast in between.
    await post(id, bo, { body: 'Thanks' });
    await chat.next('message', (f) => f.message.seq === 2);
    assert.deepEqual(chat.of('message').map((f) => [f.message.seq, f.message.body]), [[1, 'Quote ready'], [2, 'Thanks']]);
    assert.deepEqual([await unread(ana), await unread(bo)], [{ total: 2, rooms: { [id]: 2 } }, { total: 1, rooms: { [id]: 1 } }]);
    assert.deepEqual(await recount(server.url, id), { user: 2, workshop: 1 });
  });

  test('a closed room refuses a system message (409 closed) and stores nothing', async () => {
    const { id, user, workshop, ana } = await hostRoom(server.url);
    await api(server.url, 'PUT', `/api/service-requests/${id}/`, service(), { user_id: user, workshop_id: workshop, title: 'Brakes', status: 'closed' });
    const refused = await post(id, service(), { body: 'Quote ready', data: { total: 1 } });
    assert.deepEqual([refused.status, refused.body], [409, { error: { code: 'closed', message: 'this service request is closed; it takes no new messages' } }]);
    const history = await api(server.url, 'GET', `/api/service-requests/${id}/messages/`, ana);
    assert.deepEqual(history.body.messages, []);
    assert.deepEqual(await unread(ana), { total: 0, rooms: {} });
  });

  test('a participant cannot send as the system: the sender is always the token’s, and its body is never empty', async () => {
    const { id, user, ana } = await hostRoom(server.url);
    const sent = await post(id, ana, { body: 'Hello', sender: { id: 'host-backend', role: 'system', name: 'MotoReach' }, role: 'system' });
    assert.equal(sent.status, 201);
    assert.deepEqual(sent.body.message.sender, { id: user, role: 'user', name: 'Ana' });
    const empty = await post(id, ana, { body: ' ', data: { kind: 'card' } });
    assert.deepEqual([empty.status, empty.body.error], [400, { code: 'invalid', message: 'body must not be empty' }]);
    const bare = await post(id, service(), { body: '' });
    assert.deepEqual([bare.status, bare.body.error], [400, { code: 'invalid', message: 'body must not be empty' }], 'no text and no data');
  });
});

describe('data on any message (contract v1.2)', () => {
  const server = suiteServer();
  const post = (id: string, auth: string, body: unknown) => api(server.url, 'POST', `/api/service-requests/${id}/messages/`, auth, body);

  test('a participant’s data round-trips exactly: the frames, history, the inbox, the notification, a repeat’s answer; none means no field', async () => {
    const { id, ana, bo } = await hostRoom(server.url);
    const ownerChat = TestSocket.chat(server, id, ana);
    const adminChat = TestSocket.chat(server, id, bo);
    const bell = TestSocket.notifications(server, ana);
    await Promise.all([ownerChat, adminChat, bell].map((s) => s.ready()));
    // As raw text: an own "__proto__" key, and a lone surrogate, both kept.
    const raw = '{"offer":{"__proto__":{"x":1},"lone":"\\ud800","n":[1,2.5,-0.5,true,null,{}]},"$where":"1"}';
    const data = JSON.parse(raw);
    adminChat.send(`{"type":"message","body":"Offer","client_id":"offer-1","data":${raw}}`);
    const frame = await ownerChat.next('message');
    const message = frame.message;
    assert.deepEqual(message.data, data);
    assert.deepEqual(Object.keys(message.data.offer), ['__proto__', 'lone', 'n'], 'an own key, not a prototype');
    assert.deepEqual((await adminChat.next('message')).message, message);
    assert.deepEqual((await bell.next('notification')).message.data, data);
    const history = await api(server.url, 'GET', `/api/service-requests/${id}/messages/`, ana);
    assert.deepEqual(history.body.messages, [message]);
    const inbox = await api(server.url, 'GET', '/api/service-requests/', ana);
    assert.deepEqual(inbox.body.service_requests[0].last_message, message);
    adminChat.send({ type: 'message', body: 'Offer', client_id: 'offer-1' });
    await adminChat.until((frames) => frames.filter((f) => f.type === 'message').length === 2, 'the repeat’s answer');
    assert.deepEqual(adminChat.of('message')[1], { type: 'message', message }, 'a repeat is answered with the stored data');

    const plain = await post(id, bo, { body: 'No data', client_id: 'plain-1' });
    const plainFrame = await ownerChat.next('message', (f) => f.message.seq === 2);
    const plainHistory = (await api(server.url, 'GET', `/api/service-requests/${id}/messages/?after=1`, ana)).body.messages[0];
    const plainRow = (await api(server.url, 'GET', '/api/service-requests/', ana)).body.service_requests[0].last_message;
    for (const m of [plain.body.message, plainFrame.message, plainHistory, plainRow]) {
      assert.deepEqual(Object.keys(m), ['id', 'request_id', 'seq', 'sender', 'body', 'client_id', 'created_at']);
    }
    const plainNote = await bell.next('notification', (f) => f.message.seq === 2);
    assert.deepEqual(Object.keys(plainNote.message), ['id', 'seq', 'sender', 'body', 'created_at']);
    await Promise.all([ownerChat, adminChat, bell].map((s) => s.close()));
  });

  test('data over 4 KiB of UTF-8 JSON, or not an object, is refused (400 invalid; a WS error frame with the client_id, the socket open) and nothing is stored', async () => {
    const { id, ana, bo } = await hostRoom(server.url);
    // {"t":"…"} is 8 bytes around the text; "é" is 2 bytes: 4096 bytes in 2,052 characters.
    const fits = { t: 'é'.repeat(2044) };
    const over = { t: `${'é'.repeat(2044)}x` };
    assert.deepEqual([Buffer.byteLength(JSON.stringify(fits)), Buffer.byteLength(JSON.stringify(over))], [4096, 4097]);
    const tooBig = await post(id, ana, { body: 'Big', data: over });
    assert.deepEqual([tooBig.status, tooBig.body], [400, { error: { code: 'invalid', message: 'data: must be at most 4096 bytes as JSON' } }]);
    for (const data of [[1, 2], null, 'text', 5]) {
      const res = await post(id, ana, { body: 'Odd', data });
      assert.deepEqual([res.status, res.body], [400, { error: { code: 'invalid', message: 'data: must be a JSON object' } }], JSON.stringify(data));
    }
    assert.equal((await post(id, service(), { body: 'Big', data: over })).status, 400, 'a service’s too');

    const chat = TestSocket.chat(server, id, bo);
    await chat.ready();
    chat.send({ type: 'message', body: 'Big', client_id: 'big-1', data: over });
    assert.deepEqual(await chat.next('error'), { type: 'error', code: 'invalid', message: 'data: must be at most 4096 bytes as JSON', client_id: 'big-1' });
    chat.send({ type: 'message', body: 'List', client_id: 'list-1', data: [] });
    assert.deepEqual(await chat.next('error', (f) => f.client_id === 'list-1'), {
      type: 'error',
      code: 'invalid',
      message: 'data: must be a JSON object',
      client_id: 'list-1',
    });
    chat.send({ type: 'message', body: 'Fits', client_id: 'fits-1', data: fits });
    const stored = await chat.next('message');
    assert.deepEqual([stored.message.seq, stored.message.data], [1, fits], 'the socket stayed open, and 4096 bytes fit');
    const history = await api(server.url, 'GET', `/api/service-requests/${id}/messages/`, ana);
    assert.deepEqual(history.body.messages.map((m: Frame) => m.client_id), ['fits-1']);
    await chat.close();
  });
});

test('system messages keep both sides’ counters equal to a recount through reads, a reassignment and a restart', async () => {
  let server = await startTestServer();
  const { dataDir } = server;
  try {
    const { id, user, ana, bo } = await hostRoom(server.url);
    const newWorkshop = unique('w-new');
    const cy = admin(unique('a'), newWorkshop, 'Cy');
    const post = (auth: string, body: unknown) => api(server.url, 'POST', `/api/service-requests/${id}/messages/`, auth, body);
    const unread = async (auth: string) => (await api(server.url, 'GET', '/api/notifications/unread/', auth)).body;
    const expect = async (counts: { user: number; workshop: number }, workshopAuth: string, oldAuth?: string) => {
      assert.deepEqual(await recount(server.url, id), counts);
      const rooms = (n: number) => (n > 0 ? { [id]: n } : {});
      assert.deepEqual(await unread(ana), { total: counts.user, rooms: rooms(counts.user) });
      assert.deepEqual(await unread(workshopAuth), { total: counts.workshop, rooms: rooms(counts.workshop) });
      if (oldAuth) assert.deepEqual(await unread(oldAuth), { total: 0, rooms: {} });
      const read = await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, ana, { last_read_seq: 0 });
      assert.equal(read.body.unread, counts.user);
    };
    await post(ana, { body: 'Brakes squeak' });
    await post(service(), { body: 'Workshop notified' });
    await post(bo, { body: 'Bring it Monday' });
    await post(service(), { body: 'Appointment booked', data: { at: '2026-12-14T09:00:00Z' } });
    await expect({ user: 3, workshop: 3 }, bo);
    await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, bo, { last_read_seq: 2 });
    await expect({ user: 3, workshop: 1 }, bo);

    await api(server.url, 'PUT', `/api/service-requests/${id}/`, service(), { user_id: user, workshop_id: newWorkshop, title: 'Brakes' });
    await post(service(), { body: 'Reassigned to Garage Nord' });
    await expect({ user: 4, workshop: 2 }, cy, bo);

    await server.close();
    server = await startTestServer({ dataDir });
    await expect({ user: 4, workshop: 2 }, cy, bo);
    await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, ana, {});
    await api(server.url, 'POST', `/api/service-requests/${id}/messages/read/`, cy, { last_read_seq: 4 });
    await expect({ user: 0, workshop: 1 }, cy, bo);
  } finally {
    await server.stop();
  }
});
