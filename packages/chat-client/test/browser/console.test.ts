import { expect } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
// The rollup build, as a browser app gets it.
import { type ChatError, ChatClient } from '../../dist/index.js';

// Mocha's globals, as @web/test-runner provides them.
declare function it(title: string, fn: () => Promise<void>): void;
declare function before(fn: () => Promise<void>): void;
declare function afterEach(fn: () => void): void;

/**
 * Chromium prints the URL of every WebSocket that fails to connect in the console, where anyone
 * looking over a shoulder, a support screenshot or a log-shipping extension picks it up: the token
 * must not be in it. The console is read as DevTools shows it (web-test-runner.config.mjs).
 */

const clients: ChatClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

before(async () => {
  await executeServerCommand('console-start');
});

async function waitFor(predicate: () => boolean | Promise<boolean>, label: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const consoleLines = async () => (await executeServerCommand<string[], undefined>('console-lines'))!;

/** Connects a room and notifications to `baseUrl` until both report unreachable; what the console then shows of that host. */
async function failToConnect(baseUrl: string, token: string): Promise<string[]> {
  const c = new ChatClient({ baseUrl, token, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
  clients.push(c);
  const errors: ChatError[] = [];
  c.room('r_console').on('error', (e) => errors.push(e));
  c.notifications().on('error', (e) => errors.push(e));
  c.room('r_console').connect().catch(() => {});
  await waitFor(() => errors.length === 2, 'both report unreachable');
  expect(errors.map((e) => e.code)).to.deep.equal(['unreachable', 'unreachable']);
  const host = new URL(baseUrl).host;
  // The browser's messages about those attempts, which arrive over DevTools on their own time.
  await waitFor(async () => (await consoleLines()).some((line) => line.includes(host)), `the console mentions ${host}`);
  return (await consoleLines()).filter((line) => line.includes(host));
}

function expectNoToken(lines: string[], token: string): void {
  const [, payload, signature] = token.split('.');
  for (const line of lines) {
    expect(line, 'a console line holds the token').not.to.include(payload);
    expect(line, 'a console line holds the token').not.to.include(signature);
  }
}

it('nothing listens at the base URL: the console shows the failed attempts, never the token', async () => {
  const baseUrl = (await executeServerCommand<string, undefined>('unused-url'))!;
  const token = (await executeServerCommand<string, object>('token', { sub: 'b-console', role: 'user' }))!;
  const lines = await failToConnect(baseUrl, token);
  expect(lines.length).to.be.at.least(1);
  expectNoToken(lines, token);
});

it('the server refuses this page (its origin is not allowed): the console shows the refusals, never the token', async () => {
  const baseUrl = (await executeServerCommand<string, undefined>('strict-server-url'))!;
  const token = (await executeServerCommand<string, object>('token', { sub: 'b-console', role: 'user' }))!;
  const lines = await failToConnect(baseUrl, token);
  expect(lines.length).to.be.at.least(1);
  expectNoToken(lines, token);
});
