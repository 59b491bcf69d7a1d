import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FaultyStore, startFaultyServer } from './helpers/faulty-store.js';
import { api, createRoom, TestSocket, token, unique, type TestServer } from './helpers/harness.js';

/** The paged inbox over REST (contract section 9) and the cost of a notification, on the real server. */
describe('paged inbox and O(1) notifications', () => {
  let server: TestServer;
  let store: FaultyStore;
  before(async () => {
    // One owner opens over a hundred rooms here, past the default ROOMS_PER_HOUR.
    ({ server, store } = await startFaultyServer({ limits: { roomsPerHour: 0 } }));
  });
  after(() => server.stop());

  const list = (auth: string, query = '') => api(server.url, 'GET', `/api/service-requests/${query}`, auth);

  async function workshopWithRooms(n: number) {
    const workshop = unique('w');
    const admin = token({ sub: unique('a'), role: 'workshop_admin', workshop_id: workshop, name: 'Bo' });
    const owner = token({ sub: unique('u'), role: 'user', name: 'Ana' });
    const rooms = [];
    for (let i = 0; i < n; i++) rooms.push(await createRoom(server.url, owner, workshop, `R${i}`));
    return { workshop, admin, owner, rooms };
  }

  test('limit defaults to 50, is clamped to 100, and pages walk every room once, newest activity first', async () => {
    const { admin, owner, rooms } = await workshopWithRooms(105);
    const sent = await api(server.url, 'POST', `/api/service-requests/${rooms[3]!.id}/messages/`, owner, { body: 'hi' });
    const first = await list(admin);
    assert.equal(first.status, 200);
    assert.deepEqual(Object.keys(first.body), ['service_requests', 'next_cursor']);
    assert.equal(first.body.service_requests.length, 50);
    assert.equal(typeof first.body.next_cursor, 'string');
    const top = first.body.service_requests[0];
    assert.deepEqual([top.id, top.unread, top.last_message], [rooms[3]!.id, 1, sent.body.message]);
    // An empty cursor is no cursor: the same first page.
    assert.deepEqual((await list(admin, '?cursor=')).body, first.body);
    const clamped = await list(admin, '?limit=150');
    assert.equal(clamped.body.service_requests.length, 100);
    const walked: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(admin, `?limit=40${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(page.status, 200);
      walked.push(...page.body.service_requests.map((r: { id: string }) => r.id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(walked, [...clamped.body.service_requests.map((r: { id: string }) => r.id), ...walked.slice(100)]);
    assert.equal(new Set(walked).size, 105);
    assert.deepEqual(new Set(walked), new Set(rooms.map((r) => r.id)));
  });

  test('a bad limit or cursor is 400 invalid', async () => {
    const { admin } = await workshopWithRooms(1);
    const badCursor = Buffer.from(JSON.stringify(['yesterday', 'r_x'])).toString('base64url');
    for (const query of ['?limit=0', '?limit=-1', '?limit=1.5', '?limit=ten', '?limit=1&limit=2', '?cursor=%%%', '?cursor=bm90IGpzb24', `?cursor=${badCursor}`]) {
      const res = await list(admin, query);
      assert.deepEqual([res.status, res.body.error?.code], [400, 'invalid'], query);
    }
  });

  test('q and unread=1 filter the inbox, case-insensitively for non-ASCII too, and a filtered page’s cursor continues the filtered list', async () => {
    const workshop = unique('w');
    const admin = token({ sub: unique('a'), role: 'workshop_admin', workshop_id: workshop, name: 'Bo' });
    const owner = token({ sub: unique('u'), role: 'user', name: 'Ana' });
    // Times order the inbox: each room and message in its own millisecond.
    const clockPast = async (time: string) => {
      while (new Date().toISOString() <= time) await new Promise((resolve) => setImmediate(resolve));
    };
    const rooms = [];
    for (const title of ['Škoda brakes', 'Oil change', 'ŠKODA tyres', 'škoda service']) {
      const room = await createRoom(server.url, owner, workshop, title);
      rooms.push(room);
      await clockPast(room.created_at);
    }
    for (const i of [0, 1]) {
      const sent = await api(server.url, 'POST', `/api/service-requests/${rooms[i]!.id}/messages/`, owner, { body: `to ${i}` });
      await clockPast(sent.body.message.created_at);
    }
    const titles = (res: { body: { service_requests: { title: string }[] } }) => res.body.service_requests.map((r) => r.title);

    assert.deepEqual(titles(await list(admin)), ['Oil change', 'Škoda brakes', 'škoda service', 'ŠKODA tyres']);
    assert.deepEqual(titles(await list(admin, `?q=${encodeURIComponent('  škoda ')}`)), ['Škoda brakes', 'škoda service', 'ŠKODA tyres']);
    assert.deepEqual(titles(await list(admin, '?unread=1')), ['Oil change', 'Škoda brakes']);
    assert.deepEqual(titles(await list(admin, '?unread=0')), titles(await list(admin)), 'unread=0 is no filter');
    assert.deepEqual(titles(await list(admin, `?unread=1&q=${encodeURIComponent('ŠKODA')}`)), ['Škoda brakes']);
    assert.deepEqual(titles(await list(owner, `?q=${encodeURIComponent('TYRES')}`)), ['ŠKODA tyres'], 'the owner’s side');

    const first = await list(admin, `?limit=2&q=${encodeURIComponent('šKoDa')}`);
    assert.deepEqual(titles(first), ['Škoda brakes', 'škoda service']);
    const second = await list(admin, `?limit=2&q=${encodeURIComponent('šKoDa')}&cursor=${first.body.next_cursor}`);
    assert.deepEqual([titles(second), second.body.next_cursor], [['ŠKODA tyres'], null]);

    // Read on the REST path: the room leaves the unread=1 list at once.
    await api(server.url, 'POST', `/api/service-requests/${rooms[1]!.id}/messages/read/`, admin, {});
    const unreadFirst = await list(admin, '?unread=1&limit=1');
    assert.deepEqual(
      [unreadFirst.body.service_requests.map((r: { title: string; unread: number }) => [r.title, r.unread]), unreadFirst.body.next_cursor],
      [[['Škoda brakes', 1]], null],
    );
  });

  test('a bad q or unread is 400 invalid naming the field; a 100-character q is fine', async () => {
    const { admin } = await workshopWithRooms(1);
    const cases: [string, string][] = [
      ['?q=', 'q must not be empty'],
      ['?q=%20%20', 'q must not be empty'],
      [`?q=${'ž'.repeat(101)}`, 'q is longer than 100 characters'],
      ['?q=a%0Ab', 'q: must be one line of text'],
      ['?unread=2', 'unread: must be 1 or 0'],
      ['?unread=true', 'unread: must be 1 or 0'],
      ['?unread=', 'unread: must be 1 or 0'],
    ];
    for (const [query, message] of cases) {
      const res = await list(admin, query);
      assert.deepEqual([res.status, res.body.error?.code, res.body.error?.message], [400, 'invalid', message], query);
    }
    for (const query of ['?q=a&q=b', '?unread=1&unread=1']) {
      const res = await list(admin, query);
      assert.deepEqual([res.status, res.body.error?.code], [400, 'invalid'], query);
    }
    const longest = await list(admin, `?q=${encodeURIComponent(` ${'ž'.repeat(100)} `)}`);
    assert.deepEqual([longest.status, longest.body.service_requests], [200, []]);
  });

  test('a message to a workshop with many rooms holding unread is notified from the append’s counters: no snapshot query', async () => {
    const { admin, owner, rooms } = await workshopWithRooms(30);
    for (const room of rooms) {
      await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, owner, { body: 'unread' });
    }
    const notifications = new TestSocket(`${server.wsUrl}/ws/notifications/?token=${encodeURIComponent(admin)}`);
    assert.equal((await notifications.ready()).total, 30);
    const snapshotsBefore = store.calls.unread;
    const listingsBefore = store.calls.listRooms;
    for (let i = 0; i < 3; i++) {
      await api(server.url, 'POST', `/api/service-requests/${rooms[i]!.id}/messages/`, owner, { body: `more ${i}` });
    }
    const got = await notifications.until((frames) => {
      const n = frames.filter((f) => f.type === 'notification');
      return n.length === 3 && n;
    }, 'three notifications');
    assert.deepEqual(got.map((f) => f.unread), [
      { count: 2, total: 31 },
      { count: 2, total: 32 },
      { count: 2, total: 33 },
    ]);
    assert.equal(store.calls.unread, snapshotsBefore, 'no unread snapshot was read for a notification');
    assert.equal(store.calls.listRooms, listingsBefore);
    // A read that moves nothing answers from the cursor move's counters too.
    const read = await api(server.url, 'POST', `/api/service-requests/${rooms[5]!.id}/messages/read/`, admin, { last_read_seq: 0 });
    assert.deepEqual(read.body, { read_cursors: { user: 0, workshop: 0 }, unread: 1 });
    assert.equal(store.calls.unread, snapshotsBefore);
    await notifications.close();
  });
});
