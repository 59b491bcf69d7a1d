import { createHash } from 'node:crypto';
import type { Principal } from '../chat/types.js';
import type { WebhookConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { Attempts } from './attempt.js';
import type { EventOutbox, PendingEvent } from './events.js';

/**
 * The wait before each retry, after a failed first attempt (Standard Webhooks' schedule: at once,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); after the last one fails the event is given up.
 */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export interface DeliveryTuning {
  retryScheduleMs: number[];
  /** One attempt, from the connection to the response's headers. */
  timeoutMs: number;
  /** How often the outbox is read for retries that came due (new events and ended attempts wake the loop at once). */
  pollMs: number;
  /** How often the backlog's size and oldest age are logged while events wait. */
  backlogLogMs: number;
  /** Rooms whose events are in flight at once. */
  concurrency: number;
  /** How long a side's unread waits before its reminder (default: WEBHOOK_UNREAD_AFTER). */
  unreadAfterMs: number | null;
  /** How often the store is asked for sides due a reminder. */
  reminderScanMs: number;
  /**
   * How long an event taken for an attempt stays this server's (MongoDB, several servers); null:
   * the attempt's timeout and 15 s, so that the attempt ends first. A server that dies leaves its
   * events to the others after that long.
   */
  leaseMs: number | null;
}

export const DEFAULT_TUNING: DeliveryTuning = {
  retryScheduleMs: RETRY_SCHEDULE_MS,
  timeoutMs: 15_000,
  pollMs: 1000,
  backlogLogMs: 60_000,
  concurrency: 16,
  unreadAfterMs: null,
  reminderScanMs: 5000,
  leaseMs: null,
};

/** ±10%, so that receivers recovering from an outage are not hit by every sender at the same instant. */
function jittered(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

/**
 * Delivers the outbox's events to WEBHOOK_URL, at least once each, never in a send's path. Within a
 * room an event goes only after the earlier ones were delivered or given up: one event per room is
 * in flight, and a room whose head waits for a retry waits whole, while the other rooms go on. The
 * state lives in the store (attempts, next attempt), so a restart, even after kill -9, resumes it.
 */
export class WebhookDelivery {
  readonly #config: WebhookConfig;
  readonly #outbox: EventOutbox;
  readonly #logger: Logger;
  readonly #tuning: DeliveryTuning;
  readonly #attempts: Attempts;
  /** Names these settings (URL and secret) in the store's record of a 410 Gone, without the secret. */
  readonly #fingerprint: string;
  /** Set once the store said the receiver has not refused these settings before. */
  #ready = false;
  /** Rooms with an attempt in flight, and the attempt. */
  readonly #inFlight = new Map<string, Promise<void>>();
  /** The same rooms, as the outbox is asked to skip them. */
  readonly #busy = new Set<string>();
  #reading = false;
  #again = false;
  #disabled = false;
  #closed = false;
  #poll: NodeJS.Timeout | null = null;
  #backlogTimer: NodeJS.Timeout | null = null;
  #reminderTimer: NodeJS.Timeout | null = null;
  #scanning = false;
  readonly #connected: (principal: Principal) => boolean;

  /** `connected`: whether a socket of the principal is open (for reminders). */
  constructor(
    config: WebhookConfig,
    outbox: EventOutbox,
    logger: Logger,
    connected: (principal: Principal) => boolean,
    tuning: Partial<DeliveryTuning> = {},
  ) {
    this.#config = config;
    this.#connected = connected;
    this.#outbox = outbox;
    this.#logger = logger;
    this.#tuning = { ...DEFAULT_TUNING, ...tuning };
    this.#attempts = new Attempts(config, this.#tuning.timeoutMs, this.#tuning.concurrency);
    this.#fingerprint = createHash('sha256').update(`${config.url.href}\n${config.secret}`).digest('base64url');
  }

  start(): void {
    this.#outbox.onRecorded(() => this.#wake());
    // One timer for the whole run, not one per read: new events and ended attempts wake the loop.
    this.#poll = setInterval(() => this.#wake(), this.#tuning.pollMs).unref();
    this.#backlogTimer = setInterval(() => void this.#logBacklog(), this.#tuning.backlogLogMs).unref();
    this.#reminderTimer = setInterval(() => void this.#remind(), this.#tuning.reminderScanMs).unref();
    void this.#resume();
  }

  /** Delivery starts unless the receiver answered 410 Gone to these same settings before, even before a restart. */
  async #resume(): Promise<void> {
    let offFor: string | null = null;
    try {
      offFor = await this.#outbox.deliveryOffFor();
    } catch (error) {
      this.#logger.error({ err: error }, 'whether a 410 Gone turned webhook delivery off could not be read; delivery starts');
    }
    if (offFor === this.#fingerprint) {
      this.#disabled = true;
      this.#logger.error(
        { url: this.#config.url.origin },
        'webhook delivery is off: the receiver answered 410 Gone to these settings; events keep being recorded, until the server restarts with another WEBHOOK_URL or WEBHOOK_SECRET',
      );
      return;
    }
    this.#ready = true;
    this.#wake();
  }

  /** Records the reminders that came due; they are delivered as any event, in their room's order. */
  async #remind(): Promise<void> {
    if (this.#scanning || this.#closed) return;
    this.#scanning = true;
    try {
      const afterMs = this.#tuning.unreadAfterMs ?? this.#config.unreadAfterS * 1000;
      await this.#outbox.remindUnread(new Date(Date.now() - afterMs).toISOString(), this.#connected);
    } catch (error) {
      if (!this.#closed) this.#logger.error({ err: error }, 'unread reminders could not be recorded; they are tried again');
    } finally {
      this.#scanning = false;
    }
  }

  /** Stops reading the outbox and abandons the attempts in flight: their events stay pending. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    if (this.#backlogTimer) clearInterval(this.#backlogTimer);
    if (this.#reminderTimer) clearInterval(this.#reminderTimer);
    this.#attempts.close();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  #wake(): void {
    if (this.#closed || this.#disabled || !this.#ready) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    void this.#readDue();
  }

  async #readDue(): Promise<void> {
    this.#reading = true;
    try {
      do {
        this.#again = false;
        const { concurrency } = this.#tuning;
        if (this.#inFlight.size >= concurrency) break;
        const now = Date.now();
        const leaseUntil = now + (this.#tuning.leaseMs ?? this.#tuning.timeoutMs + 15_000);
        const due = await this.#outbox.due(now, concurrency - this.#inFlight.size, this.#busy, leaseUntil);
        for (const event of due) {
          if (this.#closed || this.#disabled || this.#inFlight.size >= concurrency) break;
          if (this.#inFlight.has(event.request_id)) continue;
          const attempt = this.#deliver(event).finally(() => {
            this.#inFlight.delete(event.request_id);
            this.#busy.delete(event.request_id);
            this.#wake();
          });
          this.#inFlight.set(event.request_id, attempt);
          this.#busy.add(event.request_id);
        }
      } while (this.#again && !this.#closed);
    } catch (error) {
      if (!this.#closed) this.#logger.error({ err: error }, 'webhook delivery could not read its outbox; it tries again');
    } finally {
      this.#reading = false;
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
        this.#logger.error(
          { url: this.#config.url.origin, status: outcome.status, webhook_id: event.id },
          'the webhook receiver answered 410 Gone: delivery is off, events keep being recorded, until the server restarts with another WEBHOOK_URL or WEBHOOK_SECRET',
        );
        // Kept in the store: a restart with the same settings leaves delivery off.
        await this.#outbox.turnDeliveryOff(this.#fingerprint);
        // Not a failed attempt, and the event is this server's no longer (MongoDB: its lease ends), so
        // that a server with other settings sends it at once.
        await this.#outbox.retryAt(event, event.attempts, Date.now());
        return;
      }
      const attempts = event.attempts + 1;
      const schedule = this.#tuning.retryScheduleMs;
      if (attempts > schedule.length) {
        await this.#outbox.remove(event);
        this.#logger.error(
          { webhook_id: event.id, request_id: event.request_id, attempts, reason: outcome.reason },
          'webhook event given up after its last attempt',
        );
        return;
      }
      const wait = outcome.retryAfterMs ?? jittered(schedule[attempts - 1] as number);
      await this.#outbox.retryAt(event, attempts, Date.now() + wait);
      this.#logger.warn(
        { webhook_id: event.id, request_id: event.request_id, attempts, reason: outcome.reason, retry_in_ms: wait },
        'webhook attempt failed; it is retried',
      );
    } catch (error) {
      // The outbox still holds the event as it was: it is attempted again.
      if (!this.#closed) this.#logger.error({ err: error, webhook_id: event.id }, 'webhook delivery could not record an attempt');
    }
  }

  async #logBacklog(): Promise<void> {
    try {
      const { count, oldest } = await this.#outbox.backlog();
      if (count === 0) return;
      const oldestAgeS = oldest === null ? 0 : Math.round((Date.now() - Date.parse(oldest)) / 1000);
      this.#logger.info({ backlog: count, oldest_age_s: oldestAgeS, disabled: this.#disabled }, 'webhook events waiting');
    } catch (error) {
      if (!this.#closed) this.#logger.error({ err: error }, 'webhook backlog could not be read');
    }
  }
}
