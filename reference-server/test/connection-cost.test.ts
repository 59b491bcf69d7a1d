import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ChatClient } from '@motoreach/chat-client';
import WS from 'ws';
import { createRoom, manualClock, owner, SECRET, socketTracker, startTestServer, tempDir, TestSocket, token, unique, type TestServer } from './helpers/harness.js';

/**
 * What one connection may cost the server (issue 15, item 6), against the real
 * server: frames over the rate are refused before they are parsed, handshakes
 * are limited per client address and per user, and a socket the server closes
 * is cut soon when its peer never answers the close.
 */

const { track, closeAll } = socketTracker();
afterEach(closeAll);

/** The answer to a WebSocket upgrade request: 101, or the HTTP status it was refused with. */
function handshake(server: TestServer, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
    const req = request(`${server.url}${path}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A WebSocket client written on a bare TCP socket that never answers a close
 * frame, as a script that does not bother (or wants to hold the connection) would.
 */
class SilentPeer {
  readonly frames: Array<{ opcode: number; payload: Buffer; at: number }> = [];
  /** When the server's end of the connection went away (performance.now()). */
  readonly gone: Promise<number>;
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #upgraded = false;
  #waiters: Array<() => void> = [];

  constructor(server: TestServer, path: string) {
    const { port } = new URL(server.url);
    this.#socket = connect(Number(port), '127.0.0.1');
    this.#socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
    );
    this.#socket.on('data', (chunk: Buffer) => this.#read(chunk));
    this.#socket.on('error', () => {});
    this.gone = new Promise((resolve) => this.#socket.once('close', () => (this.#wake(), resolve(performance.now()))));
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (!this.#upgraded) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(this.#buffer.toString('latin1', 0, end), /^HTTP\/1\.1 101 /);
      this.#upgraded = true;
      this.#buffer = this.#buffer.subarray(end + 4);
    }
    // Server frames are unmasked; these tests only see short ones (length < 126).
    while (this.#buffer.length >= 2 && this.#buffer.length >= 2 + (this.#buffer[1]! & 0x7f)) {
      const length = this.#buffer[1]! & 0x7f;
      this.frames.push({ opcode: this.#buffer[0]! & 0x0f, payload: this.#buffer.subarray(2, 2 + length), at: performance.now() });
      this.#buffer = this.#buffer.subarray(2 + length);
    }
    this.#wake();
  }

  /** A masked text frame (the mask is all zeros, which leaves the bytes as they are). */
  send(text: string): void {
    const payload = Buffer.from(text);
    assert.ok(payload.length < 126);
    this.#socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
  }

  /** Waits for the first frame with `opcode`. */
  async next(opcode: number): Promise<{ opcode: number; payload: Buffer; at: number }> {
    for (;;) {
      const frame = this.frames.find((f) => f.opcode === opcode);
      if (frame) return frame;
      if (this.#socket.destroyed) throw new Error(`connection gone without a frame of opcode ${opcode}; frames: ${this.frames.length}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The server's close frame: its code and when it arrived. */
  async closeFrame(): Promise<{ code: number; at: number }> {
    const close = await this.next(8);
    return { code: close.payload.readUInt16BE(0), at: close.at };
  }
}

describe('frames over the rate limit', () => {
  test('are refused before they are parsed: a huge invalid frame over the limit is rate_limited, with its client_id', { timeout: 20_000 }, async () => {
    const server = await startTestServer(
      { limits: { wsRateLimit: 1, wsUserRateLimit: 0, wsFloodStrikes: 100 } },
      { clock: manualClock().clock },
    );
    const parse = JSON.parse;
    try {
      const socket = track(TestSocket.notifications(server, owner(unique('u'))));
      await socket.ready();
      // Not JSON: it ends in the middle of a string, 60 KB on.
      const huge = `{"type":"message","client_id":"c-huge","body":"${'x'.repeat(60_000)}`;
      // Within the burst (2), the same frame is parsed and found invalid.
      socket.send(huge);
      assert.deepEqual(await socket.next('error'), { type: 'error', code: 'invalid', message: 'frame is not valid JSON' });

      let parsedHuge = 0;
      JSON.parse = function (text: string, reviver?: Parameters<typeof parse>[1]) {
        if (typeof text === 'string' && text.length > 50_000) parsedHuge++;
        return parse(text, reviver);
      };
      socket.send({ type: 'ping' });
      socket.send(huge);
      const refused = await socket.next('error', (f) => f.code === 'rate_limited');
      JSON.parse = parse;
      assert.deepEqual(refused, { type: 'error', code: 'rate_limited', message: 'too many frames; slow down', client_id: 'c-huge' });
      assert.equal(parsedHuge, 0);
      assert.equal(socket.of('pong').length, 1);
    } finally {
      JSON.parse = parse;
      await closeAll();
      await server.stop();
    }
  });
});

describe('handshakes per client address', () => {
  test('the one over the limit gets HTTP 429 with Retry-After, before its token is looked at; the budget refills with time', { timeout: 20_000 }, async () => {
    const time = manualClock();
    const server = await startTestServer({ limits: { wsHandshakesPerIp: 3 } }, { clock: time.clock });
    try {
      const good = `/ws/notifications/?token=${owner(unique('u'))}`;
      assert.deepEqual(
        [(await handshake(server, good)).status, (await handshake(server, '/ws/notifications/?token=bad')).status, (await handshake(server, good)).status],
        [101, 101, 101],
      );
      // 3 a minute: one every 20 s.
      assert.deepEqual(await handshake(server, good), { status: 429, retryAfter: '20' });
      assert.deepEqual(await handshake(server, '/ws/notifications/?token=bad'), { status: 429, retryAfter: '20' });
      time.advance(15_000);
      assert.deepEqual(await handshake(server, good), { status: 429, retryAfter: '5' });
      time.advance(5_000);
      assert.equal((await handshake(server, good)).status, 101);
      assert.equal((await handshake(server, good)).status, 429);
      // REST is not affected.
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('behind a trusted proxy each X-Forwarded-For address has its own budget (an IPv6 /64 is one); an untrusted one is ignored', { timeout: 20_000 }, async () => {
    const trusted = await startTestServer({ limits: { wsHandshakesPerIp: 1 } }, { clock: manualClock().clock });
    const untrusted = await startTestServer({ limits: { wsHandshakesPerIp: 1 }, trustProxy: ['10.0.0.1'] }, { clock: manualClock().clock });
    try {
      const path = '/ws/notifications/?token=bad';
      const from = (server: TestServer, address: string) => handshake(server, path, { 'x-forwarded-for': address }).then((r) => r.status);
      assert.deepEqual(
        [
          await from(trusted, '203.0.113.7'),
          await from(trusted, '203.0.113.7'),
          await from(trusted, '198.51.100.2'),
          await from(trusted, '2001:db8:1:2::1'),
          await from(trusted, '2001:db8:1:2:ffff::9'),
          await from(trusted, '2001:db8:1:3::1'),
          // The proxy (loopback) is trusted, and an address it forwards is its client's, however spoofed its left part.
          await from(trusted, '192.0.2.1, 203.0.113.7'),
        ],
        [101, 429, 101, 101, 429, 101, 429],
      );
      // From a peer it does not trust, the header is the client's own word: every request is 127.0.0.1's.
      assert.deepEqual([await from(untrusted, '203.0.113.7'), await from(untrusted, '198.51.100.2')], [101, 429]);
    } finally {
      await trusted.stop();
      await untrusted.stop();
    }
  });

  test('TRUST_PROXY that is not a list of addresses: exit status 2 and a clear line', { timeout: 30_000 }, () => {
    const dir = tempDir();
    try {
      const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
      const result = spawnSync(process.execPath, ['--import', 'tsx', bin, '--port', '0', '--data-dir', dir, '--jwt-secret', SECRET], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { ...process.env, TRUST_PROXY: 'loopback, the-balancer' },
      });
      assert.equal(result.status, 2);
      assert.equal(
        result.stderr,
        'motoreach-reference-server: TRUST_PROXY: invalid IP address: the-balancer (give addresses, CIDRs, loopback, linklocal or uniquelocal, comma-separated)\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the SDK takes a refused handshake as transient: it backs off and connects once the address may again', { timeout: 20_000 }, async () => {
    const time = manualClock();
    const server = await startTestServer({ limits: { wsHandshakesPerIp: 1 } }, { clock: time.clock });
    const client = new ChatClient({ baseUrl: server.url, token: owner(unique('u')), WebSocket: WS, reconnect: { minDelayMs: 20, maxDelayMs: 100 } });
    try {
      assert.equal((await handshake(server, '/ws/notifications/?token=bad')).status, 101);
      const notes = client.notifications();
      const reasons: string[] = [];
      // A refused upgrade is what a browser sees as 1006 (`network`); the third in a row is reported as `unreachable`.
      const refused = new Promise<void>((resolve) =>
        notes.on('status', (e) => {
          if (e.reason) reasons.push(e.reason.code);
          if (e.reason?.code === 'unreachable') resolve();
        }),
      );
      const opened = new Promise<void>((resolve) => notes.on('status', (e) => e.status === 'open' && resolve()));
      await refused;
      assert.deepEqual(reasons, ['network', 'unreachable']);
      assert.equal(notes.status, 'connecting');
      time.advance(60_000);
      await opened;
      assert.equal(notes.status, 'open');
    } finally {
      client.close();
      await server.stop();
    }
  });
});

describe('handshakes per user', () => {
  test('a user reconnecting in a loop is refused with 4429 while another user connects; the budget refills with time', { timeout: 20_000 }, async () => {
    const time = manualClock();
    const server = await startTestServer({ limits: { wsHandshakesPerUser: 3 } }, { clock: time.clock });
    try {
      const looper = owner(unique('u'));
      const room = await createRoom(server.url, looper);
      for (let i = 0; i < 3; i++) {
        const socket = track(TestSocket.chat(server, room.id, looper));
        await socket.ready();
        await socket.close();
      }
      const refused = track(TestSocket.chat(server, room.id, looper));
      assert.deepEqual(await refused.closed, { code: 4429, reason: 'too many connections for this user; retry later' });
      assert.equal(refused.frames.length, 0);
      assert.equal((await track(TestSocket.notifications(server, looper)).closed).code, 4429);

      const other = track(TestSocket.notifications(server, owner(unique('u'))));
      assert.equal((await other.ready()).type, 'unread');

      time.advance(20_000);
      assert.equal((await track(TestSocket.chat(server, room.id, looper)).ready()).type, 'ready');
      assert.equal((await track(TestSocket.chat(server, room.id, looper)).closed).code, 4429);
    } finally {
      await closeAll();
      await server.stop();
    }
  });
});

describe('a socket the server closes', () => {
  test('is cut about a second after its close frame when the peer never answers it: 4401, 4403, 4429, 1008', { timeout: 20_000 }, async () => {
    const server = await startTestServer({ limits: { wsHandshakesPerUser: 1, wsRateLimit: 1, wsUserRateLimit: 0, wsFloodStrikes: 3 } });
    try {
      const stranger = token({ sub: unique('u'), role: 'user' });
      const room = await createRoom(server.url, owner(unique('u')));
      const again = owner(unique('u'));
      const first = track(TestSocket.notifications(server, again));
      await first.ready();

      const badToken = new SilentPeer(server, '/ws/notifications/?token=bad');
      const notParticipant = new SilentPeer(server, `/ws/service-chat/${room.id}/?token=${stranger}`);
      const tooOften = new SilentPeer(server, `/ws/notifications/?token=${again}`);
      const flooder = new SilentPeer(server, `/ws/notifications/?token=${token({ sub: unique('u'), role: 'user' })}`);
      // Its unread snapshot (a text frame): the flooder's socket is set up.
      await flooder.next(1);
      for (let i = 0; i < 10; i++) flooder.send('{"type":"ping"}');

      const peers = { 4401: badToken, 4403: notParticipant, 4429: tooOften, 1008: flooder };
      for (const [code, peer] of Object.entries(peers)) {
        const close = await peer.closeFrame();
        assert.equal(close.code, Number(code));
        const held = (await peer.gone) - close.at;
        // The peer has its second to answer; then the server cuts (ws alone waits 30 s). The upper bound leaves room for a loaded machine.
        assert.ok(held >= 900 && held < 2500, `${code}: cut ${Math.round(held)} ms after the close frame`);
      }
    } finally {
      await closeAll();
      await server.stop();
    }
  });
});
