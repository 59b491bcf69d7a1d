import type { Fanout, FanoutEvent, FanoutListener } from './fanout.js';

export class LocalFanout implements Fanout {
  readonly #groups = new Map<string, Set<FanoutListener>>();

  subscribe(group: string, listener: FanoutListener): () => void {
    let listeners = this.#groups.get(group);
    if (!listeners) {
      listeners = new Set();
      this.#groups.set(group, listeners);
    }
    listeners.add(listener);
    return () => {
      const current = this.#groups.get(group);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.#groups.delete(group);
    };
  }

  publish(group: string, event: FanoutEvent): void {
    const listeners = this.#groups.get(group);
    if (!listeners) return;
    for (const listener of listeners) listener(event);
  }

  async close(): Promise<void> {
    this.#groups.clear();
  }
}
