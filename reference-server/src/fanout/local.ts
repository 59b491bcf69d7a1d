import type { Fanout, FanoutEvent, FanoutListener, Subscription } from './fanout.js';

const READY = Promise.resolve();

export class LocalFanout implements Fanout {
  readonly #groups = new Map<string, Set<FanoutListener>>();

  /** Nothing travels between processes here, so nothing is ever missed. */
  subscribe(group: string, listener: FanoutListener): Subscription {
    let listeners = this.#groups.get(group);
    if (!listeners) {
      listeners = new Set();
      this.#groups.set(group, listeners);
    }
    listeners.add(listener);
    const unsubscribe = () => {
      const current = this.#groups.get(group);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.#groups.delete(group);
    };
    return { ready: READY, unsubscribe };
  }

  publish(group: string, event: FanoutEvent): void {
    const listeners = this.#groups.get(group);
    if (!listeners) return;
    for (const listener of listeners) listener(event);
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.#groups.clear();
  }
}
