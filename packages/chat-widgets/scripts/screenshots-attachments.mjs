// Regenerates docs/images/attachments-360-light.png and image-dialog-360-light.png from the demo: the
// owner's side at 360 px with a photo from the workshop, a PDF quote, and a photo picked to send; then
// the photo open full size. Run after `npm run build:standalone`.
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { chromiumOptions, startDemo } from '../test/demo-server.mjs';

const out = fileURLToPath(new URL('../../../docs/images/', import.meta.url));
mkdirSync(out, { recursive: true });

// A stand-in for a photo of a scratched fairing: drawn, so that the docs carry no one's picture.
const photo = await sharp(
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="900">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#b91c1c"/><stop offset="1" stop-color="#450a0a"/></linearGradient></defs>
    <rect width="1200" height="900" fill="url(#g)"/>
    <path d="M300 520 C 480 430, 640 470, 900 360" stroke="#f5f5f4" stroke-width="14" fill="none" stroke-linecap="round"/>
    <path d="M340 560 C 500 480, 660 510, 860 420" stroke="#d6d3d1" stroke-width="6" fill="none" stroke-linecap="round"/>
  </svg>`),
)
  .jpeg({ quality: 80 })
  .toBuffer();
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'.padEnd(48_000, ' '));

const demo = await startDemo();
const call = async (path, token, body, type = 'application/json') => {
  const res = await fetch(`${demo.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: type === 'application/json' ? JSON.stringify(body) : body,
  });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
};
const token = async (identity) => (await call('/api/dev/token', null, identity)).token;

try {
  const ana = await token({ sub: 'u-ana', role: 'user', name: 'Ana' });
  const bruno = await token({ sub: 'a-bruno', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bruno' });
  const room = await call('/api/service-requests/', ana, { workshop_id: 'w-1', title: 'Scratched fairing' });
  const path = `/api/service-requests/${room.id}/`;
  const upload = async (t, name, bytes, type) => (await call(`${path}attachments/?name=${name}`, t, bytes, type)).attachment.id;
  const say = (t, body, attachments) => call(`${path}messages/`, t, { body, ...(attachments && { attachments }) });
  await say(ana, 'Hi! Someone scraped the fairing in the car park. Can you fix it?');
  await say(bruno, 'Sure. Here is what we see: the paint is gone, the plastic is fine.', [await upload(bruno, 'fairing.jpg', photo, 'image/jpeg')]);
  await say(bruno, 'And the quote for the repaint:', [await upload(bruno, 'quote-1042.pdf', pdf, 'application/pdf')]);

  const browser = await chromium.launch(chromiumOptions);
  try {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, colorScheme: 'light', deviceScaleFactor: 1, hasTouch: true, isMobile: true });
    const page = await context.newPage();
    await page.goto(`${demo.url}/?side=owner`);
    const chat = page.locator('motoreach-chat');
    await chat.locator('.msg.other img').waitFor();
    await page.waitForFunction(() => [...document.querySelector('motoreach-chat').shadowRoot.querySelectorAll('img')].every((i) => i.complete));
    await chat.locator('#file-input').setInputFiles({ name: 'my-photo.jpg', mimeType: 'image/jpeg', buffer: photo });
    await chat.locator('textarea').fill('Here is mine, from the other side');
    await chat.locator('.chip').waitFor();
    const shoot = async (name) => {
      const file = `${out}${name}.png`;
      await page.screenshot({ path: file, fullPage: true });
      console.log(`${name}.png ${(statSync(file).size / 1024).toFixed(0)} KB`);
    };
    await shoot('attachments-360-light');
    await chat.locator('.msg.other .image').click();
    await chat.locator('dialog img').waitFor();
    await page.waitForFunction(() => document.querySelector('motoreach-chat').shadowRoot.querySelector('dialog img').complete);
    await shoot('image-dialog-360-light');
    await context.close();
  } finally {
    await browser.close();
  }
} finally {
  await demo.stop();
}
