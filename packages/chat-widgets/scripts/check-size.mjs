// The standalone build (widgets + Lit + SDK) must stay within the budget, minified and gzipped.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 36 * 1024;
const file = new URL('../dist/motoreach-chat.min.js', import.meta.url);
const raw = readFileSync(file);
const gz = gzipSync(raw, { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1);
console.log(`motoreach-chat.min.js: ${kb(raw.length)} KB minified, ${kb(gz)} KB gzipped (budget ${kb(BUDGET)} KB)`);
if (gz > BUDGET) {
  console.error(`Over budget by ${kb(gz - BUDGET)} KB`);
  process.exit(1);
}
