import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { api, createRoom, socketTracker, TestSocket, token, unique, suiteServer } from './helpers/harness.js';

/**
 * JSON can carry lone UTF-16 surrogates (`"\ud800"`), which have no UTF-8
 * form: they are refused as `invalid` on both paths, instead of being acked
 * and read back as replacement characters.
 */

const sockets = socketTracker();
const { track } = sockets;

describe('ill-formed text', () => {
  const server = suiteServer({}, sockets);

  async function room() {
    const workshopId = unique('w');
    const ownerToken = token({ sub: unique('u'), role: 'user' });
    const r = await createRoom(server.url, ownerToken, workshopId);
    return { id: r.id, ownerToken, workshopId };
  }
  const post = (r: { id: string; ownerToken: string }, body: unknown) =>
    api(server.url, 'POST', `/api/service-requests/${r.id}/messages/`, r.ownerToken, body);
  const stored = async (r: { id: string; ownerToken: string }) =>
    (await api(server.url, 'GET', `/api/service-requests/${r.id}/messages/`, r.ownerToken)).body.messages;

  test('REST: a lone surrogate in body or client_id is 400 invalid and nothing is stored', async () => {
    const r = await room();
    const cases: Array<[unknown, string]> = [
      [{ body: 'a\ud800b', client_id: 'c-1' }, 'body: must be well-formed Unicode text (no lone surrogates)'],
      [{ body: 'tail \udc00' }, 'body: must be well-formed Unicode text (no lone surrogates)'],
      [{ body: 'ok', client_id: 'c\ud800' }, 'client_id: must be well-formed Unicode text (no lone surrogates)'],
    ];
    for (const [input, message] of cases) {
      const res = await post(r, input);
      assert.deepEqual([res.status, res.body], [400, { error: { code: 'invalid', message } }]);
    }
    // Two client_ids that differ only in a lone surrogate would have collapsed into one stored key.
    const a = await post(r, { body: 'one', client_id: 'k\ud800' });
    const b = await post(r, { body: 'two', client_id: 'k\ud801' });
    assert.deepEqual([a.status, b.status], [400, 400]);
    assert.deepEqual(await stored(r), []);

    const pair = await post(r, { body: 'a😀b', client_id: 'c-😀' });
    assert.equal(pair.status, 201);
    assert.deepEqual([pair.body.message.body, pair.body.message.client_id], ['a😀b', 'c-😀']);
  });

  test('REST: a lone surrogate in a title or workshop_id is 400 invalid', async () => {
    const owner = token({ sub: unique('u'), role: 'user' });
    const title = await api(server.url, 'POST', '/api/service-requests/', owner, { workshop_id: 'w-1', title: 'Brakes \ud83d' });
    assert.deepEqual([title.status, title.body.error], [
      400,
      { code: 'invalid', message: 'title: must be well-formed Unicode text (no lone surrogates)' },
    ]);
    const workshop = await api(server.url, 'POST', '/api/service-requests/', owner, { workshop_id: 'w\udfff', title: 'ok' });
    assert.deepEqual([workshop.status, workshop.body.error.code], [400, 'invalid']);
    assert.deepEqual((await api(server.url, 'GET', '/api/service-requests/', owner)).body.service_requests, []);
  });

  test('WS: a lone surrogate in body or client_id is an invalid error frame echoing the client_id; the socket stays open', async () => {
    const r = await room();
    const socket = track(TestSocket.chat(server, r.id, r.ownerToken));
    await socket.ready();
    socket.send({ type: 'message', body: 'a\ud800b', client_id: 'c-ws' });
    assert.deepEqual(await socket.next('error'), {
      type: 'error',
      code: 'invalid',
      message: 'body: must be well-formed Unicode text (no lone surrogates)',
      client_id: 'c-ws',
    });
    socket.send({ type: 'message', body: 'fine', client_id: 'c\udbff' });
    const second = await socket.next('error', (f) => f.client_id !== 'c-ws');
    assert.deepEqual(second, {
      type: 'error',
      code: 'invalid',
      message: 'client_id: must be well-formed Unicode text (no lone surrogates)',
      client_id: 'c\udbff',
    });
    socket.send({ type: 'message', body: 'fine', client_id: 'c-ok' });
    await socket.next('message', (f) => f.message.client_id === 'c-ok');
    assert.equal(socket.ws.readyState, WebSocket.OPEN);
    assert.deepEqual((await stored(r)).map((m: { body: string }) => m.body), ['fine']);
  });
});
