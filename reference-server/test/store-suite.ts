import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Principal, Sender } from '../src/chat/types.js';
import type { AppendResult, ChatStore, CursorResult, InboxPage, NewMessage } from '../src/store/store.js';

export interface OpenedStore {
  store: ChatStore;
  cleanup: () => Promise<void>;
}

const ANA: Sender = { id: 'u-ana', role: 'user', name: 'Ana' };
const BO: Sender = { id: 'a-bo', role: 'workshop_admin', name: 'Bo' };
/** The host's backend, whose messages are system messages. */
const HOST: Sender = { id: 'host-backend', role: 'system', name: 'MotoReach' };

function msg(request_id: string, sender: Sender, body: string, client_id: string | null = null): NewMessage {
  return { request_id, sender, side: sender.role === 'user' ? 'user' : 'workshop', body, client_id };
}

/**
 * Resolves once the clock reads past `time` (an ISO timestamp): times have millisecond precision,
 * and what a test orders by time must not fall in the same millisecond.
 */
export async function clockPast(time: string): Promise<void> {
  while (new Date().toISOString() <= time) await new Promise((resolve) => setImmediate(resolve));
}

const OWN_ROLE = { user: 'user', workshop: 'workshop_admin' } as const;

/**
 * A principal's total unread from the store's own total (what appends and cursor moves answer), read by a
 * cursor move to seq 0, which moves nothing. `room` is one of the principal's rooms.
 */
async function totalOf(store: ChatStore, room: { id: string }, side: 'user' | 'workshop'): Promise<number> {
  const { moved, reader_unread } = await store.advanceCursor(room.id, side, 0);
  assert.equal(moved, false);
  return reader_unread.total;
}

/**
 * Checks every counter against a recount of the rooms' messages (a side's unread: the messages not
 * its own past its cursor): each room's count as the inbox and the unread snapshot give it, each
 * principal's total, and `expected`. The rooms are all the principals' rooms.
 */
async function assertRecount(
  store: ChatStore,
  rooms: { id: string; user_id: string; workshop_id: string }[],
  expected: Record<string, { user: number; workshop: number }>,
): Promise<void> {
  const recounted: Record<string, { user: number; workshop: number }> = {};
  for (const room of rooms) {
    const state = await store.getRoom(room.id);
    const { messages } = await store.listMessages(room.id, { limit: 100 });
    const count = (side: 'user' | 'workshop') =>
      messages.filter((m) => m.sender.role !== OWN_ROLE[side] && m.seq > (state?.read_cursors[side] ?? 0)).length;
    recounted[room.id] = { user: count('user'), workshop: count('workshop') };
  }
  assert.deepEqual(recounted, expected);
  const principals = new Map<string, Principal>();
  for (const room of rooms) {
    principals.set(`user:${room.user_id}`, { side: 'user', userId: room.user_id });
    principals.set(`workshop:${room.workshop_id}`, { side: 'workshop', workshopId: room.workshop_id });
  }
  for (const principal of principals.values()) {
    const side = principal.side;
    const mine = rooms.filter((room) => (side === 'user' ? room.user_id === principal.userId : room.workshop_id === principal.workshopId));
    const counts = Object.fromEntries(mine.map((room) => [room.id, recounted[room.id]![side]]).filter(([, n]) => (n as number) > 0));
    const total = mine.reduce((sum, room) => sum + recounted[room.id]![side], 0);
    assert.deepEqual(await store.unread(principal), { total, rooms: counts }, `snapshot of ${side}`);
    const inbox = await store.listRooms(principal, { limit: 100, after: null });
    assert.deepEqual(
      Object.fromEntries(inbox.rooms.map((r) => [r.id, r.unread])),
      Object.fromEntries(mine.map((room) => [room.id, recounted[room.id]![side]])),
      `inbox of ${side}`,
    );
    assert.equal(await totalOf(store, mine[0]!, side), total, `total of ${side}`);
  }
}

