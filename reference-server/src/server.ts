import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifierFor } from './auth.js';
import { openAttachments, type OpenedAttachments } from './attachments/open.js';
import { ChatService } from './chat/service.js';
import { type Config, ConfigError, resolveConfig, type ServerOptions } from './config.js';
import type { Fanout } from './fanout/fanout.js';
import { LocalFanout } from './fanout/local.js';
import { EventSigner, fanoutKey } from './fanout/signing.js';
import { createApp } from './http/app.js';
import { uploadAllowanceMs } from './http/body-deadline.js';
import { HttpDrain } from './http/drain.js';
import { createLogger, type Logger } from './logger.js';
import { type Clock, KeyedRateLimiter, monotonicClock } from './rate-limit.js';
import { openStore } from './store/open.js';
import type { ChatStore } from './store/store.js';
import { type SingleUse, MemorySingleUse } from './tickets/single-use.js';
import { ticketKey, Tickets } from './tickets/tickets.js';
import type { Metrics } from './metrics/metrics.js';
import { type MetricsListener, serveMetrics } from './metrics/listener.js';
import { attachWebSockets, type WebSocketGateway } from './ws/upgrade.js';
import { Presence } from './ws/presence.js';
import { type DeliveryTuning, WebhookDelivery } from './webhooks/delivery.js';

/** Redis when REDIS_URL is set (several servers), else in-process (one server). */
async function openFanout(config: Config, logger: Logger): Promise<Fanout> {
  if (!config.redisUrl) return new LocalFanout();
  const { RedisFanout } = await import('./fanout/redis.js');
  return RedisFanout.connect(config.redisUrl, new EventSigner(fanoutKey(config.clusterSecret)), logger);
}

/** Where used tickets are recorded: Redis when servers share it, else this process. */
async function openSingleUse(config: Config, logger: Logger): Promise<SingleUse> {
  if (!config.redisUrl) return new MemorySingleUse();
  const { RedisSingleUse } = await import('./tickets/single-use-redis.js');
  return RedisSingleUse.connect(config.redisUrl, logger);
}

export interface RunningServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** `http://host:port/metrics` with METRICS_PORT set, else null. */
  readonly metricsUrl: string | null;
  readonly config: Config;
  readonly logger: Logger;
  /**
   * Turns `/readyz` to 503 while everything else keeps serving, so that a load balancer polling it
   * sends no new clients before the stop: call, wait the balancer's interval, then close().
   */
  unready(): void;
  /** Stops accepting, closes sockets with 1001, finishes accepted writes, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  fanout?: Fanout;
  /** A store to use instead of opening the configured one; the server closes it on close(). */
  store?: ChatStore;
  /** The time the rate limits run on (tests move it instead of waiting). */
  clock?: Clock;
  /** The webhook delivery's schedule and timings (tests shorten them). */
  webhookTuning?: Partial<DeliveryTuning>;
}

