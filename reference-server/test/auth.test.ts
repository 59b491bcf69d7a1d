import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { createVerifier } from '../src/auth.js';
import { api, createRoom, owner, admin, SECRET, TestSocket, token, suiteServer, unique } from './helpers/harness.js';

const hour = () => Math.floor(Date.now() / 1000) + 3600;

/** A JWT with `alg: none`: header and claims, no signature. */
function unsigned(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('token verification (HS256 pinned)', () => {
  const verify = createVerifier({ algorithm: 'HS256', secret: SECRET });

  test('accepts an owner and an admin, with name or without; the identity carries the token\'s exp', () => {
    const exp = hour();
    assert.deepEqual(verify(token({ sub: 'u1', role: 'user', name: 'Ana', exp })), {
      id: 'u1',
      role: 'user',
      workshopId: null,
      name: 'Ana',
      expiresAt: exp * 1000,
    });
    assert.deepEqual(verify(token({ sub: 'a1', role: 'workshop_admin', workshop_id: 'w-1', exp })), {
      id: 'a1',
      role: 'workshop_admin',
      workshopId: 'w-1',
      name: null,
      expiresAt: exp * 1000,
    });
  });

  const refused: Array<[string, string | null]> = [
    ['no token', null],
    ['garbage', 'not-a-jwt'],
    ['wrong secret', token({ sub: 'u1', role: 'user' }, 'another-secret-another-secret-0000')],
    ['expired', token({ sub: 'u1', role: 'user', exp: Math.floor(Date.now() / 1000) - 10 })],
    ['no exp', jwt.sign({ sub: 'u1', role: 'user' }, SECRET, { algorithm: 'HS256' })],
    ['no sub', token({ role: 'user' })],
    ['numeric sub', token({ sub: 7 as unknown as string, role: 'user' })],
    ['unknown role', token({ sub: 'u1', role: 'superuser' })],
    ['no role', token({ sub: 'u1' })],
    ['admin without workshop_id', token({ sub: 'a1', role: 'workshop_admin' })],
    ['non-string name', token({ sub: 'u1', role: 'user', name: 5 as unknown as string })],
    ['alg none', unsigned({ sub: 'u1', role: 'user', exp: hour() })],
    ['HS384 with the right secret', jwt.sign({ sub: 'u1', role: 'user', exp: hour() }, SECRET, { algorithm: 'HS384' })],
  ];
  for (const [name, candidate] of refused) {
    test(`refuses: ${name}`, () => {
      assert.equal(verify(candidate), null);
    });
  }
});

describe('token verification (RS256 pinned)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const verify = createVerifier({ algorithm: 'RS256', publicKey: publicPem });

  test('accepts RS256 signed by the private key', () => {
    const signed = jwt.sign({ sub: 'u1', role: 'user', exp: hour() }, privateKey, { algorithm: 'RS256' });
    assert.equal(verify(signed)?.id, 'u1');
  });

  test('refuses the algorithm swap: HS256 signed with the public key as secret', () => {
    const forged = jwt.sign({ sub: 'u1', role: 'user', exp: hour() }, SECRET, { algorithm: 'HS256' });
    assert.equal(verify(forged), null);
    // The classic attack signs with the public key text itself as the HMAC secret.
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'u1', role: 'user', exp: hour() })).toString('base64url');
    const sig = createHmac('sha256', publicPem).update(`${header}.${body}`).digest('base64url');
    assert.equal(verify(`${header}.${body}.${sig}`), null);
  });

  test('refuses alg none', () => {
    assert.equal(verify(unsigned({ sub: 'u1', role: 'user', exp: hour() })), null);
  });
});