/** The rules every ChatStore follows, run against each implementation. */
export function describeStoreSuite(name: string, open: () => Promise<OpenedStore>): void {
  describe(`${name} store`, () => {
    async function withStore(fn: (store: ChatStore) => Promise<void>): Promise<void> {
      const { store, cleanup } = await open();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    }

    test('puts a room under the caller’s id: created once, then updated; another owner or workshop writes nothing', () =>
      withStore(async (store) => {
        const input = { id: 'sr-42', user_id: 'u-ana', workshop_id: 'w-1', title: 'Brakes' };
        const racing = await Promise.all([store.putRoom(input), store.putRoom(input), store.putRoom(input)]);
        assert.deepEqual(racing.map((r) => r.outcome).sort(), ['created', 'updated', 'updated']);
        const room = racing[0]!.room;
        assert.deepEqual(room, {
          id: 'sr-42',
          user_id: 'u-ana',
          workshop_id: 'w-1',
          title: 'Brakes',
          created_at: room.created_at,
          status: 'open',
          user_name: null,
          workshop_name: null,
          last_seq: 0,
          read_cursors: { user: 0, workshop: 0 },
        });
        for (const r of racing) assert.deepEqual(r.room, room);
        const closed = await store.putRoom({ ...input, title: 'Brakes!', status: 'closed', workshop_name: 'Garage' });
        const closedRoom = { ...room, title: 'Brakes!', status: 'closed', workshop_name: 'Garage' };
        assert.deepEqual(closed, { outcome: 'updated', room: closedRoom, before: room });
        const kept = await store.putRoom({ ...input, user_name: 'Ana', workshop_name: null });
        const after = { ...room, status: 'closed', user_name: 'Ana' };
        assert.deepEqual(kept, { outcome: 'updated', room: after, before: closedRoom }, 'an omitted status keeps the stored one');
        assert.deepEqual(await store.putRoom({ ...input, user_id: 'u-cy', title: 'moved' }), { outcome: 'moved', room: after });
        assert.deepEqual(await store.getRoom('sr-42'), after);
        const inbox = await store.listRooms({ side: 'workshop', workshopId: 'w-1' }, { limit: 10, after: null });
        assert.deepEqual(inbox.rooms, [{ ...after, unread: 0, last_message: null }]);
        assert.deepEqual((await store.listRooms({ side: 'user', userId: 'u-cy' }, { limit: 10, after: null })).rooms, []);
        // q matches the other side's name as the last put left it: the workshop finds Ana, Ana no longer finds Garage.
        const ids = async (principal: Principal, q: string) => (await store.listRooms(principal, { limit: 10, after: null, q })).rooms.map((r) => r.id);
        assert.deepEqual(await ids({ side: 'workshop', workshopId: 'w-1' }, 'ana'), ['sr-42']);
        assert.deepEqual(await ids({ side: 'user', userId: 'u-ana' }, 'garage'), []);
        await store.putRoom({ ...input, workshop_name: 'Garáž Novák' });
        assert.deepEqual(await ids({ side: 'user', userId: 'u-ana' }, 'GARÁŽ'), ['sr-42']);
        assert.deepEqual(await ids({ side: 'workshop', workshopId: 'w-1' }, 'garáž'), [], 'a side does not find its own name');
      }));

    test('a closed room takes no append, moves no counter, and takes them again once reopened', () =>
      withStore(async (store) => {
        const input = { id: 'sr-closed', user_id: 'u-ana', workshop_id: 'w-1', title: 'Brakes' };
        await store.putRoom(input);
        const first = await store.appendMessage(msg('sr-closed', ANA, 'before', 'c-1'));
        await store.putRoom({ ...input, status: 'closed' });
        await assert.rejects(store.appendMessage(msg('sr-closed', BO, 'refused', 'c-2')), { name: 'RoomClosedError' });
        const retry = await store.appendMessage(msg('sr-closed', ANA, 'before', 'c-1'));
        assert.deepEqual([retry.created, retry.message], [false, first.message]);
        assert.equal((await store.getRoom('sr-closed'))?.last_seq, 1);
        assert.deepEqual(await store.unread({ side: 'user', userId: 'u-ana' }), { total: 0, rooms: {} });
        assert.deepEqual(await store.unread({ side: 'workshop', workshopId: 'w-1' }), { total: 1, rooms: { 'sr-closed': 1 } });
        const read = await store.advanceCursor('sr-closed', 'workshop', null);
        assert.deepEqual(read.reader_unread, { count: 0, total: 0 }, 'reads still work');
        await store.putRoom({ ...input, status: 'open' });
        const after = await store.appendMessage(msg('sr-closed', BO, 'after', 'c-2'));
        assert.deepEqual([after.created, after.message.seq, after.recipient_unread], [true, 2, { count: 1, total: 1 }]);
      }));

    test('a reassignment moves the room and its workshop unread to the new workshop; the old one can no longer append', () =>
      withStore(async (store) => {
        const input = { id: 'sr-moving', user_id: 'u-ana', workshop_id: 'w-old', title: 'Brakes' };
        await store.putRoom(input);
        await store.putRoom({ id: 'sr-other', user_id: 'u-ana', workshop_id: 'w-old', title: 'Tyres' });
        await store.appendMessage({ ...msg('sr-moving', ANA, 'one'), holder: 'u-ana' });
        await store.appendMessage({ ...msg('sr-moving', ANA, 'two'), holder: 'u-ana' });
        await store.appendMessage({ ...msg('sr-moving', BO, 'reply'), holder: 'w-old' });
        await store.appendMessage(msg('sr-other', ANA, 'other'));
        await store.advanceCursor('sr-moving', 'workshop', 1);
        await store.appendMessage(msg('sr-moving', ANA, 'three'));
        // The workshop side read seq 1: unread here is 'two' and 'three'.
        const old = { side: 'workshop', workshopId: 'w-old' } as const;
        const fresh = { side: 'workshop', workshopId: 'w-new' } as const;
        assert.deepEqual(await store.unread(old), { total: 3, rooms: { 'sr-moving': 2, 'sr-other': 1 } });

        const moved = await store.putRoom({ ...input, workshop_id: 'w-new' });
        assert.equal(moved.outcome, 'updated');
        assert.deepEqual([moved.room.workshop_id, moved.room.read_cursors, moved.room.last_seq], ['w-new', { user: 0, workshop: 1 }, 4]);
        assert.deepEqual(await store.unread(old), { total: 1, rooms: { 'sr-other': 1 } });
        assert.deepEqual(await store.unread(fresh), { total: 2, rooms: { 'sr-moving': 2 } });
        assert.deepEqual((await store.listRooms(old, { limit: 10, after: null })).rooms.map((r) => r.id), ['sr-other']);
        assert.deepEqual(
          (await store.listRooms(fresh, { limit: 10, after: null })).rooms.map((r) => [r.id, r.unread]),
          [['sr-moving', 2]],
        );

        await assert.rejects(store.appendMessage({ ...msg('sr-moving', BO, 'late'), holder: 'w-old' }), { name: 'NotHolderError' });
        await assert.rejects(store.advanceCursor('sr-moving', 'workshop', null, 'w-old'), { name: 'NotHolderError' });
        assert.deepEqual((await store.getRoom('sr-moving'))?.read_cursors, { user: 0, workshop: 1 }, 'the refused read moved nothing');
        const next = await store.appendMessage({ ...msg('sr-moving', ANA, 'four'), holder: 'u-ana' });
        assert.deepEqual([next.message.seq, next.recipient_unread], [5, { count: 3, total: 3 }], 'counted for the new workshop');
        const read = await store.advanceCursor('sr-moving', 'workshop', null);
        assert.deepEqual(read.reader_unread, { count: 0, total: 0 });
        assert.deepEqual(await store.unread(old), { total: 1, rooms: { 'sr-other': 1 } }, 'the old workshop’s total untouched');
      }));

    test('a system message is unread for both sides; every counter equals a recount after reads, a repeat, a reassignment and a close', () =>
      withStore(async (store) => {
        const A = { id: 'sr-a', user_id: 'u-ana', workshop_id: 'w-1', title: 'A' };
        const B = { id: 'sr-b', user_id: 'u-ana', workshop_id: 'w-2', title: 'B' };
        // w-1 keeps a room of its own after A leaves it, whose total tells what is left to w-1.
        const C = { id: 'sr-c', user_id: 'u-cy', workshop_id: 'w-1', title: 'C' };
        for (const room of [A, B, C]) await store.putRoom(room);
        await store.appendMessage(msg('sr-c', { id: 'u-cy', role: 'user', name: null }, 'hi'));
        const CY = { user: 0, workshop: 1 };
        const system = (request_id: string, client_id: string | null, data?: Record<string, unknown>): NewMessage => ({
          request_id,
          sender: HOST,
          side: 'system',
          body: data ? '' : 'Quote sent',
          ...(data && { data }),
          client_id,
        });
        await store.appendMessage(msg('sr-a', ANA, 'one'));
        const first = await store.appendMessage(system('sr-a', 's-1', { quote: { total: 120, currency: 'EUR' } }));
        assert.deepEqual(first.message, {
          id: first.message.id,
          request_id: 'sr-a',
          seq: 2,
          sender: HOST,
          body: '',
          data: { quote: { total: 120, currency: 'EUR' } },
          client_id: 's-1',
          created_at: first.message.created_at,
        });
        assert.deepEqual(
          [first.recipient, first.recipient_unread, first.owner_recipient],
          ['w-1', { count: 2, total: 3 }, { recipient: 'u-ana', unread: { count: 1, total: 1 } }],
          'the workshop has the owner’s message and the system’s (and C’s in its total); the owner the system’s',
        );
        await store.appendMessage(msg('sr-a', BO, 'three'));
        await store.appendMessage(system('sr-b', null));
        await assertRecount(store, [A, B, C], { 'sr-a': { user: 2, workshop: 2 }, 'sr-b': { user: 1, workshop: 1 }, 'sr-c': CY });

        const again = await store.appendMessage(system('sr-a', 's-1', { other: true }));
        assert.deepEqual([again.created, again.message], [false, first.message], 'a repeated client_id answers the stored message');
        await store.advanceCursor('sr-a', 'user', 2);
        await assertRecount(store, [A, B, C], { 'sr-a': { user: 1, workshop: 2 }, 'sr-b': { user: 1, workshop: 1 }, 'sr-c': CY });
        await store.advanceCursor('sr-a', 'workshop', null);
        const last = await store.appendMessage(system('sr-a', 's-2'));
        assert.deepEqual([last.recipient_unread, last.owner_recipient?.unread], [{ count: 1, total: 2 }, { count: 2, total: 3 }]);
        await assertRecount(store, [A, B, C], { 'sr-a': { user: 2, workshop: 1 }, 'sr-b': { user: 1, workshop: 1 }, 'sr-c': CY });

        // Reassigned: the workshop side's unread of A, a system message's included, moves to w-2.
        const moved = { ...A, workshop_id: 'w-2' };
        await store.putRoom(moved);
        await assertRecount(store, [moved, B, C], { 'sr-a': { user: 2, workshop: 1 }, 'sr-b': { user: 1, workshop: 1 }, 'sr-c': CY });
        assert.deepEqual([await totalOf(store, moved, 'workshop'), await totalOf(store, C, 'workshop')], [2, 1], 'w-2 has A’s and B’s; w-1 only C’s');

        await store.putRoom({ ...moved, status: 'closed' });
        await assert.rejects(store.appendMessage(system('sr-a', 's-3')), { name: 'RoomClosedError' });
        await assertRecount(store, [moved, B, C], { 'sr-a': { user: 2, workshop: 1 }, 'sr-b': { user: 1, workshop: 1 }, 'sr-c': CY });
      }));

    test('creates rooms and reads them back with zero cursors', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'Brakes' });
        assert.match(room.id, /^r_/);
        assert.match(room.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.deepEqual(await store.getRoom(room.id), {
          ...room,
          last_seq: 0,
          read_cursors: { user: 0, workshop: 0 },
        });
        assert.equal(await store.getRoom('r_missing'), null);
      }));

    test('assigns seq 1, 2, 3 per room and keeps rooms apart', () =>
      withStore(async (store) => {
        const a = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const b = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'B' });
        const results = await Promise.all([
          store.appendMessage(msg(a.id, ANA, 'a1')),
          store.appendMessage(msg(b.id, ANA, 'b1')),
          store.appendMessage(msg(a.id, BO, 'a2')),
          store.appendMessage(msg(a.id, ANA, 'a3')),
        ]);
        assert.deepEqual(
          results.map((r) => [r.message.request_id === a.id ? 'a' : 'b', r.message.seq, r.message.body, r.created]),
          [
            ['a', 1, 'a1', true],
            ['b', 1, 'b1', true],
            ['a', 2, 'a2', true],
            ['a', 3, 'a3', true],
          ],
        );
        assert.equal((await store.getRoom(a.id))?.last_seq, 3);
        assert.equal((await store.getRoom(b.id))?.last_seq, 1);
      }));

    test('stores the body and sender verbatim', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const body = '<img src=x onerror=alert(1)> "quotes" \u{1F697}';
        const { message } = await store.appendMessage(msg(room.id, { id: 'u-ana', role: 'user', name: null }, body, 'c-1'));
        const page = await store.listMessages(room.id, { limit: 10 });
        assert.deepEqual(page.messages, [message]);
        assert.equal(page.messages[0]?.body, body);
        assert.deepEqual(page.messages[0]?.sender, { id: 'u-ana', role: 'user', name: null });
        assert.equal(page.messages[0]?.client_id, 'c-1');
      }));

    test('a repeated client_id of one sender returns the stored message, even in one batch', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const [first, second, other] = await Promise.all([
          store.appendMessage(msg(room.id, ANA, 'hello', 'c-1')),
          store.appendMessage(msg(room.id, ANA, 'hello again', 'c-1')),
          store.appendMessage(msg(room.id, BO, 'same key, other sender', 'c-1')),
        ]);
        assert.equal(first?.created, true);
        assert.equal(second?.created, false);
        assert.deepEqual(second?.message, first?.message);
        assert.equal(other?.created, true);
        assert.equal(other?.message.seq, 2);
        const twin = await store.appendMessage(msg(room.id, { id: 'u-ana', role: 'workshop_admin', name: 'Ana at the workshop' }, 'twin', 'c-1'));
        assert.equal(twin.created, true, 'an admin sharing the owner’s id is another sender');
        assert.equal(twin.message.seq, 3);
        const later = await store.appendMessage(msg(room.id, ANA, 'retry', 'c-1'));
        assert.deepEqual(later, { message: first?.message, created: false, recipient_unread: { count: 0, total: 0 }, recipient: null });
        assert.equal((await store.getRoom(room.id))?.last_seq, 3);
      }));

    test('pages: newest page, before, after, has_more both ways', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        for (let i = 1; i <= 7; i++) await store.appendMessage(msg(room.id, i % 2 ? ANA : BO, `m${i}`));
        const seqs = (p: { messages: { seq: number }[]; has_more: boolean }) => [p.messages.map((m) => m.seq), p.has_more];
        assert.deepEqual(seqs(await store.listMessages(room.id, { limit: 3 })), [[5, 6, 7], true]);
        assert.deepEqual(seqs(await store.listMessages(room.id, { limit: 7 })), [[1, 2, 3, 4, 5, 6, 7], false]);
        assert.deepEqual(seqs(await store.listMessages(room.id, { before: 5, limit: 3 })), [[2, 3, 4], true]);
        assert.deepEqual(seqs(await store.listMessages(room.id, { before: 3, limit: 3 })), [[1, 2], false]);
        assert.deepEqual(seqs(await store.listMessages(room.id, { after: 2, limit: 3 })), [[3, 4, 5], true]);
        assert.deepEqual(seqs(await store.listMessages(room.id, { after: 4, limit: 3 })), [[5, 6, 7], false]);
        assert.deepEqual(seqs(await store.listMessages(room.id, { after: 7, limit: 3 })), [[], false]);
        assert.deepEqual(seqs(await store.listMessages(room.id, { after: 1, before: 6, limit: 10 })), [[2, 3, 4, 5], false]);
      }));

    test('cursors only move forward and are clamped to the last seq', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        for (let i = 0; i < 5; i++) await store.appendMessage(msg(room.id, BO, `m${i}`));
        const move = async (side: 'user' | 'workshop', seq: number | null) => {
          const r = await store.advanceCursor(room.id, side, seq);
          return [r.read_cursors, r.moved, r.reader_unread];
        };
        assert.deepEqual(await move('user', 3), [{ user: 3, workshop: 0 }, true, { count: 2, total: 2 }]);
        assert.deepEqual(await move('user', 2), [{ user: 3, workshop: 0 }, false, { count: 2, total: 2 }]);
        assert.deepEqual(await move('user', 3), [{ user: 3, workshop: 0 }, false, { count: 2, total: 2 }]);
        assert.deepEqual(await move('user', 99), [{ user: 5, workshop: 0 }, true, { count: 0, total: 0 }]);
        assert.deepEqual(await move('workshop', null), [{ user: 5, workshop: 5 }, true, { count: 0, total: 0 }]);
        assert.deepEqual(await move('workshop', null), [{ user: 5, workshop: 5 }, false, { count: 0, total: 0 }]);
      }));

    test('unread counts the other side’s messages past the side’s cursor, per principal', () =>
      withStore(async (store) => {
        const r1 = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const r2 = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-2', title: 'B' });
        const r3 = await store.createRoom({ user_id: 'u-cy', workshop_id: 'w-1', title: 'C' });
        await store.appendMessage(msg(r1.id, BO, 'w1'));
        await store.appendMessage(msg(r1.id, BO, 'w2'));
        await store.appendMessage(msg(r1.id, ANA, 'u1'));
        await store.appendMessage(msg(r2.id, { id: 'a-di', role: 'workshop_admin', name: null }, 'w3'));
        await store.appendMessage(msg(r3.id, { id: 'u-cy', role: 'user', name: null }, 'c1'));
        assert.deepEqual(await store.unread({ side: 'user', userId: 'u-ana' }), { total: 3, rooms: { [r1.id]: 2, [r2.id]: 1 } });
        assert.deepEqual(await store.unread({ side: 'workshop', workshopId: 'w-1' }), {
          total: 2,
          rooms: { [r1.id]: 1, [r3.id]: 1 },
        });
        await store.advanceCursor(r1.id, 'user', 1);
        assert.deepEqual(await store.unread({ side: 'user', userId: 'u-ana' }), { total: 2, rooms: { [r1.id]: 1, [r2.id]: 1 } });
        await store.advanceCursor(r1.id, 'user', null);
        assert.deepEqual(await store.unread({ side: 'user', userId: 'u-ana' }), { total: 1, rooms: { [r2.id]: 1 } });
        assert.deepEqual(await store.unread({ side: 'user', userId: 'u-nobody' }), { total: 0, rooms: {} });
      }));

    test('lists a principal’s rooms with unread and last message', () =>
      withStore(async (store) => {
        const r1 = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const r2 = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-2', title: 'B' });
        const r3 = await store.createRoom({ user_id: 'u-cy', workshop_id: 'w-1', title: 'C' });
        await clockPast(r3.created_at);
        const { message } = await store.appendMessage(msg(r1.id, BO, 'hi'));
        const { rooms, next } = await store.listRooms({ side: 'user', userId: 'u-ana' }, { limit: 50, after: null });
        assert.equal(next, null);
        const byId = new Map(rooms.map((r) => [r.id, r]));
        assert.equal(rooms.length, 2);
        assert.deepEqual(byId.get(r1.id), {
          ...r1,
          last_seq: 1,
          read_cursors: { user: 0, workshop: 0 },
          unread: 1,
          last_message: message,
        });
        assert.deepEqual(byId.get(r2.id), { ...r2, last_seq: 0, read_cursors: { user: 0, workshop: 0 }, unread: 0, last_message: null });
        const workshop = await store.listRooms({ side: 'workshop', workshopId: 'w-1' }, { limit: 50, after: null });
        assert.deepEqual(workshop.rooms.map((r) => r.title), ['A', 'C'], 'A has a message, newer than the creation of C');
      }));

    test('appends carry the recipient’s counts from the counters; reads by either side and by another admin keep them exact', () =>
      withStore(async (store) => {
        const r1 = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const r2 = await store.createRoom({ user_id: 'u-cy', workshop_id: 'w-1', title: 'B' });
        const CY: Sender = { id: 'u-cy', role: 'user', name: null };
        const DI: Sender = { id: 'a-di', role: 'workshop_admin', name: 'Di' };
        const counts = async (m: NewMessage) => {
          const r = await store.appendMessage(m);
          return [r.message.seq, r.recipient_unread];
        };
        assert.deepEqual(await counts(msg(r1.id, ANA, 'a1')), [1, { count: 1, total: 1 }]);
        assert.deepEqual(await counts(msg(r1.id, ANA, 'a2')), [2, { count: 2, total: 2 }]);
        assert.deepEqual(await counts(msg(r2.id, CY, 'c1')), [1, { count: 1, total: 3 }], 'the workshop’s total spans its rooms');
        assert.deepEqual(await counts(msg(r1.id, BO, 'b1')), [3, { count: 1, total: 1 }], 'Ana’s side is counted apart');
        // One turn: both appends and the read commit together, in call order.
        const [x, read, y] = await Promise.all([
          store.appendMessage(msg(r1.id, ANA, 'a3')),
          store.advanceCursor(r1.id, 'workshop', null),
          store.appendMessage(msg(r1.id, ANA, 'a4')),
        ]);
        assert.deepEqual([x.message.seq, x.recipient_unread], [4, { count: 3, total: 4 }]);
        assert.deepEqual([read.read_cursors, read.moved, read.reader_unread], [{ user: 0, workshop: 4 }, true, { count: 0, total: 1 }]);
        assert.deepEqual([y.message.seq, y.recipient_unread], [5, { count: 1, total: 2 }]);
        // Another admin of the same workshop reads for the whole side.
        const byDi = await store.advanceCursor(r2.id, 'workshop', 1);
        assert.deepEqual(byDi.reader_unread, { count: 0, total: 1 });
        assert.deepEqual(await counts(msg(r2.id, DI, 'd1')), [2, { count: 1, total: 1 }], 'CY’s counts, not the workshop’s');
        const byAna = await store.advanceCursor(r1.id, 'user', 2);
        assert.deepEqual(byAna.reader_unread, { count: 1, total: 1 }, 'Ana’s own messages below her cursor are not hers to read');
        assert.deepEqual(await store.unread({ side: 'workshop', workshopId: 'w-1' }), { total: 1, rooms: { [r1.id]: 1 } });
        assert.deepEqual(await store.unread({ side: 'user', userId: 'u-ana' }), { total: 1, rooms: { [r1.id]: 1 } });
        assert.deepEqual(await store.unread({ side: 'user', userId: 'u-cy' }), { total: 1, rooms: { [r2.id]: 1 } });
      }));

    test('a repeated client_id moves no counter', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        await store.appendMessage(msg(room.id, ANA, 'once', 'c-1'));
        const again = await store.appendMessage(msg(room.id, ANA, 'once', 'c-1'));
        assert.equal(again.created, false);
        const next = await store.appendMessage(msg(room.id, ANA, 'twice', 'c-2'));
        assert.deepEqual(next.recipient_unread, { count: 2, total: 2 });
      }));

    test('a failed append in a batch with a read moves no counter and fails alone', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const results = await Promise.allSettled([
          store.appendMessage(msg(room.id, ANA, 'one')),
          store.appendMessage(msg('r_missing', ANA, 'lost')),
          store.advanceCursor(room.id, 'workshop', null),
          store.advanceCursor('r_missing', 'workshop', null),
          store.appendMessage(msg(room.id, ANA, 'two')),
        ]);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
        const value = <T,>(r: PromiseSettledResult<T>) => (r as PromiseFulfilledResult<T>).value;
        assert.deepEqual(value(results[2] as PromiseSettledResult<CursorResult>).reader_unread, { count: 0, total: 0 });
        assert.deepEqual(value(results[4] as PromiseSettledResult<AppendResult>).recipient_unread, { count: 1, total: 1 });
        assert.deepEqual(await store.unread({ side: 'workshop', workshopId: 'w-1' }), { total: 1, rooms: { [room.id]: 1 } });
      }));

    test('the inbox pages by last activity, newest first, ties by id, with exact cursors', () =>
      withStore(async (store) => {
        const ws: Principal = { side: 'workshop', workshopId: 'w-1' };
        const rooms = [];
        for (let i = 0; i < 7; i++) rooms.push(await store.createRoom({ user_id: `u-${i}`, workshop_id: 'w-1', title: `R${i}` }));
        const elsewhere = await store.createRoom({ user_id: 'u-x', workshop_id: 'w-2', title: 'elsewhere' });
        // Activity: R2 then R5 get a message, so they come first, R5 before R2.
        await clockPast(elsewhere.created_at);
        const from2 = await store.appendMessage(msg(rooms[2]!.id, { id: 'u-2', role: 'user', name: null }, 'from 2'));
        await clockPast(from2.message.created_at);
        const last5 = await store.appendMessage(msg(rooms[5]!.id, BO, 'to 5'));
        const expected = (await store.listRooms(ws, { limit: 100, after: null })).rooms;
        const byCreation = rooms
          .filter((_, i) => i !== 2 && i !== 5)
          .sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
        assert.deepEqual(
          expected.map((r) => r.title),
          ['R5', 'R2', ...byCreation.map((r) => r.title)],
        );
        assert.deepEqual(expected[0]?.last_message, last5.message);
        assert.deepEqual([expected[0]?.unread, expected[1]?.unread], [0, 1]);
        const walked = [];
        let after = null;
        for (let pages = 1; ; pages++) {
          const page: InboxPage = await store.listRooms(ws, { limit: 3, after });
          walked.push(...page.rooms);
          if (page.next === null) {
            assert.equal(pages, 3);
            assert.equal(page.rooms.length, 1);
            break;
          }
          assert.equal(page.rooms.length, 3);
          assert.equal(page.next.id, page.rooms.at(-1)?.id);
          after = page.next;
        }
        assert.deepEqual(walked, expected);
        const exact = await store.listRooms(ws, { limit: 7, after: null });
        assert.equal(exact.next, null, 'no cursor when nothing follows');
        assert.deepEqual((await store.listRooms({ side: 'user', userId: 'u-nobody' }, { limit: 5, after: null })), { rooms: [], next: null });
      }));

    test('the inbox filters by q (title, case-insensitive, non-ASCII, literal) and by unread, paging within the filters', () =>
      withStore(async (store) => {
        const ws: Principal = { side: 'workshop', workshopId: 'w-1' };
        const titles = ['Škoda brakes', 'Oil change', 'ŠKODA tyres', 'škoda service 100%_', 'Tyres'];
        const rooms = [];
        for (const [i, title] of titles.entries()) {
          const room = await store.createRoom({ user_id: `u-${i}`, workshop_id: 'w-1', title });
          rooms.push(room);
          await clockPast(room.created_at);
        }
        await store.createRoom({ user_id: 'u-9', workshop_id: 'w-2', title: 'Škoda elsewhere' });
        // Owners write in rooms 0, 1 and 3, in that order: the inbox is 3, 1, 0, then 4, 2 by creation.
        for (const i of [0, 1, 3]) {
          const sent = await store.appendMessage(msg(rooms[i]!.id, { id: `u-${i}`, role: 'user', name: null }, `from ${i}`));
          await clockPast(sent.message.created_at);
        }
        const titlesOf = async (principal: Principal, query: { q?: string; unread?: boolean }) =>
          (await store.listRooms(principal, { limit: 100, after: null, ...query })).rooms.map((r) => r.title);
        assert.deepEqual(await titlesOf(ws, {}), ['škoda service 100%_', 'Oil change', 'Škoda brakes', 'Tyres', 'ŠKODA tyres']);
        assert.deepEqual(await titlesOf(ws, { q: 'škoda' }), ['škoda service 100%_', 'Škoda brakes', 'ŠKODA tyres']);
        assert.deepEqual(await titlesOf(ws, { q: 'ŠKODA' }), ['škoda service 100%_', 'Škoda brakes', 'ŠKODA tyres']);
        assert.deepEqual(await titlesOf(ws, { q: 'tyRES' }), ['Tyres', 'ŠKODA tyres']);
        assert.deepEqual(await titlesOf(ws, { q: 'skoda' }), [], 'folding keeps the háček: Š is not S');
        assert.deepEqual(await titlesOf(ws, { q: '%' }), ['škoda service 100%_'], '% is a character, not a wildcard');
        assert.deepEqual(await titlesOf(ws, { q: '_' }), ['škoda service 100%_'], '_ is a character, not a wildcard');
        assert.deepEqual(await titlesOf(ws, { q: '.*' }), [], 'no regular expression either');
        assert.deepEqual(await titlesOf(ws, { unread: true }), ['škoda service 100%_', 'Oil change', 'Škoda brakes']);
        assert.deepEqual(await titlesOf(ws, { unread: true, q: 'škoda' }), ['škoda service 100%_', 'Škoda brakes']);
        assert.deepEqual(await titlesOf({ side: 'workshop', workshopId: 'w-2' }, { q: 'škoda' }), ['Škoda elsewhere']);
        const street = await store.createRoom({ user_id: 'u-9', workshop_id: 'w-3', title: 'Hauptstraße 1, ΟΔΟΣ' });
        for (const q of ['STRASSE', 'straße', 'Ｓｔｒａｓｓｅ', 'οδος', 'ΟΔΟΣ']) {
          assert.deepEqual(await titlesOf({ side: 'workshop', workshopId: 'w-3' }, { q }), [street.title], q);
        }

        // Pages of a filtered list: the cursor continues it, and is null when no match follows.
        const first = await store.listRooms(ws, { limit: 2, after: null, q: 'ŠkOdA' });
        assert.deepEqual(first.rooms.map((r) => r.title), ['škoda service 100%_', 'Škoda brakes']);
        assert.equal(first.next?.id, rooms[0]!.id);
        const second = await store.listRooms(ws, { limit: 2, after: first.next, q: 'ŠkOdA' });
        assert.deepEqual([second.rooms.map((r) => r.title), second.next], [['ŠKODA tyres'], null]);
        const exact = await store.listRooms(ws, { limit: 2, after: null, q: 'tyres' });
        assert.equal(exact.next, null, 'no cursor when only non-matching rooms follow');

        // unread=1 after reads: a read room leaves the list, each row carries its count.
        await store.advanceCursor(rooms[1]!.id, 'workshop', null);
        const unreadFirst = await store.listRooms(ws, { limit: 1, after: null, unread: true });
        assert.deepEqual(unreadFirst.rooms.map((r) => [r.title, r.unread]), [['škoda service 100%_', 1]]);
        const unreadSecond = await store.listRooms(ws, { limit: 1, after: unreadFirst.next, unread: true });
        assert.deepEqual([unreadSecond.rooms.map((r) => [r.title, r.unread]), unreadSecond.next], [[['Škoda brakes', 1]], null]);

        // The owner's side: unread only once the workshop has written, and only the owner's own rooms.
        const owner: Principal = { side: 'user', userId: 'u-0' };
        assert.deepEqual(await titlesOf(owner, { unread: true }), []);
        await store.appendMessage(msg(rooms[0]!.id, BO, 'reply'));
        assert.deepEqual(await titlesOf(owner, { unread: true }), ['Škoda brakes']);
        assert.deepEqual(await titlesOf(owner, { unread: true, q: 'ŠKODA' }), ['Škoda brakes']);
        assert.deepEqual(await titlesOf(owner, { q: 'tyres' }), []);
        await store.advanceCursor(rooms[0]!.id, 'user', null);
        assert.deepEqual(await titlesOf(owner, { unread: true }), []);
      }));

    test('a page walk never repeats a room while messages arrive; a room that moves goes to the first page', () =>
      withStore(async (store) => {
        const ws: Principal = { side: 'workshop', workshopId: 'w-1' };
        const rooms = [];
        for (let i = 0; i < 9; i++) rooms.push(await store.createRoom({ user_id: `u-${i}`, workshop_id: 'w-1', title: `R${i}` }));
        const first = await store.listRooms(ws, { limit: 3, after: null });
        const seen = first.rooms.map((r) => r.id);
        // Between pages: a room already shown and a room not shown yet both get a message.
        const shown = first.rooms[2]!;
        const notShown = (await store.listRooms(ws, { limit: 9, after: null })).rooms[8]!;
        await store.appendMessage(msg(shown.id, BO, 'moves a shown room'));
        await store.appendMessage(msg(notShown.id, BO, 'moves an unshown room'));
        let after = first.next;
        while (after) {
          const page = await store.listRooms(ws, { limit: 3, after });
          seen.push(...page.rooms.map((r) => r.id));
          after = page.next;
        }
        assert.equal(new Set(seen).size, seen.length, 'no room twice in one walk');
        assert.deepEqual(
          [...seen].sort(),
          rooms.map((r) => r.id).filter((id) => id !== notShown.id).sort(),
          'every room that did not move is there; the moved unshown one is now above the walk',
        );
        const top = await store.listRooms(ws, { limit: 2, after: null });
        assert.deepEqual(top.rooms.map((r) => r.id).sort(), [notShown.id, shown.id].sort());
      }));

    test('appending to a missing room fails and stores nothing', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const results = await Promise.allSettled([
          store.appendMessage(msg(room.id, ANA, 'ok')),
          store.appendMessage(msg('r_missing', ANA, 'lost')),
          store.appendMessage(msg(room.id, ANA, 'ok too')),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        const page = await store.listMessages(room.id, { limit: 10 });
        assert.deepEqual(page.messages.map((m) => [m.seq, m.body]), [
          [1, 'ok'],
          [2, 'ok too'],
        ]);
      }));

    test('500 concurrent appends to one room give seq 1..500 once each, resolving in seq order', () =>
      withStore(async (store) => {
        const room = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'A' });
        const resolvedOrder: number[] = [];
        await Promise.all(
          Array.from({ length: 500 }, (_, i) =>
            store.appendMessage(msg(room.id, i % 2 ? ANA : BO, `m${i}`, `c-${i}`)).then((r) => {
              resolvedOrder.push(r.message.seq);
            }),
          ),
        );
        assert.deepEqual(resolvedOrder, Array.from({ length: 500 }, (_, i) => i + 1));
        const all = [];
        let after = 0;
        for (;;) {
          const page = await store.listMessages(room.id, { after, limit: 100 });
          all.push(...page.messages);
          if (!page.has_more) break;
          after = page.messages.at(-1)!.seq;
        }
        assert.deepEqual(all.map((m) => m.seq), Array.from({ length: 500 }, (_, i) => i + 1));
        assert.equal(new Set(all.map((m) => m.client_id)).size, 500);
      }));

    test('a client_id retried after hundreds of messages in two rooms written in turn answers the stored message', () =>
      withStore(async (store) => {
        const rooms = [
          await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'One' }),
          await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'Two' }),
        ];
        // Both rooms use the same client_ids; each keeps its own.
        for (let from = 0; from < 300; from += 100) {
          await Promise.all(
            Array.from({ length: 100 }, (_, i) => from + i).flatMap((n) =>
              rooms.map((room) => store.appendMessage(msg(room.id, n % 2 ? BO : ANA, `m${n}`, `k-${n}`))),
            ),
          );
        }
        const retried = [];
        for (const n of [0, 1, 150, 299]) {
          for (const room of rooms) retried.push(await store.appendMessage(msg(room.id, n % 2 ? BO : ANA, 'retried', `k-${n}`)));
        }
        assert.deepEqual(
          retried.map((r) => [r.created, r.message.request_id, r.message.seq, r.message.body]),
          [0, 1, 150, 299].flatMap((n) => rooms.map((room) => [false, room.id, n + 1, `m${n}`])),
        );
        assert.deepEqual((await Promise.all(rooms.map((room) => store.getRoom(room.id)))).map((r) => r?.last_seq), [300, 300]);
      }));

    test('a sender’s messages, in any room and role: exported as stored, redacted in place with every counter kept, once', () =>
      withStore(async (store) => {
        const own = await store.createRoom({ user_id: 'u-ana', workshop_id: 'w-1', title: 'Mine' });
        const theirs = await store.createRoom({ user_id: 'u-cy', workshop_id: 'w-1', title: 'Theirs' });
        const sent = [
          (await store.appendMessage(msg(own.id, ANA, 'one', 'c-1'))).message,
          (await store.appendMessage(msg(own.id, ANA, 'two'))).message,
          // Ids are a person's, whatever the role: Ana answering at the workshop's desk.
          (await store.appendMessage(msg(theirs.id, { id: 'u-ana', role: 'workshop_admin', name: 'Ana W' }, 'desk'))).message,
        ];
        const kept = (await store.appendMessage(msg(own.id, BO, 'from Bo'))).message;
        await store.advanceCursor(own.id, 'workshop', 1);
        // A closed room's messages are redacted too.
        await store.putRoom({ id: theirs.id, user_id: 'u-cy', workshop_id: 'w-1', title: 'Theirs', status: 'closed' });
        const bySeat = (a: { request_id: string; seq: number }, b: { request_id: string; seq: number }) =>
          a.request_id.localeCompare(b.request_id) || a.seq - b.seq;
        const exported = async () => {
          const all = [];
          for await (const page of store.exportMessages('u-ana')) all.push(...page);
          return all.sort(bySeat);
        };
        assert.deepEqual(await exported(), [...sent].sort(bySeat));

        const counters = async () => [
          await store.getRoom(own.id),
          await store.getRoom(theirs.id),
          await store.unread({ side: 'workshop', workshopId: 'w-1' }),
          await store.unread({ side: 'user', userId: 'u-cy' }),
        ];
        const before = await counters();
        const parts: Array<{ request_id: string; seq: number }> = [];
        assert.equal(await store.redactMessagesOf('u-ana', (part) => parts.push(...part)), 3);
        assert.deepEqual(parts.sort(bySeat), sent.map(({ request_id, seq }) => ({ request_id, seq })).sort(bySeat));
        assert.deepEqual(await counters(), before);
        const redacted = sent.map((m) => ({ ...m, sender: { ...m.sender, name: null }, body: '', redacted: true as const }));
        assert.deepEqual((await store.listMessages(own.id, { limit: 10 })).messages, [redacted[0], redacted[1], kept]);
        assert.deepEqual((await store.listMessages(theirs.id, { limit: 10 })).messages, [redacted[2]]);
        assert.deepEqual(await exported(), [...redacted].sort(bySeat));

        const again: unknown[] = [];
        assert.equal(await store.redactMessagesOf('u-ana', (part) => again.push(...part)), 0);
        assert.deepEqual(again, []);
      }));
  });
}
