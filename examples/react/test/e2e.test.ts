// The built React example in Chromium against the real reference server: the page (owner Ana)
// creates a request and writes in <MotoreachChat>; a workshop admin answers through the SDK; the
// answer shows in the widget and reaches the app through the typed onMessageReceived prop.
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { ANSWER, messageBothWays } from '../../test-support/both-ways.js';
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
  const page = await messageBothWays(browser, server, (p) => p.goto(server.url), 'Hello from React');
  await page.getByRole('status').filter({ hasText: `Last received: ${ANSWER}` }).waitFor();
});
