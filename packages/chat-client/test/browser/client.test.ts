import { expect } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
// The rollup build, as a browser app gets it: native WebSocket, fetch and localStorage.
import { type ChatError, ChatClient, type ChatMessage, localStorageOutbox, type NotificationFrame } from '../../dist/index.js';

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

const keyOf = (baseUrl: string, principal: string, id: string) => `${baseUrl}|${principal}|${id}`;
const storedKeys = (prefix: string) => Object.keys(localStorage).filter((k) => k.startsWith(prefix)).sort();
// A tab that cannot reach the server: its sends stay in its outbox.
const offline = { fetch: () => Promise.reject(new TypeError('Failed to fetch')) };

it('an outbox kept in localStorage goes out after a reload, once', async () => {
  const ana = await open(OWNER);
  const { id } = await ana.createRoom({ workshop_id: 'w-b', title: 'Wipers' });
  const baseUrl = (await executeServerCommand<string, undefined>('server-url'))!;
  // What a page that was closed while offline left behind: its own key, its lock gone with it.
  const left = `test-outbox:${keyOf(baseUrl, 'user:b-ana', id)}#c_closed_tab`;
  localStorage.setItem(left, JSON.stringify([{ client_id: 'c_before_reload', body: 'written offline', created_at: new Date().toISOString() }]));

  const reloaded = await open(OWNER, { outboxStorage: localStorageOutbox('test-outbox:') });
  const room = reloaded.room(id);
  await room.connect();
  await waitFor(() => room.messages.some((m) => m.client_id === 'c_before_reload' && m.state === 'sent'), 'restored message sent');
  expect(room.messages.map((m) => [m.seq, m.body])).to.deep.equal([[1, 'written offline']]);
  await waitFor(() => storedKeys('test-outbox:').length === 0, 'storage emptied');

  // Sent again by another tab that also restored it: still one message.
  const second = (await open(OWNER)).room(id);
  await second.connect();
  expect(second.messages).to.have.length(1);
});

it('two tabs of one user keep their unsent messages apart; a tab closed with messages unsent is adopted by the next one', async () => {
  const ana = await open(OWNER);
  const { id } = await ana.createRoom({ workshop_id: 'w-b', title: 'Mirrors' });
  const baseUrl = (await executeServerCommand<string, undefined>('server-url'))!;
  const prefix = 'tabs-outbox:';
  const key = `${prefix}${keyOf(baseUrl, 'user:b-ana', id)}#`;

  // Tabs are real browsing contexts (iframes: each its own page, its own id and lock), offline, each
  // writing one message. Tab 1 is then closed; tabs 2 and 3 stay open.
  const token = (await executeServerCommand<string, Claims>('token', OWNER))!;
  const offlineTab = async (body: string): Promise<HTMLIFrameElement> => {
    const frame = document.createElement('iframe');
    const written = new Promise<void>((r) => addEventListener('message', (e) => e.data === body && r(), { once: true }));
    frame.srcdoc = `<script type="module">
      import { ChatClient, localStorageOutbox } from '/packages/chat-client/dist/index.js';
      const c = new ChatClient({ baseUrl: ${JSON.stringify(baseUrl)}, token: ${JSON.stringify(token)}, fetch: () => Promise.reject(new TypeError('offline')), outboxStorage: localStorageOutbox(${JSON.stringify(prefix)}) });
      c.room(${JSON.stringify(id)}).send(${JSON.stringify(body)}).catch(() => {});
      const wait = () => Object.keys(localStorage).some((k) => k.startsWith(${JSON.stringify(key)}) && localStorage.getItem(k).includes(${JSON.stringify(body)})) ? parent.postMessage(${JSON.stringify(body)}, '*') : setTimeout(wait, 10);
      wait();
    </script>`;
    document.body.append(frame);
    await written;
    return frame;
  };
  const frame = await offlineTab('from the closed tab');
  const open2 = await offlineTab('from tab 2');
  const open3 = await offlineTab('from tab 3');
  expect(storedKeys(key).length).to.equal(3);
  const bodies = () => storedKeys(key).map((k) => JSON.parse(localStorage.getItem(k)!).map((e: { body: string }) => e.body));
  expect(bodies().flat().sort()).to.deep.equal(['from tab 2', 'from tab 3', 'from the closed tab']);

  frame.remove();
  // Tab 4 (this page), online, opens the room: it adopts what the closed tab left, not what the open tabs hold.
  const tab4 = (await open(OWNER, { outboxStorage: localStorageOutbox(prefix) })).room(id);
  await tab4.connect();
  await tab4.send('from tab 4');
  await waitFor(() => tab4.outboxSize === 0, 'tab 4 sent everything it holds');
  expect(tab4.messages.map((m) => [m.seq, m.body])).to.deep.equal([
    [1, 'from the closed tab'],
    [2, 'from tab 4'],
  ]);
  await waitFor(() => storedKeys(key).length === 2, 'the orphaned key is gone');
  expect(bodies().flat().sort()).to.deep.equal(['from tab 2', 'from tab 3']);
  open2.remove();
  open3.remove();
});

