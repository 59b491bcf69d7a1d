import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEmitter } from '../../src/emitter.js';

test('handlers get their event in the order added; off() removes that handler; an emit goes on over the handlers it started with', () => {
  const events = createEmitter<{ change: number; other: string }>();
  const seen: string[] = [];
  const second = (n: number): void => void seen.push(`second ${n}`);
  events.on('change', (n) => {
    seen.push(`first ${n}`);
    events.off('change', second);
    events.on('change', (m) => seen.push(`late ${m}`));
  });
  events.on('change', second);
  events.on('other', (s) => seen.push(`other ${s}`));
  events.emit('change', 1);
  events.emit('change', 2);
  events.emit('other', 'x');
  assert.deepEqual(seen, ['first 1', 'second 1', 'first 2', 'late 2', 'other x']);
});
