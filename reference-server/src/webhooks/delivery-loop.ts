import { type AttemptSettings, Attempts } from './attempt.js';
import type { DeliveryTuning } from './delivery.js';
import type { DeliverySource, PendingEvent } from './events.js';

/** What the loop logs: the server's logger, or (on the delivery thread) a relay to it. */
export interface DeliveryLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** ±10%, so that receivers recovering from an outage are not hit by every sender at the same instant. */
function jittered(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

/**
 * Takes the outbox's due events and sends them, one request each: within a room an event goes only
 * after the earlier ones were delivered or given up (one event per room in flight; a room whose head
 * waits for a retry waits whole while the other rooms go on). Every outcome is written back to the
 * outbox (removed, or its next attempt), so the store always says what is left.
 */
export class DeliveryLoop {
  readonly #outbox: DeliverySource;
  readonly #log: DeliveryLog;
  readonly #tuning: DeliveryTuning;
  readonly #attempts: Attempts;
  readonly #origin: string;
  /** Rooms with an attempt in flight, and the attempt. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #reading = false;
  #again = false;
  #disabled = false;
  #closed = false;
  #poll: NodeJS.Timeout | null = null;
  #gathering: NodeJS.Timeout | null = null;
  readonly #onDisabled: () => void;

  constructor(outbox: DeliverySource, settings: AttemptSettings, log: DeliveryLog, tuning: DeliveryTuning, onDisabled: () => void) {
    this.#outbox = outbox;
    this.#log = log;
    this.#tuning = tuning;
    this.#attempts = new Attempts(settings);
    this.#origin = new URL(settings.url).origin;
    this.#onDisabled = onDisabled;
  }

  start(): void {
    this.#outbox.onRecorded(() => this.wake());
    this.wake();
  }

  /** Stops reading the outbox and abandons the attempts in flight: their events stay pending. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll) clearTimeout(this.#poll);
    if (this.#gathering) clearTimeout(this.#gathering);
    this.#attempts.close();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  wake(): void {
    if (this.#closed || this.#disabled) return;
    const { gatherMs } = this.#tuning;
    if (gatherMs > 0) {
      // The events and answers of the next few ms go out together: fewer wake-ups of the thread.
      this.#gathering ??= setTimeout(() => {
        this.#gathering = null;
        this.#readNow();
      }, gatherMs);
      return;
    }
    this.#readNow();
  }

  #readNow(): void {
    if (this.#closed || this.#disabled) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    void this.#readDue();
  }

  async #readDue(): Promise<void> {
    this.#reading = true;
    if (this.#poll) clearTimeout(this.#poll);
    try {
      do {
        this.#again = false;
        const { concurrency } = this.#tuning;
        if (this.#inFlight.size >= concurrency) break;
        const now = Date.now();
        const leaseUntil = now + (this.#tuning.leaseMs ?? this.#tuning.timeoutMs + 15_000);
        const due = await this.#outbox.due(now, concurrency - this.#inFlight.size, new Set(this.#inFlight.keys()), leaseUntil);
        for (const event of due) {
          if (this.#closed || this.#disabled || this.#inFlight.size >= concurrency) break;
          if (this.#inFlight.has(event.request_id)) continue;
          const attempt = this.#deliver(event).finally(() => {
            this.#inFlight.delete(event.request_id);
            this.wake();
          });
          this.#inFlight.set(event.request_id, attempt);
        }
      } while (this.#again && !this.#closed);
    } catch (error) {
      if (!this.#closed) this.#log.error({ err: error }, 'webhook delivery could not read its outbox; it tries again');
    } finally {
      this.#reading = false;
      if (!this.#closed && !this.#disabled) this.#poll = setTimeout(() => this.wake(), this.#tuning.pollMs).unref();
    }
  }

  async #deliver(event: PendingEvent): Promise<void> {
    const outcome = await this.#attempts.send(event);
    if (this.#closed) return;
    try {
      if (outcome.kind === 'delivered') {
        await this.#outbox.remove(event);
        return;
      }
      if (outcome.kind === 'gone') {
        this.#disabled = true;
        this.#onDisabled();
        this.#log.error(
          { url: this.#origin, status: outcome.status, webhook_id: event.id },
          'the webhook receiver answered 410 Gone: delivery is off, events keep being recorded, until the server restarts with another WEBHOOK_URL or WEBHOOK_SECRET',
        );
        return;
      }
      const attempts = event.attempts + 1;
      const schedule = this.#tuning.retryScheduleMs;
      if (attempts > schedule.length) {
        await this.#outbox.remove(event);
        this.#log.error(
          { webhook_id: event.id, request_id: event.request_id, attempts, reason: outcome.reason },
          'webhook event given up after its last attempt',
        );
        return;
      }
      const wait = outcome.retryAfterMs ?? jittered(schedule[attempts - 1] as number);
      await this.#outbox.retryAt(event, attempts, Date.now() + wait);
      this.#log.warn(
        { webhook_id: event.id, request_id: event.request_id, attempts, reason: outcome.reason, retry_in_ms: wait },
        'webhook attempt failed; it is retried',
      );
    } catch (error) {
      // The outbox still holds the event as it was: it is attempted again.
      if (!this.#closed) this.#log.error({ err: error, webhook_id: event.id }, 'webhook delivery could not record an attempt');
    }
  }
}
