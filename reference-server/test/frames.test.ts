import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, Participant, RoomState } from '../src/chat/types.js';
import {
  errorFrame,
  messageFrame,
  notificationFrame,
  PONG,
  readFrame,
  readyFrame,
  typingFrame,
  roomFrame,
  unreadFrame,
} from '../src/chat/frames.js';

// The frames' exact text, keys in the wire's order, as docs/protocol.md shows them: building them in
// one module against @motoreach/protocol's types changed no byte.

const ANA: Participant = { id: 'u-ana', role: 'user', workshopId: null, name: 'Ana', expiresAt: 1e15 };
const BO: Participant = { id: 'a-bo', role: 'workshop_admin', workshopId: 'w-1', name: null, expiresAt: 1e15 };
const MESSAGE: Message = {
  id: 'm_1',
  request_id: 'r_1',
  seq: 3,
  sender: { id: 'u-ana', role: 'user', name: 'Ana' },
  body: 'Hello "there"',
  client_id: 'c_1',
  created_at: '2026-01-02T03:04:05.000Z',
};
const ROOM: RoomState = {
  id: 'r_1',
  user_id: 'u-ana',
  workshop_id: 'w-1',
  title: 'Brakes',
  status: 'open',
  user_name: 'Ana',
  workshop_name: null,
  created_at: '2026-01-01T00:00:00.000Z',
  last_seq: 3,
  read_cursors: { user: 3, workshop: 1 },
};

const MESSAGE_JSON =
  '{"id":"m_1","request_id":"r_1","seq":3,"sender":{"id":"u-ana","role":"user","name":"Ana"},' +
  '"body":"Hello \\"there\\"","client_id":"c_1","created_at":"2026-01-02T03:04:05.000Z"}';

test('ready: the room when the socket subscribed and who the caller is, without the token-only fields', () => {
  assert.equal(
    readyFrame(ROOM, ANA),
    '{"type":"ready","request_id":"r_1","last_seq":3,"read_cursors":{"user":3,"workshop":1},' +
      '"me":{"id":"u-ana","role":"user","name":"Ana"}}',
  );
});

test('message, read and typing frames', () => {
  assert.equal(messageFrame(MESSAGE), `{"type":"message","message":${MESSAGE_JSON}}`);
  assert.equal(
    readFrame('r_1', 'workshop', BO, { user: 3, workshop: 2 }),
    '{"type":"read","request_id":"r_1","side":"workshop","reader":{"id":"a-bo","role":"workshop_admin"},' +
      '"last_read_seq":2,"read_cursors":{"user":3,"workshop":2}}',
  );
  assert.equal(typingFrame(BO, true), '{"type":"typing","user":{"id":"a-bo","role":"workshop_admin","name":null},"is_typing":true}');
});

test('notification and unread frames', () => {
  assert.equal(
    notificationFrame('r_1', MESSAGE, 'Hello', { count: 2, total: 5 }),
    '{"type":"notification","kind":"message","request_id":"r_1","message":{"id":"m_1","seq":3,' +
      '"sender":{"id":"u-ana","role":"user","name":"Ana"},"body":"Hello","created_at":"2026-01-02T03:04:05.000Z"},' +
      '"unread":{"count":2,"total":5}}',
  );
  assert.equal(unreadFrame({ total: 2, rooms: { r_1: 2 } }), '{"type":"unread","total":2,"rooms":{"r_1":2}}');
});

test('a system message with data: the data after the body, in the message and notification frames alike', () => {
  const system: Message = {
    id: 'm_2',
    request_id: 'r_1',
    seq: 4,
    sender: { id: 'host', role: 'system', name: null },
    body: '',
    data: { quote: { total: 120 } },
    client_id: null,
    created_at: '2026-01-02T03:04:06.000Z',
  };
  const sender = '"sender":{"id":"host","role":"system","name":null}';
  assert.equal(
    messageFrame(system),
    `{"type":"message","message":{"id":"m_2","request_id":"r_1","seq":4,${sender},"body":"","data":{"quote":{"total":120}},` +
      '"client_id":null,"created_at":"2026-01-02T03:04:06.000Z"}}',
  );
  assert.equal(
    notificationFrame('r_1', system, '', { count: 1, total: 1 }),
    `{"type":"notification","kind":"message","request_id":"r_1","message":{"id":"m_2","seq":4,${sender},"body":"",` +
      '"data":{"quote":{"total":120}},"created_at":"2026-01-02T03:04:06.000Z"},"unread":{"count":1,"total":1}}',
  );
});

test('room frames carry the room’s own fields, not its cursors', () => {
  assert.equal(
    roomFrame(ROOM),
    '{"type":"room","room":{"id":"r_1","user_id":"u-ana","workshop_id":"w-1","title":"Brakes",' +
      `"created_at":"${ROOM.created_at}","status":"open","user_name":"Ana","workshop_name":null}}`,
  );
});

test('error frames echo a client_id when there is one; pong', () => {
  assert.equal(
    errorFrame('unavailable', 'retry shortly', 'c_2'),
    '{"type":"error","code":"unavailable","message":"retry shortly","client_id":"c_2"}',
  );
  assert.equal(errorFrame('invalid', 'frame is not valid JSON', null), '{"type":"error","code":"invalid","message":"frame is not valid JSON"}');
  assert.equal(PONG, '{"type":"pong"}');
});
