import type { ChatError } from './errors.js';
import type { ChatMessage } from './types.js';
import { noop } from './noop.js';

/**
 * One message written in this room and not stored yet: everything about getting it stored once.
 * `message` is what the view shows (`pending` while it is in the outbox, `failed` after a final
 * refusal); `phase` is where it is in flight (on the socket, awaiting its ack, or in a REST POST);
 * the ack timer and the promise `send()` returned live here too, so that settling it is one call.
 */
export class PendingSend {
  phase: 'ws' | 'http' | undefined;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #resolve!: (m: ChatMessage) => void;
  #reject!: (e: ChatError) => void;
  // What `send()` / `retry()` return: settles when the message is stored or refused for good.
  // Restored messages have it too, and nobody may be waiting: a rejection is never unhandled.
  readonly promise = new Promise<ChatMessage>((res, rej) => ((this.#resolve = res), (this.#reject = rej)));

  constructor(public message: ChatMessage) {
    this.promise.catch(noop);
  }

  get id(): string {
    return this.message.client_id!;
  }
  get pending(): boolean {
    return this.message.state === 'pending';
  }

  // Written on the socket; `ackTimer` is the wait for its ack (none in time: the socket is probably half-open).
  onSocket(ackTimer: ReturnType<typeof setTimeout>): void {
    this.phase = 'ws';
    this.#ackTimer = ackTimer;
  }

  // Not in flight any more (the socket went down, or the server could not store it): send it again.
  requeue(): void {
    clearTimeout(this.#ackTimer);
    this.phase = undefined;
  }

  stored(m: ChatMessage): void {
    this.requeue();
    this.#resolve(m);
  }

  // `failed`: refused for good; without it the room was closed and the message stays queued.
  refused(e: ChatError, state?: 'failed'): void {
    this.requeue();
    if (state) this.message = { ...this.message, state, error: e };
    this.#reject(e);
  }
}
