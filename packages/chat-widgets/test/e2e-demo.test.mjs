// End to end: the `npm start` demo in Chromium, one page per person. The owner creates a request and
// writes; the workshop admin sees it appear with a badge, opens it (the badge clears), and answers;
// the owner sees the answer and the "Read" state of their own message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { chromiumOptions, startDemo } from './demo-server.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

// The demo page declares a strict Content-Security-Policy (no inline script or style): record any violation.
async function strictPage() {
  const page = await (await browser.newContext()).newPage();
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return page;
}

test('owner and workshop admin chat through the demo page, under a strict CSP', async () => {
  const owner = await strictPage();
  const admin = await strictPage();
  const errors = [];
  for (const page of [owner, admin]) page.on('pageerror', (e) => errors.push(e.message));
  await owner.goto(`${demo.url}/?side=owner`);
  await admin.goto(`${demo.url}/?side=workshop`);
  await admin.locator('.empty').waitFor({ state: 'visible' });

  await owner.getByLabel('New service request for workshop w-1').fill('Front brake squeals');
  await owner.getByRole('button', { name: 'Create' }).click();
  await owner.locator('.room-title', { hasText: 'Front brake squeals' }).waitFor();
  const ownerBox = owner.getByRole('textbox', { name: 'Write a message' });
  await ownerBox.waitFor();
  await ownerBox.fill('Hello, the front brake squeals when cold.');
  await ownerBox.press('Enter');
  await owner.locator('motoreach-chat .msg.own[data-state="sent"]').waitFor();

  const item = admin.locator('.rooms button', { hasText: 'Front brake squeals' });
  await item.waitFor();
  await admin.waitForFunction(() => document.querySelector('.rooms motoreach-badge')?.unread === 1);
  assert.equal(await item.locator('motoreach-badge').evaluate((b) => b.label), '1 unread message');
  assert.equal(await admin.locator('header motoreach-badge.total').evaluate((b) => b.unread), 1);
  await item.click();
  await admin.locator('motoreach-chat .msg.other .bubble', { hasText: 'front brake squeals when cold' }).waitFor();
  await admin.waitForFunction(() => document.querySelector('header motoreach-badge.total').unread === 0);
  await admin.waitForFunction(() => document.querySelector('.rooms motoreach-badge').hidden === true);

  const adminBox = admin.getByRole('textbox', { name: 'Write a message' });
  await adminBox.fill('Bring it in tomorrow at 9.');
  await adminBox.press('Enter');

  await owner.locator('motoreach-chat .msg.other .bubble', { hasText: 'Bring it in tomorrow at 9.' }).waitFor();
  await owner.locator('motoreach-chat .msg.own[data-state="read"]').waitFor();
  assert.equal(await owner.locator('motoreach-chat .msg.own .state').textContent(), 'Read');
  assert.deepEqual(errors, []);
  for (const page of [owner, admin]) assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.equal(await owner.evaluate(() => document.querySelectorAll('style').length), 0);
});

test('the request list comes a page at a time, most recent activity first, with older requests on demand', async () => {
  const { token } = await (
    await fetch(`${demo.url}/api/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sub: 'u-pages', role: 'user', name: 'Pia', workshop_id: undefined }) })
  ).json();
  const titles = Array.from({ length: 22 }, (_, i) => `Paged request ${String(i + 1).padStart(2, '0')}`);
  for (const title of titles) {
    const res = await fetch(`${demo.url}/api/service-requests/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workshop_id: 'w-1', title }),
    });
    assert.equal(res.status, 201);
  }
  const admin = await strictPage();
  await admin.goto(`${demo.url}/?side=workshop`);
  const items = admin.locator('.rooms button .title');
  await admin.locator('.rooms button', { hasText: titles[21] }).waitFor();
  // A page of 20, newest first: the two oldest paged requests (and the first test's) wait behind the button.
  assert.deepEqual((await items.allTextContents()).slice(0, 20), titles.slice(2).reverse());
  assert.equal(await items.count(), 20);
  await admin.getByRole('button', { name: 'Older requests' }).click();
  await admin.locator('.rooms button', { hasText: titles[0] }).waitFor();
  assert.deepEqual((await items.allTextContents()).slice(20, 22), [titles[1], titles[0]]);
  assert.equal(await admin.getByRole('button', { name: 'Older requests' }).isHidden(), true);
});
