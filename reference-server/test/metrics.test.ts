import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { createServer, type AddressInfo } from 'node:net';
import { ConfigError } from '../src/config.js';
import { Metrics } from '../src/metrics/metrics.js';
import { admin, api, createRoom, eventually, manualClock, owner, startTestServer, tempDir, TestSocket, token } from './helpers/harness.js';
import { RedisServer, redisMissing } from './helpers/redis-server.js';
import { testStoreKind } from './helpers/test-store.js';

/** One scrape: each sample (`name{labels}`) and its value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The samples named in `names`, as one object for one deepEqual. */
function pick(samples: Map<string, number>, names: string[]): Record<string, number | undefined> {
  return Object.fromEntries(names.map((name) => [name, samples.get(name)]));
}

const service = token({ sub: 'host-backend', role: 'service' } as never);

describe('metrics (METRICS_PORT)', () => {
  test('off by default: no listener, and /metrics is no route of the chat port', async () => {
    const server = await startTestServer();
    try {
      assert.equal(server.metricsUrl, null);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
    } finally {
      await server.stop();
    }
  });

  test('a METRICS_PORT in use stops the start with its reason, and leaves DATA_DIR free for another try', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const dataDir = tempDir();
    try {
      await assert.rejects(
        startTestServer({ metricsPort: port, dataDir }),
        new ConfigError(`METRICS_PORT ${port} cannot be bound on 127.0.0.1 (EADDRINUSE)`),
      );
      const again = await startTestServer({ metricsPort: 0, dataDir });
      await again.stop();
    } finally {
      taken.close();
    }
  });

  test('sockets by kind, messages stored by path, send and commit histograms, refusals by reason: exact after known actions', async () => {
    const { clock } = manualClock();
    const server = await startTestServer(
      {
        metricsPort: 0,
        limits: { wsRateLimit: 1, wsFloodStrikes: 3, wsMaxSocketsPerUser: 2, httpRateLimit: 5 },
      },
      { clock },
    );
    try {
      assert.match(server.metricsUrl!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assert.notEqual(new URL(server.metricsUrl!).port, String(server.port));
      // Only GET /metrics on the metrics port.
      assert.equal((await fetch(server.metricsUrl!.replace('/metrics', '/'))).status, 404);
      const names = [
        'motoreach_sockets_open{kind="chat"}',
        'motoreach_sockets_open{kind="notifications"}',
        'motoreach_messages_stored_total{path="ws"}',
        'motoreach_messages_stored_total{path="rest"}',
        'motoreach_messages_stored_total{path="system"}',
        'motoreach_send_stored_seconds_count',
        'motoreach_send_broadcast_seconds_count',
        'motoreach_refusals_total{reason="rate_limited"}',
        'motoreach_refusals_total{reason="4429"}',
        'motoreach_refusals_total{reason="1008"}',
        'motoreach_refusals_total{reason="auth"}',
      ];
      const before = await scrape(server.metricsUrl!);
      assert.deepEqual(Object.values(pick(before, names)), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      // Process and event-loop defaults, under the same prefix.
      for (const name of ['motoreach_process_cpu_user_seconds_total', 'motoreach_nodejs_eventloop_lag_seconds', 'motoreach_nodejs_heap_size_used_bytes']) {
        assert.equal(typeof before.get(name), 'number', name);
      }

      const ana = owner();
      const bo = admin();
      const room = await createRoom(server.url, ana);
      const chat = TestSocket.chat(server, room.id, ana);
      const notes = TestSocket.notifications(server, ana);
      await Promise.all([chat.ready(), notes.ready()]);
      // Two stored over the socket (its burst of 2 at 1 a second, the clock standing still).
      chat.send({ type: 'message', body: 'one', client_id: 'w1' });
      chat.send({ type: 'message', body: 'two', client_id: 'w2' });
      await chat.until((frames) => frames.filter((f) => f.type === 'message').length === 2, 'both stored');
      // One over REST, its repeat (not stored again), and a system message from the host's backend.
      const path = `/api/service-requests/${room.id}/messages/`;
      assert.equal((await api(server.url, 'POST', path, bo, { body: 'three', client_id: 'r1' })).status, 201);
      assert.equal((await api(server.url, 'POST', path, bo, { body: 'three', client_id: 'r1' })).status, 200);
      assert.equal((await api(server.url, 'POST', path, service, { body: 'Quote ready' })).status, 201);

      const during = await scrape(server.metricsUrl!);
      assert.deepEqual(pick(during, names.slice(0, 7)), {
        'motoreach_sockets_open{kind="chat"}': 1,
        'motoreach_sockets_open{kind="notifications"}': 1,
        'motoreach_messages_stored_total{path="ws"}': 2,
        'motoreach_messages_stored_total{path="rest"}': 1,
        'motoreach_messages_stored_total{path="system"}': 1,
        'motoreach_send_stored_seconds_count': 4,
        'motoreach_send_broadcast_seconds_count': 4,
      });
      if (testStoreKind === 'sqlite') {
        // Every append went through a batch, the repeat included: 5 writes, in as many commits as turns.
        assert.equal(during.get('motoreach_store_commit_writes_sum'), 5);
        assert.equal(during.get('motoreach_store_commit_seconds_count'), during.get('motoreach_store_commit_writes_count'));
        assert.ok(during.get('motoreach_store_commit_writes_count')! >= 1);
      } else {
        // MongoDB: one write per transaction, and at least the five appends (the room's creation is one more).
        assert.equal(during.get('motoreach_store_commit_writes_sum'), during.get('motoreach_store_commit_writes_count'));
        assert.ok(during.get('motoreach_store_commit_writes_count')! >= 5);
      }

      // Refusals: a bad token over REST (401) and on a socket (4401); a third socket of ana's (4429);
      // frames over bo's socket's rate, the third of them a flood (1008); a REST caller over its rate (429).
      assert.equal((await api(server.url, 'GET', '/api/notifications/unread/', 'not-a-token')).status, 401);
      assert.equal((await TestSocket.notifications(server, 'not-a-token').closed).code, 4401);
      assert.equal((await TestSocket.notifications(server, ana).closed).code, 4429);
      const flooder = TestSocket.chat(server, room.id, bo);
      await flooder.ready();
      for (let i = 0; i < 5; i++) flooder.send({ type: 'ping' });
      assert.equal((await flooder.closed).code, 1008);
      const busy = owner('u-busy');
      for (let i = 0; i < 5; i++) assert.equal((await api(server.url, 'GET', '/api/notifications/unread/', busy)).status, 200);
      assert.equal((await api(server.url, 'GET', '/api/notifications/unread/', busy)).status, 429);

      const after = await scrape(server.metricsUrl!);
      assert.deepEqual(pick(after, names.slice(7)), {
        'motoreach_refusals_total{reason="rate_limited"}': 4,
        'motoreach_refusals_total{reason="4429"}': 1,
        'motoreach_refusals_total{reason="1008"}': 1,
        'motoreach_refusals_total{reason="auth"}': 2,
      });
      await chat.close();
      await eventually(async () => (await scrape(server.metricsUrl!)).get('motoreach_sockets_open{kind="chat"}') === 0, 'the chat socket counted out');
      await notes.close();
    } finally {
      await server.stop();
    }
  });

  test('webhooks: the backlog and the age of its oldest event', async () => {
    // A receiver that is never there: every event waits.
    const server = await startTestServer(
      {
        metricsPort: 0,
        webhookUrl: 'http://127.0.0.1:9/hooks',
        webhookSecret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
        webhookAllowPrivate: true,
      },
    );
    try {
      const ana = owner();
      const room = await createRoom(server.url, ana);
      await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'hello' });
      const samples = await scrape(server.metricsUrl!);
      // room.created and message.created.
      assert.equal(samples.get('motoreach_webhook_backlog_events'), 2);
      const age = samples.get('motoreach_webhook_oldest_age_seconds')!;
      assert.ok(age >= 0 && age < 60, `oldest age ${age}`);
      assert.equal(samples.has('motoreach_redis_connected'), false);
    } finally {
      await server.stop();
    }
  });

  test('Redis: the link state and the time of each PUBLISH', { skip: redisMissing }, async () => {
    const redis = await RedisServer.start();
    const server = await startTestServer({ metricsPort: 0, redisUrl: redis.url });
    try {
      const ana = owner();
      const room = await createRoom(server.url, ana);
      await api(server.url, 'POST', `/api/service-requests/${room.id}/messages/`, ana, { body: 'hello' });
      // The message to the room, its notification to the workshop.
      await eventually(async () => (await scrape(server.metricsUrl!)).get('motoreach_redis_publish_seconds_count') === 2, 'two PUBLISHes answered');
      assert.equal((await scrape(server.metricsUrl!)).get('motoreach_redis_connected'), 1);
      await redis.stop();
      await eventually(async () => (await scrape(server.metricsUrl!)).get('motoreach_redis_connected') === 0, 'the link counted down');
      await redis.restart();
      await eventually(async () => (await scrape(server.metricsUrl!)).get('motoreach_redis_connected') === 1, 'the link back', 10_000);
    } finally {
      await server.stop();
      await redis.stop();
    }
  });

  test('the Grafana dashboard in docs/ queries only metrics the server exports, and every one of ours', async () => {
    const all = new Metrics({
      sockets: () => ({ chat: 0, notifications: 0 }),
      redisConnected: () => true,
      webhookBacklog: async () => ({ count: 0, oldest: null }),
    });
    const exported = new Set((await all.registry.getMetricsAsJSON()).map((metric) => metric.name));
    const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((panel: { targets: Array<{ expr: string }> }) => panel.targets.map((t) => t.expr));
    const queried = new Set(exprs.flatMap((expr) => expr.match(/motoreach_\w+/g) ?? []).map((name) => name.replace(/_(bucket|sum|count)$/, '')));
    assert.deepEqual([...queried].filter((name) => !exported.has(name)), []);
    const ours = [...exported].filter((name) => !/^motoreach_(process|nodejs)_/.test(name));
    assert.deepEqual(ours.filter((name) => !queried.has(name)), []);
  });
});
