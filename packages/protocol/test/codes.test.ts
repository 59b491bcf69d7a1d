import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CLOSE, CLOSE_ERRORS, ERROR_STATUS, FINAL_CODES } from '../src/index.js';

const protocol = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
const section = (heading: string): string => {
  const start = protocol.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/protocol.md has "${heading}"`);
  return protocol.slice(start, protocol.indexOf('\n#', start + 1));
};

test('the error codes and statuses are those of the table in docs/protocol.md, and internal answers 500', () => {
  const rows = [...section('### Errors (REST)').matchAll(/^\| `(\w+)` \| (\d{3}) \|/gm)].map((row) => [row[1], Number(row[2])]);
  const { internal, ...named } = ERROR_STATUS;
  assert.deepEqual(Object.fromEntries(rows), named);
  assert.equal(internal, 500);
});

test('the final codes are those docs/protocol.md calls final', () => {
  const final = /\*\*Final\*\*: (.*?)\. The request/s.exec(section('### Final and transient errors'))?.[1];
  assert.deepEqual([...(final ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]).sort(), [...FINAL_CODES].sort());
});

test('each close code of the contract is the WebSocket form of one error code', () => {
  assert.deepEqual(CLOSE_ERRORS, { 4401: 'unauthorized', 4403: 'forbidden', 4404: 'not_found', 4429: 'rate_limited' });
  assert.deepEqual(CLOSE, {
    goingAway: 1001,
    policy: 1008,
    internalError: 1011,
    resync: 1012,
    tryLater: 1013,
    unauthorized: 4401,
    forbidden: 4403,
    notFound: 4404,
    tooMany: 4429,
  });
});
