// The examples' shared e2e step: a page whose owner (Ana) has a request open in <motoreach-chat>
// writes `greeting`; a workshop admin of w-1 hears it through the SDK and answers; the answer shows
// in the widget. Each example's test keeps only what is its own: how its page is served and opened,
// and what its app does with a message.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { Browser, Page } from 'playwright-core';
import { ChatClient, type ChatMessage } from '@motoreach/chat-client';
import type { TestChatServer } from './chat-server.js';

export const ANSWER = 'Hello back from the workshop';

/** Opens a page with `open`, sends both ways, and returns the page; any page error fails it. */
export async function messageBothWays(browser: Browser, chat: TestChatServer, open: (page: Page) => Promise<unknown>, greeting: string): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await open(page);
  const box = page.getByRole('textbox', { name: 'Write a message' });
  await box.waitFor();
  const requestId = new URL(page.url()).searchParams.get('request')!;

  const admin = new ChatClient({ baseUrl: chat.url, token: chat.token({ sub: 'a-bo', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bo' }), WebSocket });
  try {
    const room = admin.room(requestId);
    await room.connect();
    const heard = new Promise<ChatMessage>((resolve) => room.on('message', ({ message, own }) => !own && resolve(message)));
    await box.fill(greeting);
    await box.press('Enter');
    const fromPage = await heard;
    assert.equal(fromPage.body, greeting);
    assert.equal(fromPage.sender.name, 'Ana');

    await room.send(ANSWER);
    await page.locator('motoreach-chat .bubble', { hasText: ANSWER }).waitFor();
    assert.deepEqual(errors, []);
    return page;
  } finally {
    admin.close();
  }
}
