/** @internal Time as the send queue and the history sync see it: real here, driven by hand in their unit tests. */
export interface Clock {
  now(): number;
  // Calls `fn` after `ms`; what it returns cancels that.
  after(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
