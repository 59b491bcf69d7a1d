import { principalGroup } from '../fanout/fanout.js';
import type { Principal } from './types.js';

/** What a turn publishes, given the principal's fan-out group. */
export type TurnAction = (group: string) => void | Promise<void>;

/** A reserved place in a principal's publishing order: run it with what to publish, or skip it. */
export interface PublishTurn {
  /** Settles with the action's outcome, once it has run in its place. */
  run(action: TurnAction): Promise<void>;
  skip(): void;
}

interface Turn {
  /** Not decided yet (undefined), skipped (null), or what to publish. */
  action: TurnAction | null | undefined;
  /** The action's outcome once it has started. */
  outcome: Promise<void> | null;
  /** Hands the outcome to a `run` that had to wait for earlier turns. */
  settle: ((outcome: Promise<void>) => void) | null;
}

const DONE = Promise.resolve();

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
 *
 * A turn whose earlier turns are done runs at once, inside `run`: the usual
 * notification costs no promise and no extra microtask. An action that
 * returns a promise (a snapshot read from the store) holds the turns after it
 * until it settles.
 */
export class PublishOrder {
  readonly #queues = new Map<string, Turn[]>();

  reserve(principal: Principal): PublishTurn {
    const group = principalGroup(principal);
    let queue = this.#queues.get(group);
    if (!queue) {
      queue = [];
      this.#queues.set(group, queue);
    }
    const turn: Turn = { action: undefined, outcome: null, settle: null };
    queue.push(turn);
    const decide = (action: TurnAction | null): Promise<void> => {
      turn.action = action;
      if (queue[0] === turn) this.#pump(group, queue);
      return turn.outcome ?? new Promise<void>((resolve) => (turn.settle = resolve));
    };
    return { run: decide, skip: () => void decide(null) };
  }

  /** Runs the decided turns at the head of the queue, in order, until one is undecided or still running. */
  #pump(group: string, queue: Turn[]): void {
    for (let turn = queue[0]; turn && turn.action !== undefined; turn = queue[0]) {
      let outcome = DONE;
      if (turn.action) {
        try {
          const pending = turn.action(group);
          if (pending) {
            turn.outcome = pending;
            turn.settle?.(pending);
            const next = () => {
              queue.shift();
              this.#pump(group, queue);
            };
            pending.then(next, next);
            return;
          }
        } catch (error) {
          outcome = Promise.reject(error);
        }
      }
      turn.outcome = outcome;
      turn.settle?.(outcome);
      queue.shift();
    }
    if (queue.length === 0 && this.#queues.get(group) === queue) this.#queues.delete(group);
  }
}
