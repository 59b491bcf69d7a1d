/** A token bucket: `rate` tokens a second, holding at most `burst`. */
export class TokenBucket {
  #tokens: number;
  #updated: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
    this.#updated = performance.now();
  }

  take(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updated) / 1000) * this.rate);
    this.#updated = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket has refilled, so forgetting it changes nothing. */
  get full(): boolean {
    return this.#tokens + ((performance.now() - this.#updated) / 1000) * this.rate >= this.burst;
  }
}

/** One bucket per key (a user id), forgotten once full again. A rate of 0 allows everything. */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
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
      bucket = new TokenBucket(this.rate, this.burst);
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }

  close(): void {
    clearInterval(this.#sweep);
  }
}
