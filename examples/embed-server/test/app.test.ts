// The reference server inside an Express app: the app's routes keep working, its token endpoint
// gives tokens the chat accepts, a message goes both ways, and closing the app closes the chat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import jwt from 'jsonwebtoken';
import { ChatClient, type ChatMessage } from '@motoreach/chat-client';
import { startApp } from '../app.js';

const SECRET = 'embed-server-test-secret-of-32-or-more-chars';

test('the app issues tokens for the chat it runs, and stops it on close', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-embed-'));
  const app = await startApp({ port: 0, chatPort: 0, jwtSecret: SECRET, allowedOrigins: ['https://app.example.com'], dataDir });
  try {
    assert.deepEqual(await (await fetch(`${app.url}/api/orders`)).json(), { orders: [] });
    assert.equal((await fetch(`${app.url}/chat-token`)).status, 401);
    const { baseUrl } = (await (await fetch(`${app.url}/chat-config`)).json()) as { baseUrl: string };
    assert.equal(baseUrl, app.chatUrl);

    const ownerToken = () => fetch(`${app.url}/chat-token`, { headers: { 'x-demo-user': 'ana' } }).then((r) => r.text());
    const owner = new ChatClient({ baseUrl, token: ownerToken, WebSocket });
    const adminToken = jwt.sign({ sub: 'a-bo', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bo' }, SECRET, { expiresIn: '5m' });
    const admin = new ChatClient({ baseUrl, token: adminToken, WebSocket });
    try {
      const info = await owner.createRoom({ workshop_id: 'w-1', title: 'Tyres' });
      const ownerRoom = owner.room(info.id);
      const adminRoom = admin.room(info.id);
      await Promise.all([ownerRoom.connect(), adminRoom.connect()]);
      const heard = (room: typeof ownerRoom) => new Promise<ChatMessage>((resolve) => room.on('message', ({ message, own }) => !own && resolve(message)));

      const atAdmin = heard(adminRoom);
      await ownerRoom.send('Winter tyres, please.');
      assert.equal((await atAdmin).body, 'Winter tyres, please.');
      assert.equal((await atAdmin).sender.name, 'Ana');
      const atOwner = heard(ownerRoom);
      await adminRoom.send('Friday at 10?');
      assert.equal((await atOwner).body, 'Friday at 10?');
    } finally {
      owner.close();
      admin.close();
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  await assert.rejects(fetch(`${app.chatUrl}/api/service-requests/`), TypeError);
});
