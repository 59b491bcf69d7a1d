import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { admin, api, createRoom, eventually, owner, SECRET, spawnServer, tempDir, TestSocket } from './helpers/harness.js';

describe('the drain a load balancer sees', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('after SIGTERM, /readyz answers 503 for SHUTDOWN_DRAIN_MS while everything else serves; then sockets get 1001 and the process exits 0', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const drainMs = 1500;
    const server = await spawnServer(['--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--jwt-secret', SECRET], {
      SHUTDOWN_DRAIN_MS: String(drainMs),
      METRICS_PORT: '0',
    });
    const ana = owner();
    const bo = admin();
    const room = await createRoom(server.url, ana);
    const chat = TestSocket.chat(server, room.id, ana);
    await chat.ready();
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    const signalled = performance.now();
    server.child.kill('SIGTERM');
    // A balancer's health check: polled until the port closes, each answer recorded.
    const answers: Array<{ status: number | 'refused'; at: number }> = [];
    const polling = (async () => {
      for (;;) {
        try {
          const res = await fetch(`${server.url}/readyz`);
          answers.push({ status: res.status, at: performance.now() });
        } catch {
          answers.push({ status: 'refused', at: performance.now() });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    await eventually(() => answers.some((a) => a.status === 503), '/readyz to answer 503');

    // Meanwhile the server still serves: a send over REST, broadcast to the open socket; a new socket; /healthz.
    const sent = await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, bo, { body: 'during the drain', client_id: 'd-1' });
    assert.equal(sent.status, 201);
    assert.equal((await chat.next('message')).message.body, 'during the drain');
    const late = TestSocket.chat(server, room.id, bo);
    assert.equal((await late.ready()).last_seq, 1);
    assert.deepEqual([(await fetch(`${server.url}/healthz`)).status, (await fetch(`${server.url}/readyz`)).status], [200, 503]);
    // The metrics, on their own port (METRICS_PORT=0: a free one, logged), count both sockets still open.
    const metricsUrl = JSON.parse(server.output().split('\n').find((line) => line.includes('"msg":"metrics"'))!).url as string;
    assert.match(await (await fetch(metricsUrl)).text(), /^motoreach_sockets_open\{kind="chat"\} 2$/m);

    const closes = await Promise.all([chat.closed, late.closed]);
    assert.deepEqual(closes.map((c) => c.code), [1001, 1001]);
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    await polling;

    const statuses = answers.map((a) => a.status);
    const first503 = statuses.indexOf(503);
    // Never ready again once it said 503, and the port closed only after the drain.
    assert.deepEqual(new Set(statuses.slice(first503)), new Set([503, 'refused']));
    assert.equal(statuses.at(-1), 'refused');
    // The last 503 came at most one poll (25 ms and its round trip) before the port closed, which is not before the drain's end.
    const open = answers.filter((a) => a.status === 503).at(-1)!.at - signalled;
    assert.ok(open >= drainMs - 250, `the last 503 came ${Math.round(open)} ms after SIGTERM, within a drain of ${drainMs} ms`);
    assert.match(server.output(), /"msg":"shutting down: draining"/);
  });
});