describe('authorization on every REST and WebSocket access', () => {
  let roomId: string;
  const ana = owner('u-ana');
  const bo = admin('a-bo', 'w-1');
  const cy = owner('u-cy', 'Cy');
  const otherWorkshop = admin('a-di', 'w-2', 'Di');
  const expired = token({ sub: 'u-ana', role: 'user', exp: Math.floor(Date.now() / 1000) - 1 });
  const none = unsigned({ sub: 'u-ana', role: 'user', exp: hour() });

  const server = suiteServer();
  before(async () => {
    roomId = (await createRoom(server.url, ana, 'w-1')).id;
  });

  const routes = (id: string): Array<[string, string, unknown?]> => [
    ['GET', `/api/service-requests/${id}/`],
    ['GET', `/api/service-requests/${id}/messages/`],
    ['POST', `/api/service-requests/${id}/messages/`, { body: 'x', client_id: 'c-auth' }],
    ['POST', `/api/service-requests/${id}/messages/read/`, {}],
  ];

  test('REST: 401 without a valid bearer token, on every route', async () => {
    for (const auth of [null, expired, none, 'garbage']) {
      for (const [method, path, body] of [
        ...routes(roomId),
        ['GET', '/api/service-requests/'] as [string, string],
        ['POST', '/api/service-requests/', { workshop_id: 'w-1', title: 't' }] as [string, string, unknown],
        ['GET', '/api/notifications/unread/'] as [string, string],
      ]) {
        const res = await api(server.url, method, path, auth, body);
        assert.equal(res.status, 401, `${method} ${path}`);
        assert.equal(res.body.error.code, 'unauthorized');
      }
    }
  });

  test('REST: the token only counts in the Authorization header, as Bearer', async () => {
    const query = await api(server.url, 'GET', `/api/service-requests/?token=${ana}`, null);
    assert.equal(query.status, 401);
    const basic = await api(server.url, 'GET', '/api/service-requests/', null, undefined, { authorization: `Basic ${ana}` });
    assert.equal(basic.status, 401);
  });

  test('REST: another user and another workshop’s admin get 403; an unknown room 404', async () => {
    for (const auth of [cy, otherWorkshop]) {
      for (const [method, path, body] of routes(roomId)) {
        const res = await api(server.url, method, path, auth, body);
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.deepEqual(res.body, { error: { code: 'forbidden', message: 'not a participant of this service request' } });
      }
    }
    for (const [method, path, body] of routes('r_missing')) {
      const res = await api(server.url, method, path, ana, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'not_found');
    }
    const messages = await api(server.url, 'GET', `/api/service-requests/${roomId}/messages/`, ana);
    assert.deepEqual(messages.body.messages, []);
  });

  test('REST: the owner and every admin of the workshop are let in', async () => {
    for (const auth of [ana, bo, admin('a-eve', 'w-1', 'Eve')]) {
      assert.equal((await api(server.url, 'GET', `/api/service-requests/${roomId}/`, auth)).status, 200);
    }
  });

  test('WS chat: 4401 bad token, 4403 not a participant, 4404 no such room', async () => {
    const cases: Array<[string | null, string, number]> = [
      [null, roomId, 4401],
      [expired, roomId, 4401],
      [none, roomId, 4401],
      [expired, 'r_missing', 4401],
      [cy, roomId, 4403],
      [otherWorkshop, roomId, 4403],
      [ana, 'r_missing', 4404],
    ];
    for (const [auth, id, code] of cases) {
      const socket = TestSocket.chat(server, id, auth);
      const closed = await socket.closed;
      assert.equal(closed.code, code, `token ${auth ? auth.slice(-6) : 'none'} room ${id}`);
      assert.deepEqual(socket.frames, []);
    }
  });

  test('WS notifications: 4401 for a bad token', async () => {
    for (const auth of [null, expired, none]) {
      assert.equal((await TestSocket.notifications(server, auth).closed).code, 4401);
    }
  });

  test('WS: every admin of the workshop and the owner are accepted', async () => {
    for (const auth of [ana, bo]) {
      const socket = TestSocket.chat(server, roomId, auth);
      assert.equal((await socket.ready()).type, 'ready');
      await socket.close();
    }
  });
});

describe('Origin allow-list on WebSocket upgrades', () => {
  let roomId: string;
  const ana = owner('u-ana');
  const server = suiteServer({ allowedOrigins: ['https://host.example'] });
  before(async () => {
    roomId = (await createRoom(server.url, ana, 'w-1')).id;
  });

  test('an allowed origin and a client without Origin are let through to authentication', async () => {
    const browser = TestSocket.chat(server, roomId, ana, { origin: 'https://host.example' });
    const bot = TestSocket.notifications(server, ana);
    assert.equal((await browser.ready()).type, 'ready');
    assert.equal((await bot.ready()).type, 'unread');
    await Promise.all([browser.close(), bot.close()]);
  });

  test('another origin is refused before the upgrade, with 403', async () => {
    for (const open of [
      () => TestSocket.chat(server, roomId, ana, { origin: 'https://evil.example' }),
      () => TestSocket.notifications(server, ana, { origin: 'https://evil.example' }),
    ]) {
      const socket = open();
      const status = await new Promise<number | undefined>((resolve) =>
        socket.ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)),
      );
      assert.equal(status, 403);
      assert.deepEqual(socket.frames, []);
    }
  });
});

describe('claims the server checks, against the real server', () => {
  const AUDIENCE = 'motoreach-chat';
  const ISSUER = 'https://auth.motoreach.example';
  const strict = suiteServer({ jwtAudience: AUDIENCE, jwtIssuer: ISSUER });
  const plain = suiteServer();
  const status = async (base: string, auth: string) => (await api(base, 'GET', '/api/notifications/unread/', auth)).status;

  test('with JWT_AUDIENCE and JWT_ISSUER set, a token must name both', async () => {
    const claims = { sub: 'u-aud', role: 'user' };
    assert.equal(await status(strict.url, token({ ...claims, aud: AUDIENCE, iss: ISSUER })), 200);
    assert.equal(await status(strict.url, token({ ...claims, aud: ['billing', AUDIENCE], iss: ISSUER })), 200);
    for (const other of [
      { iss: ISSUER },
      { aud: AUDIENCE },
      { aud: 'billing', iss: ISSUER },
      { aud: AUDIENCE, iss: 'https://evil.example' },
    ]) {
      assert.equal(await status(strict.url, token({ ...claims, ...other })), 401, JSON.stringify(other));
    }
    // Unset, neither is checked.
    assert.equal(await status(plain.url, token({ ...claims, aud: 'anything', iss: 'anyone' })), 200);
  });

  test('a name of up to 200 characters (code points) is shown; a longer one makes the token invalid', async () => {
    const named = (name: string) => token({ sub: unique('u'), role: 'user', name });
    for (const name of ['a'.repeat(200), '🚗'.repeat(200)]) {
      const ana = named(name);
      const room = await createRoom(plain.url, ana);
      const sent = await api(plain.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'hi' });
      assert.deepEqual([sent.status, sent.body.message.sender.name], [201, name]);
    }
    for (const name of ['a'.repeat(201), '🚗'.repeat(201), 'x'.repeat(8000)]) {
      assert.equal(await status(plain.url, named(name)), 401, `${name.length} code units`);
    }
  });
});
