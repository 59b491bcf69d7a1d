// Regenerates docs/images/*.png from the demo: a short conversation, then the demo page at 1280 px
// (both sides) and the owner's side at 360 px, each light and dark, the owner's chat on a 390 px
// phone with the keyboard open, and the workshop's inbox at 1280 px (a few requests the host's backend
// named). Run after `npm run build:standalone`; name images (without .png) to regenerate only those.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumOptions, startDemo } from '../test/demo-server.mjs';

const out = fileURLToPath(new URL('../../../docs/images/', import.meta.url));
const only = process.argv.slice(2);
const wanted = (name) => only.length === 0 || only.includes(name);
mkdirSync(out, { recursive: true });

const jwtSecret = randomBytes(32).toString('hex');
const demo = await startDemo({ jwtSecret });
const api = async (path, token, body, method = 'POST') => {
  const res = await fetch(`${demo.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
};
const token = async (identity) => (await api('/api/dev/token', null, identity)).token;

/** A token of the host's backend (role "service"), signed as it would sign one: HS256 with the server's JWT_SECRET. */
function serviceToken() {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'host-backend', role: 'service', exp: Math.floor(Date.now() / 1000) + 300 })}`;
  return `${unsigned}.${createHmac('sha256', jwtSecret).update(unsigned).digest('base64url')}`;
}

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

  // More of the workshop's requests, named by the host's backend, for the inbox.
  const service = serviceToken();
  const requests = [
    { id: 'sr-1041', title: 'Winter storage and battery check', user: 'u-lena', user_name: 'Lena Vogel', status: 'closed', from: 'system', body: 'Picked up on 3 March. Thank you!' },
    { id: 'sr-1042', title: '30,000 km service', user: 'u-rui', user_name: 'Rui Costa', from: 'workshop', body: 'The quote is €180, parts included.' },
    { id: 'sr-1043', title: 'Chain slack and sprockets', user: 'u-marta', user_name: 'Marta Silva', from: 'owner', body: 'Is Thursday morning possible?' },
    { id: 'sr-1044', title: 'Rear brake feels soft', user: 'u-joao', user_name: 'João Pereira', from: 'owner', body: 'The lever goes almost to the bar on my Tracer 7.' },
    { id: 'sr-1045', title: 'Oil leak under the fork', user: 'u-sam', user_name: 'Sam Taylor', from: 'owner', body: 'It drips after a long ride. Photo attached soon.' },
  ];
  for (const r of requests) {
    await api(`/api/service-requests/${r.id}/`, service, { user_id: r.user, workshop_id: 'w-1', title: r.title, user_name: r.user_name, workshop_name: 'MotoWerk Porto' }, 'PUT');
    const owner = await token({ sub: r.user, role: 'user', name: r.user_name.split(' ')[0] });
    const author = r.from === 'system' ? service : r.from === 'owner' ? owner : bruno;
    await api(`/api/service-requests/${r.id}/messages/`, author, { body: r.body });
    if (r.id === 'sr-1043') await api(`/api/service-requests/${r.id}/messages/`, owner, { body: 'Or Friday, any time.' });
    if (r.status) await api(`/api/service-requests/${r.id}/`, service, { user_id: r.user, workshop_id: 'w-1', title: r.title, user_name: r.user_name, status: r.status }, 'PUT');
  }

  const browser = await chromium.launch(chromiumOptions);
  try {
    // The whole page, as a visitor sees it: both sides at a desktop width (the workshop with the
    // conversation open and read), the owner's side alone at a phone width.
    const shoot = async (name, { width, height, colorScheme, query }) => {
      if (!wanted(name)) return;
      const context = await browser.newContext({ viewport: { width, height }, colorScheme, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${demo.url}/${query}`);
      const workshop = page.locator('.side[data-side="workshop"]');
      if ((await workshop.count()) > 0) {
        await workshop.getByRole('option', { name: /Front brake squeals/ }).click();
        await workshop.locator('motoreach-chat .msg.other').last().waitFor();
        await page.locator('.side[data-side="owner"] motoreach-chat .msg.own[data-state="read"]').last().waitFor();
      } else {
        await page.locator('motoreach-chat .msg.own').last().waitFor();
        await page.locator('motoreach-chat .header .title').waitFor();
      }
      await page.locator('motoreach-chat .header .peer').first().waitFor();
      const file = `${out}${name}.png`;
      // A phone page is taller than the screen: all of it, the widget included.
      await page.screenshot({ path: file, fullPage: width < 600 });
      console.log(`${name}.png ${(statSync(file).size / 1024).toFixed(0)} KB`);
      await context.close();
    };
    await shoot('demo-1280-light', { width: 1280, height: 820, colorScheme: 'light', query: '' });
    await shoot('demo-1280-dark', { width: 1280, height: 820, colorScheme: 'dark', query: '' });
    await shoot('chat-360-light', { width: 360, height: 740, colorScheme: 'light', query: '?side=owner' });
    await shoot('chat-360-dark', { width: 360, height: 740, colorScheme: 'dark', query: '?side=owner' });
    // A 390 x 844 phone with its keyboard open: 336 px of keyboard and 148 px of browser bars leave
    // the chat 360 px, as a page with interactive-widget=resizes-content gives it; a draft in the
    // composer, the newest message still in view above it.
    if (wanted('chat-390-keyboard')) {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light', deviceScaleFactor: 1, hasTouch: true, isMobile: true });
      const page = await context.newPage();
      await page.goto(`${demo.url}/?side=owner`);
      const chat = page.locator('motoreach-chat').first();
      await chat.locator('.msg.own').last().waitFor();
      await chat.locator('.header .peer').waitFor();
      await chat.evaluate((el) => (el.style.height = '360px'));
      await chat.locator('textarea').fill('Should I bring the spare pads I bought?');
      await page.waitForFunction(() => {
        const log = document.querySelector('motoreach-chat').shadowRoot.querySelector('.log');
        return log.scrollHeight - log.scrollTop - log.clientHeight <= 1;
      });
      const file = `${out}chat-390-keyboard.png`;
      await chat.screenshot({ path: file });
      console.log(`chat-390-keyboard.png ${(statSync(file).size / 1024).toFixed(0)} KB`);
      await context.close();
    }

    // The workshop's side alone: the inbox beside the conversation picked in it.
    if (wanted('inbox-1280-light')) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 760 }, colorScheme: 'light', deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${demo.url}/?side=workshop`);
      await page.getByRole('option', { name: /Chain slack/ }).click();
      await page.locator('motoreach-chat .msg.other').last().waitFor();
      await page.locator('motoreach-inbox [role=option]').nth(5).waitFor();
      const file = `${out}inbox-1280-light.png`;
      await page.screenshot({ path: file });
      console.log(`inbox-1280-light.png ${(statSync(file).size / 1024).toFixed(0)} KB`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
} finally {
  await demo.stop();
}
