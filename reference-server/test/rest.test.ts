import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { admin, api, createRoom, owner, SECRET, startTestServer, suiteServer } from './helpers/harness.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('REST', () => {
  const ana = owner('u-ana', 'Ana');
  const bo = admin('a-bo', 'w-1', 'Bo');
  const server = suiteServer({ allowedOrigins: ['https://host.example'] });

  const post = (path: string, auth: string, body?: unknown, headers?: Record<string, string>) =>
    api(server.url, 'POST', path, auth, body, headers);
  const get = (path: string, auth: string, headers?: Record<string, string>) =>
    api(server.url, 'GET', path, auth, undefined, headers);

  describe('service requests', () => {
    test('an owner opens one: 201 with the room, title trimmed', async () => {
      const res = await post('/api/service-requests/', ana, { workshop_id: 'w-1', title: '  Brakes squeak  ' });
      assert.equal(res.status, 201);
      assert.match(res.body.id, /^r_/);
      assert.match(res.body.created_at, ISO);
      assert.deepEqual(res.body, {
        id: res.body.id,
        user_id: 'u-ana',
        workshop_id: 'w-1',
        title: 'Brakes squeak',
        created_at: res.body.created_at,
        status: 'open',
        user_name: null,
        workshop_name: null,
      });
    });

    test('refuses bad input with 400 invalid', async () => {
      const bad: unknown[] = [
        { workshop_id: 'w-1', title: '   ' },
        { workshop_id: 'w-1', title: 'x'.repeat(201) },
        { workshop_id: 'w-1' },
        { title: 'no workshop' },
        { workshop_id: 5, title: 't' },
        { workshop_id: '', title: 't' },
        [],
      ];
      for (const body of bad) {
        const res = await post('/api/service-requests/', ana, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.code, 'invalid');
        assert.equal(typeof res.body.error.message, 'string');
      }
      assert.equal((await post('/api/service-requests/', ana, { workshop_id: 'w-1', title: 'é'.repeat(200) })).status, 201);
    });

    test('a workshop admin cannot open one: 403', async () => {
      const res = await post('/api/service-requests/', bo, { workshop_id: 'w-1', title: 'Mine' });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'forbidden');
    });

    test('lists the caller’s rooms with unread and last_message; details with cursors and last_seq', async () => {
      const cy = owner('u-cy', 'Cy');
      const room = await createRoom(server.url, cy, 'w-9', 'Oil');
      const empty = await createRoom(server.url, cy, 'w-9', 'Tyres');
      const di = admin('a-di', 'w-9', 'Di');
      await post(`/api/service-requests/${room.id}/messages/`, di, { body: 'Ready tomorrow' });
      const sent = await post(`/api/service-requests/${room.id}/messages/`, di, { body: 'Bring the key' });

      const list = await get('/api/service-requests/', cy);
      assert.equal(list.status, 200);
      const byId = new Map((list.body.service_requests as any[]).map((r) => [r.id, r]));
      assert.equal(byId.size, 2);
      assert.deepEqual(byId.get(room.id), {
        ...room,
        last_seq: 2,
        read_cursors: { user: 0, workshop: 0 },
        unread: 2,
        last_message: sent.body.message,
      });
      assert.equal(byId.get(empty.id).last_message, null);
      assert.equal(byId.get(empty.id).unread, 0);

      const adminList = await get('/api/service-requests/', di);
      assert.deepEqual(
        (adminList.body.service_requests as any[]).map((r) => [r.id, r.unread]).sort(),
        [
          [room.id, 0],
          [empty.id, 0],
        ].sort(),
      );

      const detail = await get(`/api/service-requests/${room.id}/`, cy);
      assert.deepEqual(detail.body, { ...room, last_seq: 2, read_cursors: { user: 0, workshop: 0 } });
    });
  });

  describe('messages', () => {
    let roomId: string;
    before(async () => {
      roomId = (await createRoom(server.url, ana, 'w-1')).id;
    });
    const messages = () => `/api/service-requests/${roomId}/messages/`;

    test('201 with the stored message; 200 and the same message on a repeated client_id', async () => {
      const first = await post(messages(), ana, { body: '  Brakes squeak  ', client_id: 'c-1' });
      assert.equal(first.status, 201);
      const m = first.body.message;
      assert.match(m.id, /^m_/);
      assert.match(m.created_at, ISO);
      assert.deepEqual(m, {
        id: m.id,
        request_id: roomId,
        seq: 1,
        sender: { id: 'u-ana', role: 'user', name: 'Ana' },
        body: 'Brakes squeak',
        client_id: 'c-1',
        created_at: m.created_at,
      });
      const repeat = await post(messages(), ana, { body: 'something else', client_id: 'c-1' });
      assert.equal(repeat.status, 200);
      assert.deepEqual(repeat.body, { message: m });
      const noKey1 = await post(messages(), ana, { body: 'no key' });
      const noKey2 = await post(messages(), ana, { body: 'no key' });
      assert.deepEqual([noKey1.status, noKey1.body.message.seq, noKey1.body.message.client_id], [201, 2, null]);
      assert.deepEqual([noKey2.status, noKey2.body.message.seq], [201, 3]);
    });

    test('body: trimmed, 1..4000 code points, stored verbatim', async () => {
      const car = '\u{1F697}';
      const max = await post(messages(), bo, { body: car.repeat(4000) });
      assert.equal(max.status, 201);
      assert.equal(max.body.message.body, car.repeat(4000));
      assert.deepEqual(max.body.message.sender, { id: 'a-bo', role: 'workshop_admin', name: 'Bo' });
      const html = '<script>alert(1)</script> & "x"';
      assert.equal((await post(messages(), bo, { body: html })).body.message.body, html);
      for (const body of [{ body: car.repeat(4001) }, { body: ' \n\t ' }, { body: '' }, {}, { body: 42 }, { body: 'x', client_id: 'c'.repeat(129) }, { body: 'x', client_id: '' }]) {
        const res = await post(messages(), bo, body);
        assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
        assert.equal(res.body.error.code, 'invalid');
      }
    });

    test('a request body over 64 KiB is 413 too_large; broken JSON is 400', async () => {
      const big = await post(messages(), ana, JSON.stringify({ body: 'x'.repeat(70 * 1024) }));
      assert.equal(big.status, 413);
      assert.equal(big.body.error.code, 'too_large');
      const broken = await post(messages(), ana, '{"body": ');
      assert.equal(broken.status, 400);
      assert.equal(broken.body.error.code, 'invalid');
    });

    test('paging: newest page, before, after, has_more, limit clamp, bad parameters', async () => {
      const room = (await createRoom(server.url, ana, 'w-1', 'Paging')).id;
      for (let i = 1; i <= 105; i++) await post(`/api/service-requests/${room}/messages/`, i % 2 ? ana : bo, { body: `m${i}` });
      const page = async (query: string) => {
        const res = await get(`/api/service-requests/${room}/messages/${query}`, ana);
        assert.equal(res.status, 200, query);
        const seqs: number[] = res.body.messages.map((m: any) => m.seq);
        return { first: seqs[0], last: seqs.at(-1), count: seqs.length, has_more: res.body.has_more, res };
      };
      assert.deepEqual({ ...(await page('')), res: 0 }, { first: 56, last: 105, count: 50, has_more: true, res: 0 });
      assert.deepEqual({ ...(await page('?limit=500')), res: 0 }, { first: 6, last: 105, count: 100, has_more: true, res: 0 });
      assert.deepEqual({ ...(await page('?before=11&limit=5')), res: 0 }, { first: 6, last: 10, count: 5, has_more: true, res: 0 });
      assert.deepEqual({ ...(await page('?before=4')), res: 0 }, { first: 1, last: 3, count: 3, has_more: false, res: 0 });
      assert.deepEqual({ ...(await page('?after=100')), res: 0 }, { first: 101, last: 105, count: 5, has_more: false, res: 0 });
      assert.deepEqual({ ...(await page('?after=0&limit=3')), res: 0 }, { first: 1, last: 3, count: 3, has_more: true, res: 0 });
      const withCursors = await page('?after=105');
      assert.deepEqual(withCursors.res.body, { messages: [], has_more: false, read_cursors: { user: 0, workshop: 0 } });
      for (const query of ['?limit=-1', '?limit=abc', '?before=1.5', '?after=-3', '?limit=0']) {
        const res = await get(`/api/service-requests/${room}/messages/${query}`, ana);
        assert.equal(res.status, 400, query);
        assert.equal(res.body.error.code, 'invalid');
      }
    });
  });

  describe('read cursors', () => {
    test('move forward only, clamp, default to latest; answer cursors and the reader’s unread', async () => {
      const room = (await createRoom(server.url, ana, 'w-1', 'Reads')).id;
      const path = `/api/service-requests/${room}/messages/`;
      for (let i = 0; i < 4; i++) await post(path, bo, { body: `w${i}` });
      await post(path, ana, { body: 'u0' });
      const read = (auth: string, body: unknown) => post(`${path}read/`, auth, body);

      assert.deepEqual((await read(ana, { last_read_seq: 2 })).body, { read_cursors: { user: 2, workshop: 0 }, unread: 2 });
      assert.deepEqual((await read(ana, { last_read_seq: 1 })).body, { read_cursors: { user: 2, workshop: 0 }, unread: 2 });
      assert.deepEqual((await read(ana, { last_read_seq: 999 })).body, { read_cursors: { user: 5, workshop: 0 }, unread: 0 });
      assert.deepEqual((await read(bo, {})).body, { read_cursors: { user: 5, workshop: 5 }, unread: 0 });
      const emptyBody = await api(server.url, 'POST', `${path}read/`, bo);
      assert.deepEqual([emptyBody.status, emptyBody.body], [200, { read_cursors: { user: 5, workshop: 5 }, unread: 0 }]);
      for (const body of [{ last_read_seq: -1 }, { last_read_seq: 'x' }, { last_read_seq: 1.5 }]) {
        assert.equal((await read(ana, body)).status, 400, JSON.stringify(body));
      }
      const after = await post(path, ana, { body: 'sending does not read' });
      assert.equal(after.status, 201);
      assert.deepEqual((await get(`/api/service-requests/${room}/`, ana)).body.read_cursors, { user: 5, workshop: 5 });
    });

    test('GET /api/notifications/unread/ counts the other side past the cursor, rooms with 0 omitted', async () => {
      const eve = owner('u-eve', 'Eve');
      const r1 = (await createRoom(server.url, eve, 'w-5')).id;
      const r2 = (await createRoom(server.url, eve, 'w-6')).id;
      await createRoom(server.url, eve, 'w-5');
      await post(`/api/service-requests/${r1}/messages/`, admin('a-5', 'w-5'), { body: 'a' });
      await post(`/api/service-requests/${r1}/messages/`, admin('a-6', 'w-5'), { body: 'b' });
      await post(`/api/service-requests/${r2}/messages/`, admin('a-7', 'w-6'), { body: 'c' });
      await post(`/api/service-requests/${r2}/messages/`, eve, { body: 'mine' });
      assert.deepEqual((await get('/api/notifications/unread/', eve)).body, { total: 3, rooms: { [r1]: 2, [r2]: 1 } });
      assert.deepEqual((await get('/api/notifications/unread/', admin('a-5', 'w-5'))).body, { total: 0, rooms: {} });
      assert.deepEqual((await get('/api/notifications/unread/', admin('a-7', 'w-6'))).body, { total: 1, rooms: { [r2]: 1 } });
    });
  });

  describe('HTTP hygiene', () => {
    test('CORS: an allowed origin gets its header and preflight; another origin is refused; no Origin passes', async () => {
      const allowed = await get('/api/service-requests/', ana, { origin: 'https://host.example' });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://host.example');
      const preflight = await fetch(`${server.url}/api/service-requests/`, {
        method: 'OPTIONS',
        headers: { origin: 'https://host.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://host.example');
      assert.equal(preflight.headers.get('access-control-allow-headers'), 'Authorization, Content-Type, X-Request-Id');
      const other = await get('/api/service-requests/', ana, { origin: 'https://evil.example' });
      assert.equal(other.status, 403);
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      assert.equal((await get('/api/service-requests/', ana)).status, 200);
    });

    test('security headers, a request id, JSON 404 for unknown routes, no dev route outside dev mode', async () => {
      const res = await get('/api/service-requests/', ana, { 'x-request-id': 'trace-123' });
      assert.equal(res.headers.get('x-request-id'), 'trace-123');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.equal(res.headers.get('x-powered-by'), null);
      const missing = await get('/api/nothing-here/', ana);
      assert.deepEqual([missing.status, missing.body.error.code], [404, 'not_found']);
      const dev = await api(server.url, 'POST', '/api/dev/token', null, { sub: 'x', role: 'user' });
      assert.equal(dev.status, 401);
    });

    test('health and readiness', async () => {
      assert.deepEqual((await api(server.url, 'GET', '/healthz', null)).body, { status: 'ok' });
      assert.deepEqual((await api(server.url, 'GET', '/readyz', null)).body, { status: 'ready' });
    });
  });
});

