import type { Fanout } from '../fanout/fanout.js';
import { principalGroup } from '../fanout/fanout.js';
import type { ChatStore } from '../store/store.js';
import type { PublishOrder } from './publish-order.js';
import { unreadFrame } from './frames.js';
import type { Principal } from './types.js';

interface Window {
  reader: Principal;
  timer: NodeJS.Timeout;
  /** A read moved a cursor after the window's last snapshot was read from the store. */
  stale: boolean;
}

/**
 * The `unread` snapshots a principal's side gets after its reads. A snapshot
 * holds every room with unread, so its cost grows with them; a read's does
 * not, and must not wait for one. The first read after a quiet spell publishes
 * at once; reads within the window after it are covered by one snapshot at
 * the window's end (or by a snapshot still to be read from the store, which
 * sees them). Each snapshot takes its place in the principal's publishing
 * order when it is reserved, after the reads it covers have committed, so it
 * is never older than a count published before it.
 */
export class UnreadSnapshots {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly store: ChatStore,
    private readonly fanout: Fanout,
    private readonly order: PublishOrder,
    private readonly windowMs: number,
    /** Each snapshot's publication, so that a drain can wait for it. */
    private readonly track: (work: Promise<void>) => void,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  /** A read of `reader` moved its cursor (or a reassignment moved a room's counts to or from it) and has committed. */
  afterRead(reader: Principal): void {
    const key = principalGroup(reader);
    const window = this.#windows.get(key);
    if (window) window.stale = true;
    else this.#open(key, reader);
  }

  /** Publishes what the open windows still owe, now: a stopping server does not wait them out. */
  flush(): void {
    const windows = [...this.#windows.values()];
    this.#windows.clear();
    for (const window of windows) {
      clearTimeout(window.timer);
      if (window.stale) this.#publish(window);
    }
  }

  #open(key: string, reader: Principal): void {
    const window: Window = { reader, timer: setTimeout(() => this.#close(key, window), this.windowMs), stale: false };
    window.timer.unref();
    this.#windows.set(key, window);
    this.#publish(window);
  }

  #close(key: string, window: Window): void {
    this.#windows.delete(key);
    if (window.stale) this.#open(key, window.reader);
  }

  #publish(window: Window): void {
    const published = this.order.reserve(window.reader).run(async (group) => {
      // Reads that commit while the store answers mark the window stale again: this snapshot may miss them.
      window.stale = false;
      this.fanout.publish(group, { frame: unreadFrame(await this.store.unread(window.reader)) });
    });
    this.track(published.catch((error: unknown) => this.onError(error, 'unread snapshot')));
  }
}
