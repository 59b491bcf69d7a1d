// The built React example in Chromium against the real reference server: the page (owner Ana)
// creates a request and writes in <MotoreachChat>; a workshop admin answers through the SDK; the
// answer shows in the widget and reaches the app through the typed onMessageReceived prop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { Browser } from 'playwright-core';
import { ChatClient, type ChatMessage } from '@motoreach/chat-client';
import { launchChromium } from '../../test-support/browser.js';
import { startChatServer, type TestChatServer } from '../../test-support/chat-server.js';

let server: TestChatServer;
let browser: Browser;
before(async () => {
  server = await startChatServer({ dev: true, staticDir: fileURLToPath(new URL('../dist', import.meta.url)) });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a message goes both ways between the React page and a workshop admin', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  const box = page.getByRole('textbox', { name: 'Write a message' });
  await box.waitFor();
  const requestId = new URL(page.url()).searchParams.get('request')!;

  const admin = new ChatClient({ baseUrl: server.url, token: server.token({ sub: 'a-bo', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bo' }), WebSocket });
  try {
    const room = admin.room(requestId);
    await room.connect();
    const heard = new Promise<ChatMessage>((resolve) => room.on('message', ({ message, own }) => !own && resolve(message)));
    await box.fill('Hello from React');
    await box.press('Enter');
    const fromPage = await heard;
    assert.equal(fromPage.body, 'Hello from React');
    assert.equal(fromPage.sender.name, 'Ana');

    await room.send('Hello back from the workshop');
    await page.getByRole('status').filter({ hasText: 'Last received: Hello back from the workshop' }).waitFor();
    await page.locator('motoreach-chat .bubble', { hasText: 'Hello back from the workshop' }).waitFor();
    assert.deepEqual(errors, []);
  } finally {
    admin.close();
  }
});