describe('REST limits and dev mode', () => {
  test('per-user rate limit answers 429 rate_limited, other users unaffected', async () => {
    const server = await startTestServer({ limits: { httpRateLimit: 5 } });
    try {
      const ana = owner('u-ana');
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await api(server.url, 'GET', '/api/service-requests/', ana)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      const limited = await api(server.url, 'GET', '/api/service-requests/', ana);
      assert.deepEqual(limited.body.error.code, 'rate_limited');
      assert.equal((await api(server.url, 'GET', '/api/service-requests/', owner('u-cy'))).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('dev mode mints demo tokens that the server accepts, and refuses incomplete claims', async () => {
    const server = await startTestServer({ dev: true });
    try {
      const minted = await api(server.url, 'POST', '/api/dev/token', null, { sub: 'u-demo', role: 'user', name: 'Demo' });
      assert.equal(minted.status, 200);
      const rooms = await api(server.url, 'GET', '/api/service-requests/', minted.body.token);
      assert.deepEqual([rooms.status, rooms.body], [200, { service_requests: [], next_cursor: null }]);
      const noWorkshop = await api(server.url, 'POST', '/api/dev/token', null, { sub: 'a', role: 'workshop_admin' });
      assert.equal(noWorkshop.status, 400);
      const badRole = await api(server.url, 'POST', '/api/dev/token', null, { sub: 'a', role: 'root' });
      assert.equal(badRole.status, 400);
      const anyOrigin = await api(server.url, 'GET', '/api/service-requests/', minted.body.token, undefined, { origin: 'http://localhost:5173' });
      assert.equal(anyOrigin.headers.get('access-control-allow-origin'), 'http://localhost:5173');
    } finally {
      await server.stop();
    }
  });

  test('dev mode mints tokens for localhost pages and callers without Origin only; other pages get 403', async () => {
    const server = await startTestServer({ dev: true });
    try {
      const mint = (origin?: string) =>
        api(server.url, 'POST', '/api/dev/token', null, { sub: 'u-demo', role: 'user' }, origin ? { origin } : {});
      for (const origin of ['http://localhost:5173', 'https://localhost', 'http://127.0.0.1:8080', 'http://[::1]:3000']) {
        const res = await mint(origin);
        assert.equal(res.status, 200, origin);
        assert.equal(res.headers.get('access-control-allow-origin'), origin);
        assert.equal(typeof res.body.token, 'string');
      }
      assert.equal((await mint()).status, 200);
      for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io', 'null']) {
        const res = await mint(origin);
        assert.deepEqual([res.status, res.body], [403, { error: { code: 'forbidden', message: 'origin not allowed' } }], origin);
        assert.equal(res.headers.get('access-control-allow-origin'), null, origin);
      }
      const preflight = await fetch(`${server.url}/api/dev/token`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      assert.deepEqual([preflight.status, preflight.headers.get('access-control-allow-origin')], [403, null]);
      // The rest of the API keeps dev mode's any-origin rule: it needs a token anyway.
      const token = (await mint()).body.token;
      const rooms = await api(server.url, 'GET', '/api/service-requests/', token, undefined, { origin: 'https://evil.example' });
      assert.deepEqual([rooms.status, rooms.headers.get('access-control-allow-origin')], [200, 'https://evil.example']);
    } finally {
      await server.stop();
    }
  });

  test('dev mode signs demo tokens with a secret of its own: never valid under the configured key; with an RS256 key too', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const withSecret = await startTestServer({ dev: true });
    const withRsa = await startTestServer({ dev: true, jwtSecret: undefined, jwtPublicKey: publicPem });
    const production = await startTestServer();
    try {
      for (const server of [withSecret, withRsa]) {
        const minted = await api(server.url, 'POST', '/api/dev/token', null, { sub: 'u-demo', role: 'user' });
        assert.equal(minted.status, 200);
        assert.equal((await api(server.url, 'GET', '/api/service-requests/', minted.body.token)).status, 200);
        // A server trusting the same key (SECRET) does not take it.
        assert.throws(() => jwt.verify(minted.body.token, SECRET), /invalid signature/);
        assert.equal((await api(production.url, 'GET', '/api/service-requests/', minted.body.token)).status, 401);
      }
      // The application's own tokens keep working beside the demo ones.
      assert.equal((await api(withSecret.url, 'GET', '/api/service-requests/', owner())).status, 200);
      // Derived from JWT_SECRET, the demo secret outlives a restart with it; another JWT_SECRET refuses the demo tokens.
      const demo = (await api(withSecret.url, 'POST', '/api/dev/token', null, { sub: 'u-demo', role: 'user' })).body.token;
      const restarted = await startTestServer({ dev: true });
      const rekeyed = await startTestServer({ dev: true, jwtSecret: 'another-secret-of-at-least-32-characters' });
      try {
        assert.equal((await api(restarted.url, 'GET', '/api/service-requests/', demo)).status, 200);
        assert.equal((await api(rekeyed.url, 'GET', '/api/service-requests/', demo)).status, 401);
      } finally {
        await Promise.all([restarted.stop(), rekeyed.stop()]);
      }
    } finally {
      await Promise.all([withSecret.stop(), withRsa.stop(), production.stop()]);
    }
  });

  test('dev mode with ALLOWED_ORIGINS set mints tokens for those origins only', async () => {
    const server = await startTestServer({ dev: true, allowedOrigins: ['https://app.example'] });
    try {
      const mint = (origin: string) => api(server.url, 'POST', '/api/dev/token', null, { sub: 'u-demo', role: 'user' }, { origin });
      const allowed = await mint('https://app.example');
      assert.deepEqual([allowed.status, allowed.headers.get('access-control-allow-origin')], [200, 'https://app.example']);
      const local = await mint('http://localhost:5173');
      assert.deepEqual([local.status, local.headers.get('access-control-allow-origin')], [403, null]);
    } finally {
      await server.stop();
    }
  });
});
