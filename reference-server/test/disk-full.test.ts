import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import WebSocket from 'ws';
import { CHECKPOINT_BYTES, WAL_LIMIT_BYTES } from '../src/store/checkpointer.js';
import {
  api,
  createRoom,
  eventually,
  type Frame,
  SECRET,
  type ServerProcess,
  spawnServer,
  startTestServer,
  tempDir,
  TestSocket,
  token,
  unique,
} from './helpers/harness.js';

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

/** A tmpfs of `size` at a fresh directory, unmounted after the test; null (the test skipped) where mounting needs root. */
function tmpfs(t: TestContext, size: string): string | null {
  const base = tempDir();
  const disk = join(base, 'disk');
  mkdirSync(disk);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', disk], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    rmSync(base, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here (needs root): ${mounted.stderr.trim() || `exit ${mounted.status}`}`);
    return null;
  }
  t.after(() => {
    spawnSync('umount', [disk]);
    rmSync(base, { recursive: true, force: true });
  });
  return disk;
}

/** Fills the disk to the last block. */
function fill(disk: string): string {
  const filler = join(disk, 'filler');
  const { bsize, bavail } = statfsSync(disk);
  writeFileSync(filler, Buffer.alloc(bsize * bavail));
  assert.equal(statfsSync(disk).bavail, 0);
  return filler;
}

/** A body of 4,000 characters, 12 KB of UTF-8: the largest the default limit lets through, byte for byte. */
const LARGE = (tag: string) => `${tag}:${'€'.repeat(3990)}`;

test('bursts of 12 KB messages: the WAL stays within WAL_LIMIT_BYTES plus one burst, and is cut back to CHECKPOINT_BYTES', async (t) => {
  const disk = tmpfs(t, '96m');
  if (!disk) return;
  const dataDir = join(disk, 'data');
  const server = await startTestServer({ dataDir, limits: { wsRateLimit: 0, wsUserRateLimit: 0, httpRateLimit: 0 } });
  const workshopId = unique('w');
  const ana = token({ sub: unique('u'), role: 'user', name: 'Ana' });
  const room = await createRoom(server.url, ana, workshopId);
  const socket = new TestSocket(`${server.wsUrl}/ws/service-chat/${room.id}/?token=${encodeURIComponent(ana)}`);
  try {
    await socket.ready();
    await burstsWithinTheBound(t, server.url, ana, room.id, socket, join(dataDir, 'motoreach-chat.sqlite3-wal'));
  } finally {
    // Before the tmpfs is unmounted.
    await socket.close();
    await server.close();
  }
});

async function burstsWithinTheBound(t: TestContext, url: string, ana: string, roomId: string, socket: TestSocket, wal: string) {
  const walBytes = () => statSync(wal, { throwIfNoEntry: false })?.size ?? 0;
  let peak = 0;
  const BURST = 40;
  // 60 bursts of 40 messages: 29 MB of messages, each burst sent at once (one commit, or a few) and waited for.
  for (let burst = 0; burst < 60; burst++) {
    const ids = Array.from({ length: BURST }, (_, i) => `b${burst}-${i}`);
    for (const id of ids) socket.send({ type: 'message', body: LARGE(id), client_id: id });
    await socket.until(
      (frames) => {
        peak = Math.max(peak, walBytes());
        const acked = new Set(frames.filter((f) => f.type === 'message').map((f) => f.message.client_id));
        return ids.every((id) => acked.has(id));
      },
      `burst ${burst} stored`,
      20_000,
    );
    peak = Math.max(peak, walBytes());
    socket.frames.splice(1);
  }
  // One burst is at most 40 messages of 12 KB: under 1 MiB of pages.
  assert.ok(peak <= WAL_LIMIT_BYTES + 1024 * 1024, `the WAL reached ${peak} bytes`);
  assert.ok(peak > CHECKPOINT_BYTES, `the bursts made a WAL worth checkpointing (${peak} bytes)`);
  // Once the checkpoints are done, the next write starts the WAL over and cuts the file back.
  let n = 0;
  await eventually(async () => {
    const res = await api(url, 'POST', `/api/service-requests/${roomId}/messages/`, ana, { body: 'small', client_id: `after-${++n}` });
    assert.equal(res.status, 201);
    return walBytes() <= CHECKPOINT_BYTES;
  }, 'the WAL cut back to CHECKPOINT_BYTES');
  t.diagnostic(`WAL peak ${peak} bytes; bound ${WAL_LIMIT_BYTES + 1024 * 1024}`);
}

for (const stop of ['SIGTERM', 'SIGKILL'] as const) {
  test(`a restart on a full disk (after ${stop}): it starts, serves history, the inbox and unread, refuses sends as unavailable, and takes them once space is back`, async (t) => {
    const disk = tmpfs(t, '4m');
    if (!disk) return;
    const args = ['--port', '0', '--host', '127.0.0.1', '--data-dir', join(disk, 'data'), '--jwt-secret', SECRET, '--http-rate-limit', '0'];
    const servers: ServerProcess[] = [];
    const start = async () => {
      const server = await spawnServer(args);
      servers.push(server);
      return server;
    };
    try {
      const ana = token({ sub: unique('u'), role: 'user', name: 'Ana' });
      const bo = token({ sub: unique('a'), role: 'workshop_admin', workshop_id: 'w-disk', name: 'Bo' });
      const first = await start();
      const room = await createRoom(first.url, ana, 'w-disk');
      const path = `/api/service-requests/${room.id}/messages/`;
      const sent: Frame[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await api(first.url, 'POST', path, ana, { body: LARGE(`m${i}`), client_id: `m${i}` });
        assert.equal(res.status, 201);
        sent.push(res.body.message);
      }
      first.child.kill(stop);
      await first.exited;

      const filler = fill(disk);
      const server = await start();
      // A clean stop removed the WAL's shared-memory index, which a full disk has no room to make again.
      if (stop === 'SIGTERM') assert.match(server.output(), /no space on the disk for the WAL index/);
      const history = await api(server.url, 'GET', `${path}?limit=100`, ana);
      assert.deepEqual([history.status, history.body.messages], [200, sent]);
      const inbox = await api(server.url, 'GET', '/api/service-requests/', bo);
      assert.equal(inbox.status, 200);
      assert.deepEqual(
        inbox.body.service_requests.map((r: Frame) => [r.id, r.unread, r.last_message.id]),
        [[room.id, 5, sent[4]!.id]],
      );
      assert.deepEqual((await api(server.url, 'GET', '/api/notifications/unread/', bo)).body, { total: 5, rooms: { [room.id]: 5 } });

      const refused = await api(server.url, 'POST', path, ana, { body: LARGE('late'), client_id: 'late' });
      assert.deepEqual([refused.status, refused.body.error.code, refused.headers.get('retry-after')], [503, 'unavailable', '2']);

      // Space comes back: the same send is taken, with no restart.
      unlinkSync(filler);
      const retried = await api(server.url, 'POST', path, ana, { body: LARGE('late'), client_id: 'late' });
      assert.deepEqual([retried.status, retried.body.message.seq], [201, 6]);
      const after = await api(server.url, 'GET', `${path}?limit=100`, ana);
      assert.deepEqual(after.body.messages, [...sent, retried.body.message]);
    } finally {
      // Before the tmpfs is unmounted.
      for (const server of servers) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
    }
  });
}
