import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import { addressKey, clientAddress, type TrustProxy } from '../client-address.js';
import type { Config } from '../config.js';
import { type Clock, KeyedRateLimiter } from '../rate-limit.js';

/**
 * How often sockets may be opened: per client address, checked first, before
 * the token is verified or the upgrade done, so that a refused handshake costs
 * a map lookup; and per caller, once the token says who it is. Both are token
 * buckets of N a minute with a burst of N.
 */
export class HandshakeLimits {
  readonly #trust: TrustProxy;
  readonly #perAddress: KeyedRateLimiter;
  readonly #perUser: KeyedRateLimiter;

  constructor(config: Config, clock: Clock) {
    const { wsHandshakesPerIp: perIp, wsHandshakesPerUser: perUser } = config.limits;
    this.#trust = proxyaddr.compile(config.trustProxy);
    this.#perAddress = new KeyedRateLimiter(perIp / 60, perIp, clock);
    this.#perUser = new KeyedRateLimiter(perUser / 60, perUser, clock);
  }

  /** Null when the request may go on, else the seconds its address has to wait (its Retry-After). */
  refuseAddress(req: IncomingMessage): { address: string; retryAfterSeconds: number } | null {
    const address = addressKey(clientAddress(req, this.#trust));
    if (this.#perAddress.take(address)) return null;
    return { address, retryAfterSeconds: Math.max(1, Math.ceil(this.#perAddress.waitMs(address) / 1000)) };
  }

  admitUser(key: string): boolean {
    return this.#perUser.take(key);
  }

  close(): void {
    this.#perAddress.close();
    this.#perUser.close();
  }
}
