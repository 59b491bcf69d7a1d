import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { localStorageOutbox } from '../../src/outbox.js';
import { personKey } from '../../src/person.js';

/** A Storage as the outbox uses it: its keys are its own enumerable properties, as in browsers. */
function fakeLocalStorage(): Storage {
  const store = {} as Record<string, string>;
  for (const [name, value] of Object.entries({
    getItem: (k: string) => (Object.hasOwn(store, k) ? store[k] : null),
    setItem: (k: string, v: string) => void (store[k] = String(v)),
    removeItem: (k: string) => void delete store[k],
  })) {
    Object.defineProperty(store, name, { value, enumerable: false });
  }
  return store as unknown as Storage;
}

test("the localStorage key docs/sdk.md shows is the one the SDK writes, with Web Locks or without", async () => {
  const docs = readFileSync(new URL('../../../../docs/sdk.md', import.meta.url), 'utf8');
  const shown = /`(motoreach-outbox:https:\/\/chat\.example\.com\|user:u-42\|r_42)#(c_[0-9a-f]{24})`/.exec(docs);
  assert.ok(shown, 'docs/sdk.md shows an example key');
  const localStorage = fakeLocalStorage();
  Object.defineProperty(globalThis, 'localStorage', { value: localStorage, configurable: true });
  // A browser without Web Locks (and Node 22): the page's id must not depend on them.
  const navigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
  try {
    const storage = localStorageOutbox();
    const key = personKey('https://chat.example.com', { id: 'u-42', role: 'user', name: 'Ana' }) + 'r_42';
    await storage.save(key, [{ client_id: 'c_1', body: 'hello', created_at: '2026-12-07T12:00:00.000Z' }]);
    const written = Object.keys(localStorage);
    assert.equal(written.length, 1);
    const [prefix, tab] = written[0]!.split('#');
    assert.equal(prefix, shown[1]);
    assert.match(tab!, /^c_[0-9a-f]{24}$/);
  } finally {
    delete (globalThis as { localStorage?: Storage }).localStorage;
    if (navigator) Object.defineProperty(globalThis, 'navigator', navigator);
    else delete (globalThis as { navigator?: unknown }).navigator;
  }
});
