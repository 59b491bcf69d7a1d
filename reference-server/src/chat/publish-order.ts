import { principalGroup } from '../fanout/fanout.js';
import type { Principal } from './types.js';

/** What a turn publishes, given the principal's fan-out group. */
export type TurnAction = (group: string) => void | Promise<void>;

/** A reserved place in a principal's publishing order: run it with what to publish, or skip it. */
export interface PublishTurn {
  run(action: TurnAction): Promise<void>;
  skip(): void;
}

/**
 * One principal's counts go out strictly in the order their writes were
 * called: a turn is reserved when a write is called and runs once every
 * earlier turn of that principal has. For a store that resolves in call order
 * (SQLite) that is the order they were counted in, so a notification counted
 * before a read never lands after the read's snapshot, and the last badge a
 * client gets is the freshest. A queue here rather than a version on the wire:
 * clients need no change, and one process publishes all of its counts.
 * Servers sharing a fan-out, or a store that commits one principal's writes
 * out of call order, would need a version.
 */
export class PublishOrder {
  readonly #tails = new Map<string, Promise<void>>();

  reserve(principal: Principal): PublishTurn {
    const group = principalGroup(principal);
    const previous = this.#tails.get(group) ?? Promise.resolve();
    let start!: (action: TurnAction | null) => void;
    const ready = new Promise<TurnAction | null>((resolve) => (start = resolve));
    const turn = previous.then(async () => {
      const action = await ready;
      if (action) await action(group);
    });
    const tail = turn.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(group, tail);
    void tail.then(() => {
      if (this.#tails.get(group) === tail) this.#tails.delete(group);
    });
    return {
      run: (action) => {
        start(action);
        return turn;
      },
      skip: () => start(null),
    };
  }
}
