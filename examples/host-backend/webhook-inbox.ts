// The webhooks the backend has accepted, kept in a file so that a redelivery (same `webhook-id`) is
// acted on once even across a restart, and so that an event accepted but not yet acted on when the
// backend stopped is acted on when it starts again. One JSON line per delivery accepted
// (`{"id", "event"}`) and one when its work is done (`{"done": id}`). In your backend: a table with
// the webhook id as its primary key, written before you answer 2xx.
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import type { ChatEvent } from './chat-events.js';

type Line = { id: string; event: ChatEvent } | { done: string };

export class WebhookInbox {
  readonly #file: string;
  readonly #act: (event: ChatEvent) => void;
  readonly #log: (line: string) => void;
  readonly #seen = new Set<string>();
  readonly #handled: ((id: string, event: ChatEvent) => void)[] = [];
  /** The work, one event at a time in the order accepted (the chat delivers a room's events in order). */
  #work: Promise<void> = Promise.resolve();

  constructor(file: string, act: (event: ChatEvent) => void, log: (line: string) => void) {
    this.#file = file;
    this.#act = act;
    this.#log = log;
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    // A line cut off by a crash was never answered 2xx, so the chat sends it again: it goes.
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    if (whole.length < text.length) truncateSync(file, Buffer.byteLength(whole));
    const lines: Line[] = whole.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    const done = new Set(lines.flatMap((line) => ('done' in line ? [line.done] : [])));
    for (const line of lines) {
      if ('done' in line) continue;
      this.#seen.add(line.id);
      if (!done.has(line.id)) this.#enqueue(line.id, line.event);
    }
  }

  /** Keeps the event and queues its work; false (and nothing done) when that webhook id came before. */
  accept(id: string, event: ChatEvent): boolean {
    if (this.#seen.has(id)) return false;
    appendFileSync(this.#file, `${JSON.stringify({ id, event } satisfies Line)}\n`);
    this.#seen.add(id);
    this.#enqueue(id, event);
    return true;
  }

  /** Settles when every event accepted so far has been acted on. */
  idle(): Promise<void> {
    return this.#work;
  }

  /** Called after each event's work is done. */
  onHandled(listener: (id: string, event: ChatEvent) => void): void {
    this.#handled.push(listener);
  }

  #enqueue(id: string, event: ChatEvent): void {
    this.#work = this.#work.then(() => {
      try {
        this.#act(event);
      } catch (error) {
        // Left undone in the file: acted on again at the next start, once the fault is fixed.
        return this.#log(`webhook ${id} (${event.type}) failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      appendFileSync(this.#file, `${JSON.stringify({ done: id } satisfies Line)}\n`);
      for (const listener of this.#handled) listener(id, event);
    });
  }
}
