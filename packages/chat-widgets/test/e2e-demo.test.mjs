// End to end: the `npm start` demo in Chromium, one page per person. The owner creates a request and
// writes; the workshop admin sees it appear with a badge, opens it (the badge clears), and answers;
// the owner sees the answer and the "Read" state of their own message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import { chromiumOptions, startDemo } from './demo-server.mjs';

let demo;
let browser;
const jwtSecret = randomBytes(32).toString('hex');

/** A token of the host's backend (role "service"), as it would sign one: HS256 with the server's JWT_SECRET. */
function serviceToken() {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'host-backend', role: 'service', exp: Math.floor(Date.now() / 1000) + 300 })}`;
  return `${unsigned}.${createHmac('sha256', jwtSecret).update(unsigned).digest('base64url')}`;
}

before(async () => {
  demo = await startDemo({ jwtSecret });
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
  await admin.locator('motoreach-inbox [part=empty]').waitFor({ state: 'visible' });
  assert.equal((await admin.locator('motoreach-inbox [slot=empty]').textContent()).trim(), 'No requests yet. They appear here when a customer writes.');
  assert.equal(await admin.locator('.pick').textContent(), 'Pick a request from the list to read and answer it.');

  await owner.getByLabel('New service request for workshop w-1').fill('Front brake squeals');
  await owner.getByRole('button', { name: 'Create' }).click();
  await owner.locator('motoreach-chat .header .title', { hasText: 'Front brake squeals' }).waitFor();
  assert.equal(await owner.locator('motoreach-chat .header .peer').textContent(), 'Workshop w-1', 'named before the workshop writes');
  const ownerBox = owner.getByRole('textbox', { name: 'Write a message' });
  await ownerBox.waitFor();
  await ownerBox.fill('Hello, the front brake squeals when cold.');
  await ownerBox.press('Enter');
  await owner.locator('motoreach-chat .msg.own[data-state="sent"]').waitFor();

  const item = admin.getByRole('option', { name: /Front brake squeals/ });
  await item.waitFor();
  await item.locator('.count .sr-only', { hasText: '1 unread message' }).waitFor();
  assert.equal(await item.locator('.preview').textContent(), 'Hello, the front brake squeals when cold.');
  assert.equal(await item.locator('.peer').textContent(), 'Ana');
  assert.equal(await admin.locator('header motoreach-badge.total').evaluate((b) => b.unread), 1);
  await item.click();
  await admin.locator('.pick').waitFor({ state: 'hidden' });
  await admin.locator('motoreach-chat .msg.other .bubble', { hasText: 'front brake squeals when cold' }).waitFor();
  await admin.waitForFunction(() => document.querySelector('header motoreach-badge.total').unread === 0);
  await item.locator('.count').waitFor({ state: 'detached' });
  assert.equal(await item.getAttribute('aria-selected'), 'true');

  const adminBox = admin.getByRole('textbox', { name: 'Write a message' });
  await adminBox.fill('Bring it in tomorrow at 9.');
  await adminBox.press('Enter');

  await owner.locator('motoreach-chat .msg.other .bubble', { hasText: 'Bring it in tomorrow at 9.' }).waitFor();
  await owner.locator('motoreach-chat .msg.own[data-state="read"]').waitFor();
  assert.equal(await owner.locator('motoreach-chat .msg.own .state .sr-only').textContent(), 'Read');
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
  const items = admin.locator('motoreach-inbox [role=option] .title');
  await admin.getByRole('option', { name: titles[21] }).waitFor();
  // A page of 20, newest first: the two oldest paged requests (and the first test's) wait behind the button.
  assert.deepEqual((await items.allTextContents()).slice(0, 20), titles.slice(2).reverse());
  assert.equal(await items.count(), 20);
  await admin.getByRole('button', { name: 'Load more' }).click();
  await admin.getByRole('option', { name: titles[0] }).waitFor();
  assert.deepEqual((await items.allTextContents()).slice(20, 22), [titles[1], titles[0]]);
  await admin.getByRole('button', { name: 'Load more' }).waitFor({ state: 'detached' });
});

test('no request fails on load, and the favicon is served', async () => {
  const page = await strictPage();
  const failed = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => failed.push(`failed ${r.url()}`));
  await page.goto(`${demo.url}/`);
  await page.locator('.side[data-side="workshop"] .pick').waitFor();
  await page.waitForLoadState('networkidle');
  const icon = await page.evaluate(async () => {
    const res = await fetch(document.querySelector('link[rel="icon"]').href);
    return [res.status, res.headers.get('content-type')];
  });
  assert.deepEqual(icon, [200, 'image/svg+xml']);
  assert.deepEqual(failed, []);
});

test('?theme=dark darkens the whole page, not only the widgets', async () => {
  const context = await browser.newContext({ colorScheme: 'light' });
  const page = await context.newPage();
  await page.goto(`${demo.url}/?theme=dark`);
  await page.locator('.side[data-side="workshop"] .pick').waitFor();
  const colours = await page.evaluate(() => [
    getComputedStyle(document.body).backgroundColor,
    getComputedStyle(document.querySelector('.side')).backgroundColor,
    getComputedStyle(document.body).color,
    getComputedStyle(document.documentElement).colorScheme,
  ]);
  assert.deepEqual(colours, ['rgb(1, 4, 9)', 'rgb(13, 17, 23)', 'rgb(230, 237, 243)', 'dark']);
  assert.equal(await page.locator('.side[data-side="workshop"] motoreach-chat').getAttribute('theme'), 'dark');
  await context.close();
});

async function post(path, token, body) {
  const res = await fetch(`${demo.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, `${path}: ${res.status}`);
  return res.json();
}

