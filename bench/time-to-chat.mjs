// Time to chat (issue 19): from inserting <motoreach-chat> into a page that has the bundle loaded to
// the frame that shows the newest message, in Chromium against the reference server on localhost
// (same origin: the server serves the page). Cold: the first chat of a fresh page; warm: the next
// ones in that page (a client, JIT and connections already there). Also: how many of the newest
// page's rows that first frame has (all 50 are to come in one frame). Target: <= 100 ms.
// Usage: npm run build -w @motoreach/chat-widgets && node bench/time-to-chat.mjs
// BUNDLE=<file> measures another build of motoreach-chat.min.js (another branch's, say) the same way.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'time-to-chat-bench-secret-0123456789abcdef';
const MESSAGES = 60;
const COLD_RUNS = Number(process.env.COLD_RUNS ?? 7);
const WARM_RUNS = Number(process.env.WARM_RUNS ?? 15);

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function token(claims) {
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}
const OWNER = { sub: 'u-ana', role: 'user', name: 'Ana' };
const ADMIN = { sub: 'a-bo', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bo' };
const SERVICE = { sub: 'host-backend', role: 'service' };

// The page and the bundle, served by the reference server itself.
const dir = mkdtempSync(join(tmpdir(), 'time-to-chat-'));
const site = join(dir, 'site');
mkdirSync(site);
copyFileSync(process.env.BUNDLE ?? join(root, 'packages/chat-widgets/dist/motoreach-chat.min.js'), join(site, 'motoreach-chat.min.js'));
writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><body><script type="module" src="motoreach-chat.min.js"></script></body>');

const child = spawn(
  process.execPath,
  ['--import', 'tsx', join(root, 'reference-server/src/bin.ts'), '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data'), '--jwt-secret', SECRET, '--static-dir', site, '--shutdown-drain-ms', '0'],
  { env: { ...process.env, LOG_LEVEL: 'info', HTTP_RATE_LIMIT: '0', ROOMS_PER_HOUR: '0', ALLOWED_ORIGINS: '*' }, stdio: ['ignore', 'pipe', 'inherit'] },
);
const base = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = /"msg":"listening"/.test(out) && /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

async function call(method, path, who, body) {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token(who)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}
// A room with MESSAGES messages, the newest from the workshop.
async function room(n) {
  const id = `sr-ttc-${n}`;
  await call('PUT', `/api/service-requests/${id}/`, SERVICE, { user_id: OWNER.sub, workshop_id: ADMIN.workshop_id, title: 'Brakes', status: 'open' });
  for (let i = 1; i <= MESSAGES; i++) await call('POST', `/api/service-requests/${id}/messages/`, i % 2 ? ADMIN : OWNER, { body: `Message ${i}`, client_id: `c_${n}_${i}` });
  return id;
}

// In the page: insert the chat, then look at every frame until the newest message is in it; the
// frame after that one is the first painted with it.
async function measure(page, id) {
  return page.evaluate(
    ({ id, base, token, newest }) =>
      new Promise((resolve) => {
        const el = document.createElement('motoreach-chat');
        el.setAttribute('base-url', base);
        el.setAttribute('token', token);
        el.setAttribute('request-id', id);
        const t0 = performance.now();
        document.body.replaceChildren(el);
        const frame = () => {
          const rows = el.shadowRoot?.querySelectorAll('[data-seq]') ?? [];
          if (![...rows].some((r) => r.dataset.seq === String(newest))) return requestAnimationFrame(frame);
          const rowsInFirstFrame = rows.length;
          requestAnimationFrame(() => resolve({ ms: performance.now() - t0, rowsInFirstFrame }));
        };
        requestAnimationFrame(frame);
      }),
    { id, base, token: token(OWNER), newest: MESSAGES },
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  let rooms = 0;
  const cold = [];
  const warm = [];
  for (let run = 0; run < COLD_RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 420, height: 700 } });
    const page = await context.newPage();
    await page.goto(`${base}/index.html`);
    await page.evaluate(() => customElements.whenDefined('motoreach-chat'));
    cold.push(await measure(page, await room(++rooms)));
    // Warm: the same page, another room each time.
    if (run === 0) for (let i = 0; i < WARM_RUNS; i++) warm.push(await measure(page, await room(++rooms)));
    await context.close();
  }
  const summary = {
    chromium: browser.version(),
    bundle: process.env.BUNDLE ?? 'packages/chat-widgets/dist/motoreach-chat.min.js',
    messagesInRoom: MESSAGES,
    coldMedianMs: +median(cold.map((r) => r.ms)).toFixed(1),
    coldMinMs: +Math.min(...cold.map((r) => r.ms)).toFixed(1),
    coldMaxMs: +Math.max(...cold.map((r) => r.ms)).toFixed(1),
    warmMedianMs: +median(warm.map((r) => r.ms)).toFixed(1),
    warmMinMs: +Math.min(...warm.map((r) => r.ms)).toFixed(1),
    warmMaxMs: +Math.max(...warm.map((r) => r.ms)).toFixed(1),
    rowsInFirstFrame: [...new Set([...cold, ...warm].map((r) => r.rowsInFirstFrame))],
  };
  console.log(JSON.stringify(summary, null, 2));
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/time-to-chat.json'), JSON.stringify({ summary, cold, warm }, null, 2));
  if (!(summary.coldMedianMs <= 100 && summary.warmMedianMs <= 100 && summary.rowsInFirstFrame.every((n) => n === 50))) process.exitCode = 1;
} finally {
  await browser.close();
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
}
