/** Milliseconds from a monotonic origin; injected so that tests can move time without waiting. */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

/** A token bucket: `rate` tokens a second, holding at most `burst`. */
export class TokenBucket {
  #tokens: number;
  #updated: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly clock: Clock = monotonicClock,
  ) {
    this.#tokens = burst;
    this.#updated = clock();
  }

  take(): boolean {
    const now = this.clock();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updated) / 1000) * this.rate);
    this.#updated = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 when one is there): a refused caller's Retry-After. */
  get waitMs(): number {
    const tokens = this.#tokens + ((this.clock() - this.#updated) / 1000) * this.rate;
    return tokens >= 1 ? 0 : ((1 - tokens) / this.rate) * 1000;
  }

  /** True when the bucket has refilled, so forgetting it changes nothing. */
  get full(): boolean {
    return this.#tokens + ((this.clock() - this.#updated) / 1000) * this.rate >= this.burst;
  }
}

/**
 * Tells a burst of events (`count` of them within `windowMs`) from the same
 * number spread over time, which is not one.
 */
export class BurstDetector {
  readonly #times: number[] = [];

  constructor(
    private readonly count: number,
    private readonly windowMs: number,
    private readonly clock: Clock = monotonicClock,
  ) {}

  /** Records one event; true when it completes a burst. */
  hit(): boolean {
    const now = this.clock();
    this.#times.push(now);
    if (this.#times.length > this.count) this.#times.shift();
    return this.#times.length === this.count && now - (this.#times[0] as number) < this.windowMs;
  }
}

/** One bucket per key (a caller), forgotten once full again. A rate of 0 allows everything. */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly clock: Clock = monotonicClock,
  ) {
    if (rate > 0) {
      this.#sweep = setInterval(() => {
        for (const [key, bucket] of this.#buckets) if (bucket.full) this.#buckets.delete(key);
      }, 60_000);
      this.#sweep.unref();
    }
  }

  take(key: string): boolean {
    if (this.rate <= 0) return true;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.burst, this.clock);
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }

  /** Milliseconds until `key` may take again. */
  waitMs(key: string): number {
    return this.#buckets.get(key)?.waitMs ?? 0;
  }

  close(): void {
    clearInterval(this.#sweep);
  }
}
