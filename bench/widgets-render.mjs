// Render benchmark of <motoreach-chat> in Chromium: first render of 1,000 and 10,000 history messages,
// and the cost of appending one message to a 10,000-message history. Targets: < 150 ms, < 5 ms.
// Usage: npm run build:standalone -w @motoreach/chat-widgets && node bench/widgets-render.mjs
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const types = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (!path.startsWith('/bench/') && !path.startsWith('/packages/chat-widgets/dist/')) return res.writeHead(404).end();
  try {
    const body = readFileSync(join(root, path));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address();

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await page.goto(`http://127.0.0.1:${port}/bench/widgets-render.html`);
  const result = await page.evaluate(() => window.benchResult);
  const summary = {
    chromium: browser.version(),
    firstRender1000Ms: +result.firstRender1000.medianMs.toFixed(1),
    firstRender10000Ms: +result.firstRender10000.medianMs.toFixed(1),
    rowsInDom10000: result.firstRender10000.rowsInDom,
    appendMedianMs: +result.append.medianMs.toFixed(2),
    appendP95Ms: +result.append.p95Ms.toFixed(2),
    scrollUpStepMedianMs: +result.scrollUp.medianMs.toFixed(1),
    scrollUpStepMaxMs: +result.scrollUp.maxMs.toFixed(1),
    scrollUpMaxRowsInDom: result.scrollUp.maxRowsInDom,
  };
  console.log(JSON.stringify(summary, null, 2));
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/widgets-render.json'), JSON.stringify({ summary, raw: result }, null, 2));
  const ok = summary.firstRender10000Ms < 150 && summary.appendMedianMs < 5;
  if (!ok) process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
