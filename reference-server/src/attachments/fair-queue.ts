/**
 * Runs tasks at most `concurrency` at once, one per key at a time, the keys taking turns: a person
 * who sends ten photos at once waits for their own, and everyone else's go in between.
 */
export class FairQueue {
  /** Each key's tasks waiting to start; the map's order is the order of turns. */
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly #running = new Set<string>();

  constructor(private readonly concurrency: number) {}

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.#running.add(key);
        new Promise<T>((started) => started(task())).then(resolve, reject).finally(() => this.#done(key));
      };
      const queue = this.#waiting.get(key);
      if (queue) queue.push(start);
      else this.#waiting.set(key, [start]);
      this.#next();
    });
  }

  #done(key: string): void {
    this.#running.delete(key);
    // The key's next task, if any, goes behind every key that waited meanwhile.
    const queue = this.#waiting.get(key);
    if (queue) {
      this.#waiting.delete(key);
      this.#waiting.set(key, queue);
    }
    this.#next();
  }

  #next(): void {
    for (const [key, queue] of this.#waiting) {
      if (this.#running.size >= this.concurrency) return;
      if (this.#running.has(key)) continue;
      const start = queue.shift()!;
      if (queue.length === 0) this.#waiting.delete(key);
      start();
    }
  }
}
