import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import WebSocket from 'ws';
import { api, createRoom, type Frame, startTestServer, tempDir, TestSocket, token, unique } from './helpers/harness.js';

/**
 * The real thing: DATA_DIR on a 4 MB tmpfs that the conversation fills up.
 * Sends that cannot be stored are `unavailable` (never `invalid`) and store
 * nothing; reads keep working; once space comes back, the same client_ids
 * are stored exactly once, with no restart and no gap in seq.
 */

const BODY = 'x'.repeat(3000);
const bodyOf = (clientId: string) => `${clientId}:${BODY}`;

test('a full disk: sends are unavailable and store nothing, reads work, and sends succeed again once space is back', async (t) => {
  const base = tempDir();
  const disk = join(base, 'disk');
  mkdirSync(disk);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    rmSync(base, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.trim() || `exit ${mounted.status}`}`);
    return;
  }
  const lines: Array<Record<string, any>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const server = await startTestServer(
    { dataDir: join(disk, 'data'), limits: { wsRateLimit: 0, wsUserRateLimit: 0, httpRateLimit: 0 } },
    { logger },
  );
  const sockets: TestSocket[] = [];
  t.after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await server.close();
    spawnSync('umount', [disk]);
    rmSync(base, { recursive: true, force: true });
  });

  const workshopId = unique('w');
  const ana = token({ sub: unique('u'), role: 'user', name: 'Ana' });
  const bo = token({ sub: unique('a'), role: 'workshop_admin', workshop_id: workshopId, name: 'Bo' });
  const room = await createRoom(server.url, ana, workshopId);
  const path = `/api/service-requests/${room.id}/messages/`;
  const admin = new TestSocket(`${server.wsUrl}/ws/service-chat/${room.id}/?token=${encodeURIComponent(bo)}`);
  sockets.push(admin);
  await admin.ready();

  // Leave about 400 KB free: a few dozen commits.
  const filler = join(disk, 'filler');
  const { bsize, bavail } = statfsSync(disk);
  writeFileSync(filler, Buffer.alloc(Math.max(0, bsize * bavail - 400 * 1024)));

  const stored = new Map<string, Frame>();
  const refusedRest: string[] = [];
  const refusedWs: string[] = [];
  let largestWsRefusal = 0;

  const sendRest = async (clientId: string) => {
    const res = await api(server.url, 'POST', path, ana, { body: bodyOf(clientId), client_id: clientId });
    if (res.status === 201 || res.status === 200) return res.body.message as Frame;
    assert.equal(res.status, 503, `REST answered ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'unavailable');
    assert.equal(res.headers.get('retry-after'), '2');
    return null;
  };
  /** Sends a burst over the socket (one SQLite batch) and waits for each one's answer: its message or its error. */
  const sendWs = async (clientIds: string[]) => {
    for (const id of clientIds) admin.send({ type: 'message', body: bodyOf(id), client_id: id });
    const answers = await admin.until((frames) => {
      const newestFirst = [...frames].reverse();
      const out = clientIds.map((id) =>
        newestFirst.find((f) => (f.type === 'message' && f.message.client_id === id) || (f.type === 'error' && f.client_id === id)),
      );
      return out.every(Boolean) && (out as Frame[]);
    }, 'an answer to every send');
    return answers.map((f) => {
      if (f.type === 'message') return f.message as Frame;
      assert.equal(f.code, 'unavailable', `WS answered ${JSON.stringify(f)}`);
      return null;
    });
  };

  for (let round = 0; refusedRest.length < 3 || refusedWs.length < 3; round++) {
    assert.ok(round < 200, `the disk never filled: ${stored.size} stored`);
    const restId = `rest-${round}`;
    const message = await sendRest(restId);
    if (message) stored.set(restId, message);
    else refusedRest.push(restId);
    const burst = Array.from({ length: 5 }, (_, i) => `ws-${round}-${i}`);
    const answers = await sendWs(burst);
    const refusedNow = burst.filter((id, i) => {
      const answer = answers[i];
      if (answer) stored.set(id, answer);
      return !answer;
    });
    refusedWs.push(...refusedNow);
    largestWsRefusal = Math.max(largestWsRefusal, refusedNow.length);
    // Clear the frames answered, so that a retry's answer is the one found next time.
    admin.frames.splice(1);
  }

  // Reads keep working on the full disk, and the socket is still open.
  assert.equal((await api(server.url, 'GET', `/api/service-requests/${room.id}/`, ana)).status, 200);
  assert.equal((await api(server.url, 'GET', '/api/service-requests/', bo)).status, 200);
  assert.equal((await api(server.url, 'GET', '/api/notifications/unread/', ana)).status, 200);
  admin.send({ type: 'ping' });
  await admin.next('pong');
  assert.equal(admin.ws.readyState, WebSocket.OPEN);

  async function everything(): Promise<Frame[]> {
    const all: Frame[] = [];
    for (let after = 0; ; ) {
      const page = await api(server.url, 'GET', `${path}?after=${after}&limit=100`, ana);
      assert.equal(page.status, 200);
      all.push(...page.body.messages);
      if (!page.body.has_more) return all;
      after = all.at(-1)!.seq;
    }
  }
  const checkNothingHalfWritten = async () => {
    const all = await everything();
    assert.deepEqual(all.map((m) => m.seq), Array.from({ length: all.length }, (_, i) => i + 1), 'seq is gapless');
    assert.equal(new Set(all.map((m) => m.client_id)).size, all.length, 'client_ids are unique');
    for (const m of all) assert.equal(m.body, bodyOf(m.client_id), 'every stored message is whole');
    assert.deepEqual(new Map(all.map((m) => [m.client_id, m])), stored, 'exactly the acknowledged messages are stored');
  };
  await checkNothingHalfWritten();

  // Each failure was logged as storage unavailable; a failed batch once for all of its sends.
  const logged = lines.filter((l) => l.msg === 'storage unavailable');
  assert.ok(logged.length > 0);
  for (const l of logged) assert.match(l.err.code, /^SQLITE_(FULL|IOERR)/);
  assert.equal(lines.filter((l) => l.msg === 'unexpected failure').length, 0);
  if (largestWsRefusal > 1) assert.ok(logged.length < refusedRest.length + refusedWs.length, 'one line per failed batch');

  // Space comes back: the same client_ids are stored once each, without a restart.
  unlinkSync(filler);
  for (const id of refusedRest) {
    const message = await sendRest(id);
    assert.ok(message, `${id} stored after space came back`);
    stored.set(id, message);
  }
  const retried = await sendWs(refusedWs);
  refusedWs.forEach((id, i) => {
    assert.ok(retried[i], `${id} stored after space came back`);
    stored.set(id, retried[i]!);
  });
  // A repeat is answered with the stored message, not stored again.
  const repeat = await api(server.url, 'POST', path, ana, { body: 'again', client_id: refusedRest[0] });
  assert.deepEqual([repeat.status, repeat.body.message], [200, stored.get(refusedRest[0]!)]);
  await checkNothingHalfWritten();
  t.diagnostic(
    `stored ${stored.size}; refused then stored on retry: ${refusedRest.length} REST, ${refusedWs.length} WS; ${logged.length} log lines`,
  );
});