export async function startServer(options: Config | ServerOptions, extras: StartOptions = {}): Promise<RunningServer> {
  const config = 'jwt' in options ? (options as Config) : resolveConfig(options as ServerOptions);
  const logger = extras.logger ?? createLogger(config.logLevel);
  const fanout = extras.fanout ?? (await openFanout(config, logger));
  let store: ChatStore;
  try {
    store = extras.store ?? (await openStore(config, logger));
  } catch (error) {
    await fanout.close();
    throw error;
  }
  let singleUse: SingleUse;
  try {
    singleUse = await openSingleUse(config, logger);
  } catch (error) {
    await fanout.close();
    await store.close();
    throw error;
  }
  const presence = new Presence();
  let webhooks: WebhookDelivery | null = null;
  if (config.webhook) {
    if (!store.outbox) {
      await singleUse.close();
      await fanout.close();
      await store.close();
      throw new ConfigError('WEBHOOK_URL is set but this store records no webhook events (open it with events on)');
    }
    webhooks = new WebhookDelivery(config.webhook, store.outbox, logger, (principal) => presence.connected(principal), extras.webhookTuning);
  }
  const tickets = new Tickets(ticketKey(config.clusterSecret), singleUse);
  const clock = extras.clock ?? monotonicClock;
  let attachments: OpenedAttachments;
  try {
    attachments = await openAttachments(config, logger, clock);
  } catch (error) {
    await singleUse.close();
    await fanout.close();
    await store.close();
    throw error;
  }
  // Assigned once the HTTP server exists (below); the metrics read it only when scraped, later.
  let sockets: WebSocketGateway;
  const outbox = webhooks ? store.outbox : null;
  // prom-client is loaded only with METRICS_PORT set: off by default, it would otherwise be loaded for nothing.
  const metrics =
    config.metricsPort === null
      ? null
      : new (await import('./metrics/metrics.js')).Metrics({
          sockets: () => sockets.open,
          ...(config.redisUrl !== null && { redisConnected: () => fanout.healthy() }),
          ...(outbox && { webhookBacklog: () => outbox.backlog() }),
        });
  if (metrics) {
    store.onCommit = metrics.committed;
    fanout.onPublished = metrics.published;
  }
  const service = new ChatService(
    store,
    fanout,
    config.limits,
    (err, context) => logger.error({ err, context }, 'background work failed'),
    attachments.attachments,
    metrics,
  );
  const verify = verifierFor(config);
  const rateLimiter = new KeyedRateLimiter(config.limits.httpRateLimit / 60, Math.max(1, config.limits.httpRateLimit), clock);
  const { roomsPerHour } = config.limits;
  const roomLimiter = new KeyedRateLimiter(roomsPerHour / 3600, Math.max(1, roomsPerHour), clock);
  let ready = false;

  const app = createApp({
    config,
    service,
    attachments: attachments.attachments,
    verify,
    tickets,
    rateLimiter,
    roomLimiter,
    logger,
    isReady: () => ready,
    fanoutHealthy: () => fanout.healthy(),
    metrics,
  });
  const drain = new HttpDrain();
  const { requestTimeoutMs } = config.limits;
  const server: Server = createHttpServer(
    {
      // The longest an upload may take: BodyDeadlines holds every other request to REQUEST_TIMEOUT_MS.
      requestTimeout: uploadAllowanceMs(requestTimeoutMs, config.limits.attachmentMaxBytes),
      headersTimeout: Math.min(10_000, requestTimeoutMs),
      // Node checks those timeouts at this interval (30 s by default), which would let a slow body run for up to twice as long.
      connectionsCheckingInterval: Math.min(1000, requestTimeoutMs / 4),
    },
    drain.listener(app),
  );
  sockets = attachWebSockets(server, config, verify, tickets, { service, fanout, logger, gapMs: config.limits.seqGapMs, presence, metrics }, clock);

  let metricsListener: MetricsListener | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (metrics) metricsListener = await serveMetrics(metrics, config.metricsPort as number, config.host, logger);
  } catch (error) {
    // Releases DATA_DIR's lock too, so that the embedding program may try again.
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    await sockets.close();
    rateLimiter.close();
    roomLimiter.close();
    await attachments.close();
    await singleUse.close();
    await fanout.close();
    await store.close();
    throw error;
  }
  ready = true;
  webhooks?.start();
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, store: config.mongodbUri ? 'mongodb' : 'sqlite', fanout: config.redisUrl ? 'redis' : 'local', dev: config.dev }, 'listening');

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      ready = false;
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      drain.start(server);
      await sockets.close();
      await service.drain();
      await webhooks?.close();
      await httpClosed;
      rateLimiter.close();
      roomLimiter.close();
      await attachments.close();
      await singleUse.close();
      await fanout.close();
      await store.close();
      await metricsListener?.close();
      logger.info('stopped');
    })();
    return closing;
  };
  const unready = () => {
    ready = false;
  };
  return { url, port, metricsUrl: metricsListener?.url ?? null, config, logger, unready, close };
}
