import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError, codeForClose, codeForFrame, codeForStatus, isFinal } from '../../src/errors.js';

test('an HTTP status is read as the contract names it; a 500 or a status it does not name is a server fault', () => {
  const statuses = [400, 401, 403, 404, 409, 413, 429, 500, 502, 503];
  assert.deepEqual(statuses.map((status) => codeForStatus(status)), [
    'invalid',
    'unauthorized',
    'forbidden',
    'not_found',
    // Both `conflict` and `closed` (contract 1.2) answer 409: a status alone names the first.
    'conflict',
    'too_large',
    'rate_limited',
    'server',
    'server',
    'unavailable',
  ]);
});

test("a REST answer's error.code is read when the contract has it; otherwise its status names it", () => {
  assert.deepEqual(
    [
      [409, 'closed'],
      [409, 'conflict'],
      [409, undefined],
      [400, 'too_large'],
      [500, 'internal'],
      [502, 'teapot'],
      [409, 'toString'],
      [404, ''],
    ].map(([status, code]) => codeForStatus(status as number, code as string | undefined)),
    ['closed', 'conflict', 'conflict', 'too_large', 'server', 'server', 'conflict', 'not_found'],
  );
});

test("an error frame's code is kept when the contract has it; internal, unknown and inherited names are server faults", () => {
  const codes = ['invalid', 'unauthorized', 'forbidden', 'not_found', 'too_large', 'rate_limited', 'unavailable'];
  assert.deepEqual(codes.map((code) => codeForFrame(code)), codes);
  assert.deepEqual(['internal', 'teapot', 'toString', ''].map((code) => codeForFrame(code)), ['server', 'server', 'server', 'server']);
});

test("the contract's close codes are their errors; every other close is a lost connection", () => {
  const closes = [4401, 4403, 4404, 4429, 1000, 1001, 1006, 1008, 1011, 1012, 1013, 4000];
  assert.deepEqual(closes.map(codeForClose), [
    'unauthorized',
    'forbidden',
    'not_found',
    'rate_limited',
    'network',
    'network',
    'network',
    'network',
    'network',
    'network',
    'network',
    'network',
  ]);
});

test('final: invalid, too_large, forbidden, not_found, conflict, closed, unauthorized; the rest (aborted too) are transient', () => {
  const final = ['invalid', 'too_large', 'forbidden', 'not_found', 'conflict', 'closed', 'unauthorized'] as const;
  const transient = ['rate_limited', 'unavailable', 'network', 'unreachable', 'timeout', 'aborted', 'expired', 'server'] as const;
  assert.deepEqual(final.map((code) => isFinal(new ChatError(code, 'x'))), Array(final.length).fill(true));
  assert.deepEqual(transient.map((code) => isFinal(new ChatError(code, 'x'))), Array(transient.length).fill(false));
});
