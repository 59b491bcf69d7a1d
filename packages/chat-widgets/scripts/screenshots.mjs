// Regenerates docs/images/*.png from the demo: a short conversation, then the owner's widget in
// light, dark and at a phone width, and the whole demo page. Run after `npm run build:standalone`.
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumOptions, startDemo } from '../test/demo-server.mjs';

const out = fileURLToPath(new URL('../../../docs/images/', import.meta.url));
mkdirSync(out, { recursive: true });

const demo = await startDemo();
const api = async (path, token, body) => {
  const res = await fetch(`${demo.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
};
const token = async (identity) => (await api('/api/dev/token', null, identity)).token;

try {
  const ana = await token({ sub: 'u-ana', role: 'user', name: 'Ana' });
  const bruno = await token({ sub: 'a-bruno', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bruno' });
  const room = await api('/api/service-requests/', ana, { workshop_id: 'w-1', title: 'Front brake squeals' });
  const say = (t, body) => api(`/api/service-requests/${room.id}/messages/`, t, { body });
  await say(ana, 'Hi! The front brake of my CB500X squeals when it is cold.');
  await say(ana, 'It stops after a few minutes of riding.');
  await say(bruno, 'Thanks Ana. That is often glazed pads. Can you bring it in tomorrow at 9:00?');
  await say(ana, 'Yes. Here is a short video of the noise: https://example.com/brake-noise');
  await api(`/api/service-requests/${room.id}/messages/read/`, bruno, {});
  await say(bruno, 'Got it, see you tomorrow.');
  await say(ana, 'Perfect, see you then!');

  const browser = await chromium.launch(chromiumOptions);
  try {
    const shoot = async (name, { width, height, colorScheme, fullPage, query = '?side=owner' }) => {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${demo.url}/${query}`);
      if (fullPage) {
        await page.locator('.side[data-side="workshop"] .rooms button').first().click();
        await page.locator('.side[data-side="workshop"] motoreach-chat .msg.other').last().waitFor();
      }
      await page.locator(`motoreach-chat .msg.own[data-state="${fullPage ? 'read' : 'sent'}"]`).last().waitFor();
      await page.locator('motoreach-chat .msg.other').last().waitFor();
      await page.locator('motoreach-chat').first().evaluate((el) => el.updateComplete);
      const file = `${out}${name}.png`;
      if (fullPage) await page.screenshot({ path: file });
      else await page.locator('motoreach-chat').screenshot({ path: file });
      console.log(`${name}.png ${(statSync(file).size / 1024).toFixed(0)} KB`);
      await context.close();
    };
    await shoot('chat-light', { width: 1000, height: 760, colorScheme: 'light' });
    await shoot('chat-dark', { width: 1000, height: 760, colorScheme: 'dark' });
    await shoot('chat-mobile', { width: 360, height: 780, colorScheme: 'light' });
    await shoot('demo', { width: 1280, height: 760, colorScheme: 'light', fullPage: true, query: '' });
  } finally {
    await browser.close();
  }
} finally {
  await demo.stop();
}
