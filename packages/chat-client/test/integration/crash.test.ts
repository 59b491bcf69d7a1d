import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ChatClient, ChatMessage, Room } from '../../src/index.js';
import { ADMIN, client, mintToken, OWNER, removeDir, type ServerProcess, spawnServer, storedMessages, unhandled, waitFor } from '../helpers.js';

const clients: ChatClient[] = [];
let server: ServerProcess;
after(async () => {
  for (const c of clients) c.close();
  await server.kill();
  removeDir(server.dataDir);
  assert.deepEqual(unhandled, []);
});

const PER_SIDE = 40;


test('server SIGKILLed and restarted mid-conversation: every message stored once, both sides end gapless and equal', async () => {
  server = await spawnServer({ env: { WS_RATE_LIMIT: '0', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });
  const { port, dataDir } = server;
  const make = (claims: typeof OWNER) => {
    const c = client(server.url, mintToken(claims), { ackTimeoutMs: 1000 });
    clients.push(c);
    return c;
  };
  const id = (await make(OWNER).createRoom({ workshop_id: 'w-1', title: 'Engine light' })).id;
  const ana = make(OWNER).room(id);
  const bo = make(ADMIN).room(id);
  await Promise.all([ana.connect(), bo.connect()]);

  const sends: Promise<ChatMessage>[] = [];
  // Both sides write in turns; the server dies after a third of them, while some are in flight,
  // and stays down while another third is written.
  const write = (from: number, to: number) => {
    for (let i = from; i < to; i++) sends.push(ana.send(`ana ${i}`), bo.send(`bo ${i}`));
  };
  write(0, 10);
  await Promise.all(sends.slice(0, 16));
  write(10, 15);
  await server.kill('SIGKILL');
  write(15, 28);
  await waitFor(() => ana.status !== 'open' && bo.status !== 'open', 'both sides notice the crash');
  server = await spawnServer({ port, dataDir, env: { WS_RATE_LIMIT: '0', WS_USER_RATE_LIMIT: '0', HTTP_RATE_LIMIT: '0' } });
  write(28, PER_SIDE);

  const stored = await Promise.all(sends);
  assert.equal(new Set(stored.map((m) => m.seq)).size, PER_SIDE * 2, 'every send resolved with its own seq');

  const onServer = await storedMessages(server.url, id);
  assert.deepEqual(onServer.map((m) => m.seq), Array.from({ length: PER_SIDE * 2 }, (_, i) => i + 1));
  const bodies = onServer.map((m) => m.body).sort();
  const expected = Array.from({ length: PER_SIDE }, (_, i) => [`ana ${i}`, `bo ${i}`]).flat().sort();
  assert.deepEqual(bodies, expected, 'each written message is stored exactly once');
  // A side's own messages keep the order they were written in.
  for (const who of ['ana', 'bo']) {
    const mine = onServer.filter((m) => m.body.startsWith(who)).map((m) => Number(m.body.split(' ')[1]));
    assert.deepEqual(mine, Array.from({ length: PER_SIDE }, (_, i) => i));
  }

  const view = (room: Room) => room.messages.map((m) => `${m.seq}:${m.id}:${m.body}:${m.state}`);
  await waitFor(() => ana.messages.length === PER_SIDE * 2 && bo.messages.length === PER_SIDE * 2, 'both lists complete');
  const expectedView = onServer.map((m) => `${m.seq}:${m.id}:${m.body}:sent`);
  assert.deepEqual(view(ana), expectedView);
  assert.deepEqual(view(bo), expectedView);
});
