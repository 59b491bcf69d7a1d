import { expect } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
// The rollup build, as a browser app gets it: native WebSocket, fetch and localStorage.
import { ChatClient, type ChatMessage, localStorageOutbox, type NotificationFrame } from '../../dist/index.js';

// Mocha's globals, as @web/test-runner provides them.
declare function it(title: string, fn: () => Promise<void>): void;
declare function afterEach(fn: () => void): void;

interface Claims {
  sub: string;
  role: 'user' | 'workshop_admin';
  workshop_id?: string;
  name?: string;
}
const OWNER: Claims = { sub: 'b-ana', role: 'user', name: 'Ana' };
const ADMIN: Claims = { sub: 'b-bo', role: 'workshop_admin', workshop_id: 'w-b', name: 'Bo' };

const clients: ChatClient[] = [];
async function open(claims: Claims, extra: Partial<ConstructorParameters<typeof ChatClient>[0]> = {}): Promise<ChatClient> {
  const baseUrl = (await executeServerCommand<string, undefined>('server-url'))!;
  const c = new ChatClient({ baseUrl, token: () => executeServerCommand<string, Claims>('token', claims).then((t) => t!), ...extra });
  clients.push(c);
  return c;
}

async function waitFor(predicate: () => boolean, label: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

it('chats between two clients with the native WebSocket and fetch', async () => {
  const ana = await open(OWNER);
  const bo = await open(ADMIN);
  const { id } = await ana.createRoom({ workshop_id: 'w-b', title: 'Headlight' });
  const a = ana.room(id);
  const b = bo.room(id);
  await Promise.all([a.connect(), b.connect()]);
  expect(a.status).to.equal('open');

  const notes = bo.notifications();
  await waitFor(() => notes.status === 'open', 'notifications open');
  const frames: NotificationFrame[] = [];
  notes.on('notification', (f) => frames.push(f));

  const got: ChatMessage[] = [];
  b.on('message', (e) => got.push(e.message));
  const sent = await a.send('The left one is out');
  expect(sent.seq).to.equal(1);
  await waitFor(() => got.length === 1 && frames.length === 1, 'message and notification');
  expect(got[0]!.body).to.equal('The left one is out');
  expect(frames[0]!.request_id).to.equal(id);
  expect(notes.unread(id)).to.equal(1);

  await b.markRead();
  await waitFor(() => a.isReadByOtherSide(a.messages[0]!), 'ana sees it read');
  await waitFor(() => notes.unread(id) === 0, 'unread cleared');
});

it('an outbox kept in localStorage goes out after a reload, once', async () => {
  const ana = await open(OWNER);
  const { id } = await ana.createRoom({ workshop_id: 'w-b', title: 'Wipers' });
  // What a page that was closed while offline left behind.
  const storage = localStorageOutbox('test-outbox:');
  storage.save(id, [{ client_id: 'c_before_reload', body: 'written offline', created_at: '2026-01-01T00:00:00.000Z' }]);
  expect(JSON.parse(localStorage.getItem(`test-outbox:${id}`)!)).to.have.length(1);

  const reloaded = await open(OWNER, { outboxStorage: localStorageOutbox('test-outbox:') });
  const room = reloaded.room(id);
  await room.connect();
  await waitFor(() => room.messages.some((m) => m.client_id === 'c_before_reload' && m.state === 'sent'), 'restored message sent');
  expect(room.messages.map((m) => [m.seq, m.body])).to.deep.equal([[1, 'written offline']]);
  await waitFor(() => localStorage.getItem(`test-outbox:${id}`) === null, 'storage emptied');

  // Sent again by another tab that also restored it: still one message.
  const second = (await open(OWNER)).room(id);
  await second.connect();
  expect(second.messages).to.have.length(1);
});
