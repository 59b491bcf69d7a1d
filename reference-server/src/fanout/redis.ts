import { randomUUID } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { ConfigError } from '../config.js';
import type { Logger } from '../logger.js';
import type { Fanout, FanoutEvent, FanoutListener, Subscription } from './fanout.js';
import type { EventSigner } from './signing.js';

const CHANNEL_PREFIX = 'motoreach:';
/** Dropped events are logged at most once in this time, with how many there were: a flood of forgeries must not flood the log. */
const DROPPED_LOG_MS = 1000;

const ignore = () => undefined;

interface Entry {
  listener: FanoutListener;
  onMissed: () => void;
  /** Subscribed while events from other servers could have been lost. */
  interrupted: boolean;
}

interface Group {
  entries: Set<Entry>;
  /** Settles once Redis has confirmed the channel's SUBSCRIBE (or it failed with the link). */
  subscribed: Promise<void>;
}

/**
 * Wire form of an event on a channel (then signed as a whole, see EventSigner):
 * origin, seq and exceptSocket on lines of their own, then the frame as
 * published. A frame is JSON, which has no raw newline, and this spares
 * wrapping (and escaping) it in another JSON string.
 */
function encode(origin: string, event: FanoutEvent): string {
  return `${origin}\n${event.seq ?? ''}\n${event.exceptSocket ?? ''}\n${event.frame}`;
}