for (const width of [320, 360]) {
  test(`nothing overflows sideways at ${width} px, with a conversation open`, async () => {
    const { token } = await post('/api/dev/token', null, { sub: 'u-ana', role: 'user', name: 'Ana' });
    const room = await post('/api/service-requests/', token, { workshop_id: 'w-1', title: `Rear shock absorber leaks oil after the long ride (${width})` });
    await post(`/api/service-requests/${room.id}/messages/`, token, { body: 'Video: https://example.com/a/very/long/path/to/a/video/of/the/rear/shock', client_id: `wide-${width}` });
    const context = await browser.newContext({ viewport: { width, height: 720 } });
    const page = await context.newPage();
    await page.goto(`${demo.url}/`);
    await page.locator('.side[data-side="owner"] motoreach-chat .msg').first().waitFor();
    await page.locator('.side[data-side="workshop"] motoreach-inbox [role=option]').first().click();
    await page.locator('.side[data-side="workshop"] motoreach-chat .msg').first().waitFor();
    const wide = await page.evaluate(() => {
      const all = [...document.querySelectorAll('body *')];
      for (const el of document.querySelectorAll('motoreach-chat, motoreach-inbox')) all.push(...el.shadowRoot.querySelectorAll('*'));
      return all
        .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5 || e.getBoundingClientRect().left < -0.5)
        .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    });
    assert.deepEqual(wide, []);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), width);
    await context.close();
  });
}

test('a request the host named shows the other side in each list: the workshop to the owner, the owner to the workshop', async () => {
  const res = await fetch(`${demo.url}/api/service-requests/sr-named-1/`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${serviceToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'u-ana', workshop_id: 'w-1', title: 'Named request', user_name: 'Ana Sousa', workshop_name: 'MotoWerk Porto' }),
  });
  assert.equal(res.status, 201);
  const owner = await strictPage();
  const admin = await strictPage();
  await owner.goto(`${demo.url}/?side=owner`);
  await admin.goto(`${demo.url}/?side=workshop`);
  const named = (page) => page.getByRole('option', { name: /Named request/ }).locator('.peer');
  await named(owner).waitFor();
  await named(admin).waitFor();
  assert.equal(await named(owner).textContent(), 'MotoWerk Porto');
  assert.equal(await named(admin).textContent(), 'Ana Sousa');
  // A request nobody named shows the other side's last writer.
  assert.equal(await owner.getByRole('option', { name: /Front brake squeals/ }).locator('.peer').textContent(), 'Bruno');
});
