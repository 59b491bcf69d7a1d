import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Principal } from '../chat/types.js';
import type { WebhookConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { AttemptSettings } from './attempt.js';
import { DeliveryLoop } from './delivery-loop.js';
import type { DeliveryThreadData, FromDeliveryThread, ToDeliveryThread } from './delivery-thread.js';
import type { EventOutbox, OutboxForThread } from './events.js';

/**
 * The wait before each retry, after a failed first attempt (Standard Webhooks' schedule: at once,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); after the last one fails the event is given up.
 */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export interface DeliveryTuning {
  retryScheduleMs: number[];
  /** One attempt, from the connection to the response's headers. */
  timeoutMs: number;
  /** How often the outbox is read for retries that came due (new events wake the loop at once). */
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
  /**
   * On the delivery thread: how long the loop gathers new events and answers before it sends what
   * is due (0: at once). A thread woken for every single event spent more on waking than on it.
   */
  gatherMs: number;
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
  gatherMs: 2,
};

/** The first wait before a delivery thread that failed is started again. */
const THREAD_RESTART_MS = 1000;

/** How long close() waits for the delivery thread to hand over its last changes. */
const THREAD_CLOSE_MS = 5000;

/**
 * Delivers the outbox's events to WEBHOOK_URL, at least once each, never in a send's path (see
 * delivery-loop.ts for the order and the retries), and records the unread reminders that come due.
 * The state lives in the store (attempts, next attempt), so a restart, even after kill -9, resumes it.
 *
 * On SQLite the loop runs on a thread of its own (delivery-thread.ts), which the store hands each
 * commit's events: on the fan-out bench it took about 35 µs per message of the main thread's event
 * loop (the request and response, the signature, reading the event). The main thread keeps the writes: a
 * delivered event's delete and a failed attempt's next time join the transaction of its next turn.
 * On MongoDB the loop runs on the main thread, where its work is mostly waiting for the database.
 */
export class WebhookDelivery {
  readonly #config: WebhookConfig;
  readonly #outbox: EventOutbox;
  readonly #logger: Logger;
  readonly #tuning: DeliveryTuning;
  readonly #connected: (principal: Principal) => boolean;
  #loop: DeliveryLoop | null = null;
  #thread: Worker | null = null;
  #threadClosed: Promise<void> | null = null;
  #disabled = false;
  #closed = false;
  #backlogTimer: NodeJS.Timeout | null = null;
  #reminderTimer: NodeJS.Timeout | null = null;
  #scanning = false;

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
  }

  start(): void {
    const settings: AttemptSettings = {
      url: this.#config.url.href,
      secrets: [this.#config.secret, ...(this.#config.previousSecret === null ? [] : [this.#config.previousSecret])],
      allowPrivate: this.#config.allowPrivate,
      timeoutMs: this.#tuning.timeoutMs,
    };
    const forThread = this.#outbox.thread;
    if (forThread === null) {
      this.#loop = new DeliveryLoop(this.#outbox, settings, this.#logger, { ...this.#tuning, gatherMs: 0 }, () => (this.#disabled = true));
      this.#loop.start();
    } else {
      forThread.onRecorded((events) => this.#thread?.postMessage(events satisfies ToDeliveryThread));
      this.#startThread(forThread, { file: forThread.file, settings, tuning: this.#tuning }, THREAD_RESTART_MS);
    }
    this.#backlogTimer = setInterval(() => void this.#logBacklog(), this.#tuning.backlogLogMs).unref();
    this.#reminderTimer = setInterval(() => void this.#remind(), this.#tuning.reminderScanMs).unref();
  }

  /** `restartMs`: the wait before a thread that failed is started again (doubled each time, up to a minute). */
  #startThread(forThread: OutboxForThread, data: DeliveryThreadData, restartMs: number): void {
    // delivery-thread.js next to this file once built; delivery-thread.ts under a TypeScript loader,
    // which the thread inherits with the process's flags.
    const entry = fileURLToPath(new URL(`./delivery-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    const thread = new Worker(entry, { workerData: data });
    thread.unref();
    let closed!: () => void;
    this.#threadClosed = new Promise((resolve) => (closed = resolve));
    thread.on('message', (message: FromDeliveryThread) => {
      if (message.kind === 'changes') {
        const { removed, retried } = message.changes;
        if (removed.length > 0) void this.#write(forThread.removeAll(removed), removed[0]!.id);
        for (const event of retried) void this.#write(this.#outbox.retryAt(event, event.attempts, event.dueAt), event.id);
      } else if (message.kind === 'log') {
        this.#logger[message.record.level](message.record.fields, message.record.message);
      } else if (message.kind === 'disabled') {
        this.#disabled = true;
      } else {
        closed();
      }
    });
    thread.on('error', (error) => {
      // The store holds every event not yet reported delivered: a new thread reads them from there
      // (the ones delivered whose delete was still on its way are sent again: at least once).
      this.#thread = null;
      closed();
      if (this.#closed || this.#disabled) return;
      this.#logger.error({ err: error, restart_in_ms: restartMs }, 'webhook delivery thread failed; it starts again');
      setTimeout(() => {
        if (!this.#closed) this.#startThread(forThread, data, Math.min(restartMs * 2, 60_000));
      }, restartMs).unref();
    });
    thread.on('exit', () => closed());
    this.#thread = thread;
  }

  async #write(written: Promise<void>, webhookId: string): Promise<void> {
    try {
      await written;
    } catch (error) {
      // The event stays as it was in the store: after a restart it is attempted again.
      if (!this.#closed) this.#logger.error({ err: error, webhook_id: webhookId }, 'webhook delivery could not record an attempt');
    }
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

  /**
   * Stops delivering and abandons the attempts in flight: their events stay pending. The thread's
   * last changes are written first (the store is still open).
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#backlogTimer) clearInterval(this.#backlogTimer);
    if (this.#reminderTimer) clearInterval(this.#reminderTimer);
    await this.#loop?.close();
    const thread = this.#thread;
    if (!thread) return;
    thread.postMessage('close' satisfies ToDeliveryThread);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, THREAD_CLOSE_MS).unref());
    await Promise.race([this.#threadClosed, timeout]);
    await thread.terminate();
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
