import type { Redis, RedisOptions } from 'ioredis';
import { ConfigError } from '../config.js';
import { importIoredis, redactedRedisUrl } from '../fanout/redis.js';
import type { Logger } from '../logger.js';
import type { SingleUse } from './single-use.js';

const KEY_PREFIX = 'motoreach:ws-ticket:';

/** Several servers: `SET NX` in Redis, atomic across every server; the key expires with its ticket. */
export class RedisSingleUse implements SingleUse {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** A link of its own, failing fast while Redis is away (the socket is then closed with 1013, to try again). */
  static async connect(url: string, logger: Logger): Promise<RedisSingleUse> {
    const { Redis: RedisClient } = await importIoredis();
    const options: RedisOptions = { lazyConnect: true, enableOfflineQueue: false, connectionName: 'motoreach-tickets' };
    const redis = new RedisClient(url, options);
    let cause: Error | undefined;
    const failed = (error: Error) => {
      cause ??= error;
    };
    redis.on('error', failed);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new ConfigError(`cannot reach Redis at ${redactedRedisUrl(url)} (REDIS_URL): ${(cause ?? (error as Error)).message}`);
    }
    redis.off('error', failed);
    // Every failed reconnection attempt is an 'error'; the fan-out logs the loss of Redis once.
    redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis connection error (tickets)'));
    return new RedisSingleUse(redis);
  }

  async claim(id: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(KEY_PREFIX + id, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
