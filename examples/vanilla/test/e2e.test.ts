// The one-script-tag page in Chromium: the host (server.mjs) on one origin serves the page and its
// tokens, the reference server on another allows only that origin. The page's owner writes; a
// workshop admin answers through the SDK; the answer shows in the widget.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { messageBothWays } from '../../test-support/both-ways.js';
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
  const scripts: string[] = [];
  await messageBothWays(
    browser,
    chat,
    (page) => {
      page.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));
      return page.goto(hostUrl);
    },
    'Hello from a plain page',
  );
  assert.deepEqual(scripts, ['/motoreach-chat.min.js']);
  assert.equal((await fetch(`${hostUrl}/chat-token`)).headers.get('cache-control'), 'no-store');
});
