// The one-script-tag page in Chromium: the host (server.mjs) on one origin serves the page and its
// tokens, the reference server on another allows only that origin. The page's owner writes; a
// workshop admin answers through the SDK; the answer shows in the widget.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { Browser } from 'playwright-core';
import { ChatClient, type ChatMessage } from '@motoreach/chat-client';
import { launchChromium } from '../../test-support/browser.js';
import { SECRET, startChatServer, type TestChatServer } from '../../test-support/chat-server.js';
import { createHostApp } from '../server.mjs';

let chat: TestChatServer;
let host: Server;
let hostUrl: string;
let browser: Browser;
before(async () => {
  let app: ReturnType<typeof createHostApp> | undefined;
  host = createServer((req, res) => app!(req, res));
  host.listen(0, '127.0.0.1');
  await once(host, 'listening');
  hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  chat = await startChatServer({ allowedOrigins: [hostUrl] });
  app = createHostApp({ chatUrl: chat.url, jwtSecret: SECRET });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  host?.close();
  await chat?.stop();
});

test('a message goes both ways between the plain page and a workshop admin', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const scripts: string[] = [];
  page.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));
  await page.goto(hostUrl);
  const box = page.getByRole('textbox', { name: 'Write a message' });
  await box.waitFor();
  assert.deepEqual(scripts, ['/motoreach-chat.min.js']);
  assert.equal(await (await fetch(`${hostUrl}/chat-token`)).headers.get('cache-control'), 'no-store');
  const requestId = new URL(page.url()).searchParams.get('request')!;

  const admin = new ChatClient({ baseUrl: chat.url, token: chat.token({ sub: 'a-bo', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bo' }), WebSocket });
  try {
    const room = admin.room(requestId);
    await room.connect();
    const heard = new Promise<ChatMessage>((resolve) => room.on('message', ({ message, own }) => !own && resolve(message)));
    await box.fill('Hello from a plain page');
    await box.press('Enter');
    const fromPage = await heard;
    assert.equal(fromPage.body, 'Hello from a plain page');
    assert.equal(fromPage.sender.name, 'Ana');

    await room.send('Hello back from the workshop');
    await page.locator('motoreach-chat .bubble', { hasText: 'Hello back from the workshop' }).waitFor();
    assert.deepEqual(errors, []);
  } finally {
    admin.close();
  }
});
