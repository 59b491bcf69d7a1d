import { principalGroup } from '../fanout/fanout.js';
import type { Principal } from '../chat/types.js';

/**
 * Which principals (an owner, a workshop) have a socket open on this server, chat or
 * notifications: a `room.unread_reminder` says whether the side it is about was connected.
 */
export class Presence {
  readonly #open = new Map<string, number>();

  opened(principal: Principal): void {
    const key = principalGroup(principal);
    this.#open.set(key, (this.#open.get(key) ?? 0) + 1);
  }

  closed(principal: Principal): void {
    const key = principalGroup(principal);
    const open = (this.#open.get(key) ?? 0) - 1;
    if (open > 0) this.#open.set(key, open);
    else this.#open.delete(key);
  }

  connected(principal: Principal): boolean {
    return this.#open.has(principalGroup(principal));
  }
}