it('a page whose origin the server does not allow: the room and notifications report unreachable with the base URL, and keep trying', async () => {
  // The strict server allows https://shop.example only; this page is served from another origin.
  const baseUrl = (await executeServerCommand<string, undefined>('strict-server-url'))!;
  const token = (await executeServerCommand<string, Claims>('token', OWNER))!;
  // Preflights of ticket requests the server refused (403), other test files' included.
  const refusedNow = async () => (await executeServerCommand<number, undefined>('refused-preflights'))!;
  const refusedBefore = await refusedNow();
  const c = new ChatClient({ baseUrl, token, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
  clients.push(c);
  const room = c.room('r_origin');
  const notes = c.notifications();
  const errors: [string, ChatError][] = [];
  room.on('error', (e) => errors.push(['room', e]));
  notes.on('error', (e) => errors.push(['notifications', e]));
  const statuses: [string, string | undefined][] = [];
  room.on('status', (e) => statuses.push([e.status, e.reason?.code]));
  room.connect().catch(() => {});

  await waitFor(() => errors.length === 2, 'both sockets report');
  expect(errors.map(([from, e]) => [from, e.code, e.message, e.baseUrl]).sort()).to.deep.equal([
    ['notifications', 'unreachable', `Can't reach the chat server at ${baseUrl}`, baseUrl],
    ['room', 'unreachable', `Can't reach the chat server at ${baseUrl}`, baseUrl],
  ]);
  // All the browser tells about a refused CORS preflight: the ticket request failed, no socket was opened.
  const cause = errors[0]![1].cause as ChatError;
  expect([cause.code, cause.message, cause.closeCode]).to.deep.equal(['network', 'POST /api/ws-tickets/', undefined]);
  expect(statuses).to.deep.equal([
    ['connecting', undefined],
    ['connecting', 'network'],
    ['connecting', 'unreachable'],
  ]);
  // The server refused this page's requests for tickets (3 attempts each) before any socket.
  expect((await refusedNow()) - refusedBefore).to.be.at.least(6);
  expect((await executeServerCommand<string[], undefined>('refused-origins'))!).to.deep.equal([]);
  // Still trying, without another report.
  const before = await refusedNow();
  const deadline = Date.now() + 10_000;
  while ((await refusedNow()) < before + 2) if (Date.now() > deadline) throw new Error('timed out waiting for more attempts');
  expect(errors.length).to.equal(2);
  expect(room.status).to.equal('connecting');
  expect(room.statusReason?.code).to.equal('unreachable');
});

it("signOut() leaves nothing of that person's in localStorage (every room, every tab's key); another person's entries stay", async () => {
  const baseUrl = (await executeServerCommand<string, undefined>('server-url'))!;
  const prefix = 'signout-outbox:';
  const entry = (body: string) => JSON.stringify([{ client_id: `c_${body.replace(/\W/g, '_')}`, body, created_at: new Date().toISOString() }]);
  // What other tabs and earlier pages left: Bo in two rooms (one of them an open tab's key), Ana, and Bo on another server.
  const others = {
    [`${prefix}${keyOf(baseUrl, 'workshop:b-bo', 'r_other')}#tab_open`]: entry('Bo, another tab'),
    [`${prefix}${keyOf(baseUrl, 'workshop:b-bo', 'r_old')}#tab_closed`]: entry('Bo, a closed tab'),
    [`${prefix}${keyOf(baseUrl, 'user:b-ana', 'r_other')}#tab_open`]: entry('Ana, hers'),
    [`${prefix}${keyOf('https://other.example', 'workshop:b-bo', 'r_other')}#tab_open`]: entry('Bo, elsewhere'),
    'unrelated-key': 'kept',
  };
  for (const [k, v] of Object.entries(others)) localStorage.setItem(k, v);

  const bo = await open(ADMIN, { ...offline, outboxStorage: localStorageOutbox(prefix) });
  const room = bo.room('r_this');
  void room.send('PRIVATE: my door code is 4711').catch(() => {});
  await waitFor(() => storedKeys(`${prefix}${keyOf(baseUrl, 'workshop:b-bo', 'r_this')}#`).length === 1, 'the pending message stored');

  await bo.signOut();
  const everything = () => Object.keys(localStorage).filter((k) => k.startsWith(prefix) || k === 'unrelated-key').sort();
  expect(everything()).to.deep.equal(
    [`${prefix}${keyOf(baseUrl, 'user:b-ana', 'r_other')}#tab_open`, `${prefix}${keyOf('https://other.example', 'workshop:b-bo', 'r_other')}#tab_open`, 'unrelated-key'].sort(),
  );
  expect(Object.values(localStorage).some((v) => v.includes('4711'))).to.equal(false);
  expect(room.messages).to.deep.equal([]);
  expect(room.status).to.equal('closed');
  for (const k of everything()) localStorage.removeItem(k);
});
