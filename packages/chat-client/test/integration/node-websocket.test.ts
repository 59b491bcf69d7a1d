// Node 22 and 24 (what `engines` promises) have a global WebSocket (undici's), and the SDK takes it
// when no `WebSocket` option is given: a Node integrator needs no `ws`. The other integration files
// pass `ws`; here clients are made as such an integrator makes them, and every socket is counted on
// its way through the global, so the tests know which implementation carried the traffic.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import WS from 'ws';
import { ChatClient, ChatError } from '../../src/index.js';
import { ADMIN, mintToken, OWNER, removeDir, type ServerProcess, spawnServer, STRANGER, unhandled, waitFor } from '../helpers.js';

const NodeWebSocket = globalThis.WebSocket;
const sockets: WebSocket[] = [];
// Node 20 has none: the first test says so instead of a TypeError at load.
if (NodeWebSocket) {
  globalThis.WebSocket = class extends NodeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  };
}
const paths = () => sockets.map((s) => new URL(s.url).pathname);

let server: ServerProcess;
const clients: ChatClient[] = [];
const open = (token: string, baseUrl = server.url) => {
  const c = new ChatClient({ baseUrl, token, reconnect: { minDelayMs: 50, maxDelayMs: 500 } });
  clients.push(c);
  return c;
};

before(async () => {
  server = await spawnServer();
});
after(async () => {
  for (const c of clients) c.close();
  await server.kill();
  removeDir(server.dataDir);
  globalThis.WebSocket = NodeWebSocket;
  assert.deepEqual(unhandled, []);
});

test(`Node ${process.versions.node} has a global WebSocket that is not ws`, () => {
  assert.ok(Number(process.versions.node.split('.')[0]) >= 22, 'engines promise Node 22 or newer');
  assert.equal(typeof NodeWebSocket, 'function');
  assert.notEqual(NodeWebSocket, WS);
  assert.equal(Object.getPrototypeOf(NodeWebSocket.prototype), EventTarget.prototype, "undici's WebSocket is an EventTarget; ws's is an EventEmitter");
});

test('without a WebSocket option the SDK chats over the global one: both ways, notifications, and back after a server restart', { timeout: 30_000 }, async () => {
  const { id } = await open(mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title: 'Global socket' });
  const ana = open(mintToken(OWNER)).room(id);
  const bo = open(mintToken(ADMIN));
  const boRoom = bo.room(id);
  const notes = bo.notifications();
  await Promise.all([ana.connect(), boRoom.connect()]);
  await waitFor(() => notes.status === 'open', 'notifications open');
  assert.deepEqual(paths().sort(), [`/ws/notifications/`, `/ws/service-chat/${id}/`, `/ws/service-chat/${id}/`]);
  assert.ok(sockets.every((s) => s instanceof NodeWebSocket && !(s instanceof WS)));

  assert.equal((await ana.send('Over the global socket')).seq, 1);
  await waitFor(() => boRoom.messages.length === 1 && notes.unread(id) === 1, 'bo has it, and the notification');
  assert.equal((await boRoom.send('Received')).seq, 2);
  await waitFor(() => ana.messages.length === 2, 'ana has the answer');
  assert.deepEqual(ana.messages.map((m) => [m.seq, m.body, m.state]), [
    [1, 'Over the global socket', 'sent'],
    [2, 'Received', 'sent'],
  ]);

  // A crash: the global socket sees the connection drop (no terminate(), unlike ws) and reconnects.
  const before = sockets.length;
  await server.kill('SIGKILL');
  await waitFor(() => ana.status !== 'open' && notes.status !== 'open', 'both noticed the crash');
  server = await spawnServer({ port: server.port, dataDir: server.dataDir });
  await waitFor(() => ana.status === 'open' && boRoom.status === 'open' && notes.status === 'open', 'all three back', 20_000);
  assert.ok(sockets.length >= before + 3);
  await ana.send('After the restart');
  await waitFor(() => boRoom.messages.length === 3, 'bo has it');
  assert.deepEqual(boRoom.messages.map((m) => m.seq), [1, 2, 3]);
});

test('over the global WebSocket a refusal (4403) is final and a base URL where nothing listens is unreachable', { timeout: 30_000 }, async () => {
  const { id } = await open(mintToken(OWNER)).createRoom({ workshop_id: 'w-1', title: 'Refusals' });
  await assert.rejects(open(mintToken(STRANGER)).room(id).connect(), { name: 'ChatError', code: 'forbidden', closeCode: 4403 });

  const vacated = createServer();
  await new Promise<void>((r) => vacated.listen(0, '127.0.0.1', r));
  const nowhere = `http://127.0.0.1:${(vacated.address() as { port: number }).port}`;
  await new Promise((r) => vacated.close(r));
  const lost = open(mintToken(OWNER), nowhere).room(id);
  const errors: ChatError[] = [];
  lost.on('error', (e) => errors.push(e));
  lost.connect().catch(() => {}); // rejected with `aborted` when the test ends
  await waitFor(() => errors.length === 1, 'unreachable');
  assert.equal(errors[0]!.code, 'unreachable');
  assert.equal(errors[0]!.baseUrl, nowhere);
  // Nothing listens, so the ticket request before the socket is what failed.
  assert.deepEqual([(errors[0]!.cause as ChatError).code, (errors[0]!.cause as ChatError).message], ['network', 'POST /api/ws-tickets/']);
  assert.equal(lost.status, 'connecting');
});
