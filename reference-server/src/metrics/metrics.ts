import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a stored message came: a chat socket, a participant's REST call, or the host's backend (a system message). */
export type SendPath = 'ws' | 'rest' | 'system';
/**
 * Why the server refused a caller: a rate (REST 429, a WebSocket frame refused, an upgrade refused
 * per address), a socket over the per-user caps (close 4429), a flood (close 1008), or a token or
 * ticket that does not verify (REST 401, close 4401).
 */
export type Refusal = 'rate_limited' | '4429' | '1008' | 'auth';

/** What is read at each scrape rather than counted as it happens. */
export interface MetricSources {
  /** Open WebSockets by path. */
  sockets(): { chat: number; notifications: number };
  /** With REDIS_URL: whether the link to Redis is up. */
  redisConnected?: () => boolean;
  /** With WEBHOOK_URL: the events waiting for delivery, and when the oldest was recorded. */
  webhookBacklog?: () => Promise<{ count: number; oldest: string | null }>;
}

const PREFIX = 'motoreach_';
/** Seconds, from a tenth of a millisecond to a few seconds: a commit, a PUBLISH, a send end to end. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/**
 * The server's Prometheus metrics (docs/reference-server.md, Metrics), in a registry of its own so
 * that two servers in one process do not mix. Made only when METRICS_PORT is set; the code that
 * feeds it holds null otherwise and measures nothing. On the way of a message it costs a few integer
 * increments and histogram observations: counters are plain numbers here, read at each scrape,
 * since prom-client's labelled `inc` builds a key string per call.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #stored: Record<SendPath, number> = { ws: 0, rest: 0, system: 0 };
  readonly #refused: Record<Refusal, number> = { rate_limited: 0, '4429': 0, '1008': 0, auth: 0 };
  readonly #toStored: Histogram;
  readonly #toBroadcast: Histogram;
  readonly #commitSeconds: Histogram;
  readonly #commitWrites: Histogram;
  readonly #publishSeconds: Histogram;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    const stored = this.#stored;
    const refused = this.#refused;
    new Gauge({
      name: `${PREFIX}sockets_open`,
      help: 'Open WebSockets, by path: chat (/ws/service-chat/) or notifications (/ws/notifications/).',
      labelNames: ['kind'],
      registers,
      collect() {
        const open = sources.sockets();
        this.set({ kind: 'chat' }, open.chat);
        this.set({ kind: 'notifications' }, open.notifications);
      },
    });
    new Counter({
      name: `${PREFIX}messages_stored_total`,
      help: 'Messages stored (repeats of a client_id not counted), by path: ws, rest or system.',
      labelNames: ['path'],
      registers,
      collect() {
        this.reset();
        for (const path of ['ws', 'rest', 'system'] as const) this.inc({ path }, stored[path]);
      },
    });
    this.#toStored = new Histogram({
      name: `${PREFIX}send_stored_seconds`,
      help: 'From the server taking a message (parsed and authorized) to its commit.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#toBroadcast = new Histogram({
      name: `${PREFIX}send_broadcast_seconds`,
      help: "From the server taking a message to its frame handed to the room's sockets here (and to Redis for the others).",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: `${PREFIX}store_commit_seconds`,
      help: 'Time of one write transaction of the store: on SQLite a batch of the writes of one event-loop turn, on MongoDB one write.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#commitWrites = new Histogram({
      name: `${PREFIX}store_commit_writes`,
      help: 'Writes (appends, cursor moves) committed together in one transaction.',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.#publishSeconds = new Histogram({
      name: `${PREFIX}redis_publish_seconds`,
      help: "From an event's PUBLISH to Redis's answer (with REDIS_URL).",
      buckets: LATENCY_BUCKETS,
      registers: sources.redisConnected ? registers : [],
    });
    new Counter({
      name: `${PREFIX}refusals_total`,
      help: 'Callers refused, by reason: rate_limited (REST 429, WebSocket frames and upgrades over a rate), 4429 (sockets per user), 1008 (floods), auth (REST 401, close 4401).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of ['rate_limited', '4429', '1008', 'auth'] as const) this.inc({ reason }, refused[reason]);
      },
    });
    const { redisConnected, webhookBacklog } = sources;
    if (redisConnected) {
      new Gauge({
        name: `${PREFIX}redis_connected`,
        help: '1 while the link to Redis is up (events reach the other servers), else 0.',
        registers,
        collect() {
          this.set(redisConnected() ? 1 : 0);
        },
      });
    }
    if (webhookBacklog) {
      // Both gauges of one scrape (collected together) share one read of the store.
      let reading: Promise<{ count: number; oldest: string | null }> | null = null;
      const backlog = () =>
        (reading ??= webhookBacklog().finally(() => {
          reading = null;
        }));
      new Gauge({
        name: `${PREFIX}webhook_backlog_events`,
        help: 'Webhook events recorded and not yet delivered or given up.',
        registers,
        async collect() {
          this.set((await backlog()).count);
        },
      });
      new Gauge({
        name: `${PREFIX}webhook_oldest_age_seconds`,
        help: 'Age of the oldest webhook event waiting (0 when none waits).',
        registers,
        async collect() {
          const { oldest } = await backlog();
          this.set(oldest === null ? 0 : Math.max(0, (Date.now() - Date.parse(oldest)) / 1000));
        },
      });
    }
  }

  /** A message stored; `startedMs` is performance.now() when the server took it. */
  stored(path: SendPath, startedMs: number): void {
    this.#stored[path] += 1;
    this.#toStored.observe((performance.now() - startedMs) / 1000);
  }

  /** A stored message's frame handed to the fan-out. */
  broadcast(startedMs: number): void {
    this.#toBroadcast.observe((performance.now() - startedMs) / 1000);
  }

  refused(reason: Refusal): void {
    this.#refused[reason] += 1;
  }

  /** One store transaction of `writes` writes took `seconds`. */
  readonly committed = (seconds: number, writes: number): void => {
    this.#commitSeconds.observe(seconds);
    this.#commitWrites.observe(writes);
  };

  readonly published = (seconds: number): void => {
    this.#publishSeconds.observe(seconds);
  };
}