function decode(payload: string): { origin: string; event: FanoutEvent } | null {
  const a = payload.indexOf('\n');
  const b = payload.indexOf('\n', a + 1);
  const c = payload.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  const event: FanoutEvent = { frame: payload.slice(c + 1) };
  if (b > a + 1) event.seq = Number(payload.slice(a + 1, b));
  if (c > b + 1) event.exceptSocket = payload.slice(b + 1, c);
  return { origin: payload.slice(0, a), event };
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** The URL as it may be logged: without a password. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/**
 * Fan-out between servers over Redis pub/sub: one channel per group, which a
 * server subscribes to only while one of its sockets needs it. Its own sockets
 * get an event straight away (they keep working while Redis is away); the
 * other servers get it through one PUBLISH and skip their own events.
 *
 * Redis is not the source of truth: a frame lost with the link is in the store.
 * When the subscriber link comes back, every subscription that lived through
 * the outage is told through `onMissed`, so its socket can resynchronise.
 */
export class RedisFanout implements Fanout {
  readonly #origin = randomUUID();
  readonly #groups = new Map<string, Group>();
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #logger: Logger;
  readonly #signer: EventSigner;
  /** The subscriber link is up and holds every group's channel. */
  #linked = true;
  #closing = false;
  /** Events dropped since the last log line about them, and the timer of the next one. */
  #dropped = 0;
  #droppedLog: NodeJS.Timeout | undefined;
  onPublished: ((seconds: number) => void) | null = null;

  private constructor(pub: Redis, sub: Redis, signer: EventSigner, logger: Logger) {
    this.#pub = pub;
    this.#sub = sub;
    this.#signer = signer;
    this.#logger = logger;
    sub.on('message', (channel: string, payload: string) => this.#receive(channel, payload));
    // Every failed reconnection attempt is an 'error': the loss is logged once, in #lost.
    const quiet = (error: Error) => logger.debug({ err: error }, 'redis connection error');
    pub.on('error', quiet);
    sub.on('error', quiet);
    sub.on('close', () => this.#lost());
    sub.on('ready', () => void this.#relink());
  }

  /** Connects both links; an unreachable Redis is a ConfigError, which the CLI turns into exit status 2. */
  static async connect(url: string, signer: EventSigner, logger: Logger): Promise<RedisFanout> {
    const { Redis: RedisClient } = await importIoredis();
    const options: RedisOptions = {
      lazyConnect: true,
      // A command that cannot go out now fails now: a publish queued during an outage would arrive
      // late and out of order, and the channels are subscribed again by #relink, not replayed.
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      connectionName: 'motoreach-fanout',
    };
    const pub = new RedisClient(url, options);
    const sub = new RedisClient(url, options);
    let cause: Error | undefined;
    const failed = (error: Error) => {
      cause ??= error;
    };
    pub.on('error', failed);
    sub.on('error', failed);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      throw new ConfigError(`cannot reach Redis at ${redactedRedisUrl(url)} (REDIS_URL): ${(cause ?? (error as Error)).message}`);
    }
    pub.off('error', failed);
    sub.off('error', failed);
    logger.info({ redis: redactedRedisUrl(url) }, 'fan-out over Redis');
    if (!hasPassword(url)) {
      logger.warn(
        { redis: redactedRedisUrl(url) },
        'REDIS_URL has no password: whoever reaches this Redis reads every event and can stop them (forged ones are dropped). Require one (requirepass or an ACL user) and put it in the URL, with rediss:// between hosts',
      );
    }
    return new RedisFanout(pub, sub, signer, logger);
  }

  subscribe(group: string, listener: FanoutListener, onMissed: () => void): Subscription {
    const entry: Entry = { listener, onMissed, interrupted: !this.#linked };
    let current = this.#groups.get(group);
    if (!current) {
      current = { entries: new Set(), subscribed: this.#linked ? this.#subscribeChannel(group) : Promise.resolve() };
      this.#groups.set(group, current);
    }
    current.entries.add(entry);
    const unsubscribe = () => {
      const now = this.#groups.get(group);
      if (!now?.entries.delete(entry) || now.entries.size > 0) return;
      this.#groups.delete(group);
      if (this.#linked) this.#sub.unsubscribe(CHANNEL_PREFIX + group).catch(() => undefined);
    };
    // While the link is down there is nothing to wait for: the subscriber is marked interrupted instead.
    return { ready: entry.interrupted ? Promise.resolve() : current.subscribed, unsubscribe };
  }

  publish(group: string, event: FanoutEvent): void {
    this.#deliver(group, event);
    // Only a server with sockets in the group subscribes; an unhealthy link fails at once and is
    // made good by the resynchronisation after it comes back.
    const channel = CHANNEL_PREFIX + group;
    const sent = this.#pub.publish(channel, this.#signer.sign(channel, encode(this.#origin, event)));
    if (this.onPublished === null) {
      sent.catch(ignore);
      return;
    }
    const started = performance.now();
    sent.then(() => this.onPublished?.((performance.now() - started) / 1000), ignore);
  }

  healthy(): boolean {
    return this.#linked && this.#pub.status === 'ready';
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#groups.clear();
    clearTimeout(this.#droppedLog);
    await Promise.allSettled([this.#pub.quit(), this.#sub.quit()]);
    // A QUIT cannot go out while Redis is away, and the client would go on reconnecting (keeping the
    // process alive) after the server stopped.
    this.#pub.disconnect();
    this.#sub.disconnect();
  }

  #subscribeChannel(group: string): Promise<void> {
    return this.#sub.subscribe(CHANNEL_PREFIX + group).then(
      () => undefined,
      // The link broke on the way: #lost has marked the group's subscribers interrupted.
      () => undefined,
    );
  }

  #receive(channel: string, message: string): void {
    const payload = this.#signer.open(channel, message);
    const decoded = payload === null ? null : decode(payload);
    if (!decoded) {
      this.#drop(channel);
      return;
    }
    if (decoded.origin === this.#origin) return;
    this.#deliver(channel.slice(CHANNEL_PREFIX.length), decoded.event);
  }

  /** An event that no server with our key sent: forged, altered, moved to another channel, or signed with another secret. */
  #drop(channel: string): void {
    this.#dropped += 1;
    if (this.#droppedLog) return;
    this.#logDropped(channel);
  }

  #logDropped(channel: string): void {
    this.#logger.warn(
      { channel, dropped: this.#dropped },
      'dropped fan-out events that failed authentication: forged or altered in Redis, or from a server with another CLUSTER_SECRET/JWT_SECRET',
    );
    this.#dropped = 0;
    this.#droppedLog = setTimeout(() => {
      this.#droppedLog = undefined;
      if (this.#dropped > 0) this.#logDropped(channel);
    }, DROPPED_LOG_MS);
    this.#droppedLog.unref();
  }

  #deliver(group: string, event: FanoutEvent): void {
    const current = this.#groups.get(group);
    if (!current) return;
    for (const entry of current.entries) entry.listener(event);
  }

  #lost(): void {
    if (!this.#linked || this.#closing) return;
    this.#linked = false;
    this.#logger.error('lost the connection to Redis: other servers\' events are not delivered here until it is back (messages are still stored)');
    for (const group of this.#groups.values()) for (const entry of group.entries) entry.interrupted = true;
  }

  async #relink(): Promise<void> {
    if (this.#linked || this.#closing) return;
    const groups = new Set(this.#groups.keys());
    try {
      if (groups.size > 0) await this.#sub.subscribe(...[...groups].map((group) => CHANNEL_PREFIX + group));
    } catch {
      // Lost again on the way: the next 'ready' tries again.
      return;
    }
    this.#linked = true;
    // Groups first needed while the SUBSCRIBE above was on its way.
    for (const [group, current] of this.#groups) {
      if (!groups.has(group)) current.subscribed = this.#subscribeChannel(group);
    }
    this.#logger.warn({ groups: groups.size }, 'connection to Redis is back: fan-out resumed; sockets that may have missed events are told to reconnect');
    for (const group of this.#groups.values()) {
      for (const entry of group.entries) {
        if (!entry.interrupted) continue;
        entry.interrupted = false;
        entry.onMissed();
      }
    }
  }
}

// ioredis is an optional peer dependency: a single-server deployment does not install it.
export async function importIoredis(): Promise<{ Redis: typeof import('ioredis').Redis }> {
  try {
    return await import('ioredis');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /'ioredis'/.test((error as Error).message);
    if (!missing) throw error;
    throw new ConfigError('REDIS_URL is set but the Redis client is not installed: run `npm install ioredis@^5` next to @motoreach/reference-server');
  }
}
