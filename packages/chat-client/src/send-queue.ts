import { backoffDelay } from './backoff.js';
import type { Clock } from './clock.js';
import { NO_ANSWER } from './connection.js';
import { ChatError, codeForFrame, isFinal } from './errors.js';
import { Outbox, type OutboxEntry, type OutboxStorage } from './outbox.js';
import { PendingSend } from './sender.js';
import type { ChatMessage, ReconnectOptions } from './types.js';
import type { ErrorFrame, Me, Message } from './wire.js';

// Unacked WebSocket sends allowed at once: keeps a burst from tripping the server's frame rate limit
// and bounds how much has to go to the REST fallback if the socket dies.
const WINDOW = 16;
// After a rate-limit refusal (`#limitedAt`): one frame in flight at a time, and a pause long enough
// for the server's per-second budget to refill, so that refusals (which the server counts) stay few.
const RATE_PAUSE_MS = 1000;
// The full window is back once the socket has gone this long without a refusal: longer than the
// pause plus the time a still-running burst takes to use up the refilled budget (so such a burst
// stays slow), short enough that the next burst, later, goes at full speed.
const QUIET_MS = 2000;

/** @internal What the queue needs from its room: the ways to the server, and who writes. */
export interface SendHost {
  clock: Clock;
  storage: OutboxStorage;
  reconnect: Required<ReconnectOptions>;
  ackTimeoutMs: number;
  maxAgeMs: number;
  // Closed rooms send nothing.
  closed(): boolean;
  // The room's socket is ready (`ready` came), and `frame` writes on it: false when it could not.
  online(): boolean;
  frame(frame: object): boolean;
  // The REST fallback: the stored message, or the refusal.
  post(entry: OutboxEntry, author: Me): Promise<Message>;
  // A message the REST answer brought: the room merges it (and acks it here through `stored()`).
  received(m: Message): void;
  // No ack in time: the socket is probably half-open.
  drop(e: ChatError): void;
  // The token in use may name someone else now (`check`); nobody known yet, ask the token provider (`identify`).
  check(): void;
  identify(): void;
  // A pending message has a new state, or the list changed.
  changed(): void;
  report(e: unknown): void;
  // The message shown for an entry while it is pending.
  message(e: OutboxEntry): ChatMessage;
}

/**
 * What was written in one room and is not stored yet, in the order written: pending messages (the
 * outbox, kept in storage) and failed ones. Sends them oldest first: over the socket while it is
 * ready, several in flight (the window); otherwise one REST POST at a time, so the server stores them
 * in the order they were written. Backs off after a transient refusal; expires what waited too long.
 */
export class SendQueue {
  #sends: PendingSend[] = [];
  #outbox: Outbox | undefined;
  #author: Me | undefined;
  // Set while the queue waits (backoff after a refusal or a failed POST, or the rate-limit pause); the next `ready` ends it.
  #wait: (() => void) | undefined;
  #failures = 0;
  #limitedAt = -Infinity;
  // A message was refused while later ones may be in flight behind it.
  #fenced = false;
  readonly #host: SendHost;

  constructor(host: SendHost) {
    this.#host = host;
  }

  get messages(): ChatMessage[] {
    return this.#sends.map((s) => s.message);
  }
  get size(): number {
    return this.#sends.filter((s) => s.pending).length;
  }

  find(clientId: string | null | undefined): PendingSend | undefined {
    return this.#sends.find((s) => s.id === clientId);
  }

  add(e: OutboxEntry): Promise<ChatMessage> {
    const s = new PendingSend(this.#host.message(e));
    this.#sends.push(s);
    this.#outbox?.persist();
    this.#host.changed();
    this.pump();
    return s.promise;
  }

  // A failed one goes again, at the end of the queue, written anew (an expired one would expire again).
  resend(s: PendingSend): Promise<ChatMessage> {
    this.#sends.splice(this.#sends.indexOf(s), 1);
    const { client_id, body, data } = s.message;
    return this.add({ client_id: client_id!, body, created_at: new Date(this.#host.clock.now()).toISOString(), ...(data && { data }) });
  }

  // `author` is known (claims or `ready`): pending messages show them, and the outbox opens under
  // `key`, merged with what an earlier page of theirs left, which goes first.
  open(author: Me, key: string): void {
    this.#author = author;
    for (const s of this.#sends) s.message = { ...s.message, sender: author };
    const outbox = (this.#outbox = new Outbox(this.#host.storage, () => this.entries(), this.#host.report));
    outbox.open(key).then((saved) => {
      if (outbox !== this.#outbox) return;
      const restored = saved.filter((e) => !this.find(e.client_id)).map((e) => new PendingSend(this.#host.message(e)));
      this.#sends.unshift(...restored);
      outbox.persist();
      if (restored.length) this.#host.changed();
      this.pump();
    });
  }

  // The person is gone (another one signed in, or they signed out): their outbox keeps `kept`, and
  // nothing of theirs stays in the queue.
  forget(kept: OutboxEntry[], reason: string): void {
    this.#outbox?.keep(kept);
    for (const s of this.#sends) s.refused(new ChatError('aborted', reason, { clientId: s.id }));
    this.#sends = [];
    this.#outbox = this.#author = undefined;
  }

  entries(): OutboxEntry[] {
    return this.#sends.filter((s) => s.pending).map(({ message: { client_id, body, created_at, data } }) => ({ client_id: client_id!, body, created_at, data }));
  }

  // The room closed: promises reject, the messages stay queued, with fresh promises for a retry() after a reconnect.
  close(reason: string): void {
    this.#stopWaiting();
    this.#sends = this.#sends.map((s) => (s.pending ? (s.refused(new ChatError('aborted', reason, { clientId: s.id })), new PendingSend(s.message)) : s));
  }

  // The socket is ready: whatever the queue waited for, it goes now, with the full window.
  ready(): void {
    this.#limitedAt = -Infinity;
    this.#stopWaiting();
    this.pump();
  }

  // The socket is gone: what was sent on it without an ack goes again, by REST, same client_id.
  down(): void {
    for (const s of this.#sends) if (s.phase === 'ws') s.requeue();
    this.pump();
  }

  // Stored messages whichever path brought them (broadcast, REST answer, gap fetch): those of ours
  // are acked. True when one was.
  stored(messages: readonly ChatMessage[]): boolean {
    let acked = false;
    for (const m of messages) {
      const s = this.find(m.client_id);
      if (!s) continue;
      this.#sends.splice(this.#sends.indexOf(s), 1);
      s.stored(m);
      acked = true;
    }
    if (acked) {
      this.#failures = 0;
      this.#outbox?.persist();
    }
    return acked;
  }

  // The server's `error` frame for one of ours (false when it names none pending).
  refused(f: ErrorFrame): boolean {
    const s = this.find(f.client_id);
    if (!s?.pending) return false;
    const e = new ChatError(codeForFrame(f.code), f.message, { clientId: f.client_id });
    if (isFinal(e)) {
      this.#fail(s, e);
      return true;
    }
    // Not stored (rate limited, or the server could not right now): it goes again, same client_id.
    s.requeue();
    this.#fenced = true;
    if (e.code !== 'rate_limited') this.#backoff();
    else {
      this.#limitedAt = this.#host.clock.now();
      this.#later(RATE_PAUSE_MS);
    }
    return true;
  }

  pump(): void {
    const host = this.#host;
    if (host.closed()) return;
    host.check();
    // Until the principal is known the outbox cannot be keyed, nor what an earlier page left be sent first.
    if (!this.#outbox?.ready) return host.identify();
    // The server refuses what was written behind a refused message too (docs/protocol.md): nothing
    // goes until all of it is answered, and then the refused one goes first, so order holds.
    if (this.#fenced && this.#sends.some((s) => s.phase === 'ws')) return;
    this.#fenced = false;
    const now = host.clock.now();
    const window = now - this.#limitedAt < QUIET_MS ? 1 : WINDOW;
    let inFlight = 0;
    for (const s of this.#sends) {
      if (!s.pending) continue;
      if (s.phase === 'http') return;
      if (s.phase === 'ws') {
        inFlight++;
        continue;
      }
      // Waited too long (a device long offline, a draft left on a shared computer): no longer sent,
      // and shown as failed so that its writer knows.
      if (Date.parse(s.message.created_at) < now - host.maxAgeMs) {
        this.#fail(s, new ChatError('expired', 'Not sent in time'));
        continue;
      }
      if (this.#wait) return;
      if (host.online()) {
        if (inFlight >= window) return;
        if (host.frame({ type: 'message', body: s.message.body, client_id: s.id, data: s.message.data })) {
          inFlight++;
          s.onSocket(host.clock.after(host.ackTimeoutMs, () => host.drop(new ChatError('timeout', NO_ANSWER, { clientId: s.id }))));
          continue;
        }
      }
      this.#post(s);
      return;
    }
  }

  #post(s: PendingSend): void {
    s.phase = 'http';
    const { client_id, body, created_at, data } = s.message;
    this.#host.post({ client_id: client_id!, body, created_at, data }, this.#author!).then(
      (m) => {
        s.phase = undefined;
        this.#host.received(m);
        this.pump();
      },
      (e: ChatError) => {
        s.phase = undefined;
        if (this.#host.closed()) return;
        // The token names someone else now: the room becomes theirs, and this message stays its writer's.
        if (e.code === 'aborted') this.#host.identify();
        if (!isFinal(e)) return this.#backoff();
        this.#fail(s, e);
        this.pump();
      },
    );
  }

  // Offline, the token provider failing, or the server struggling: the queue waits, unless the socket comes back first.
  #backoff(): void {
    this.#later(backoffDelay(this.#failures++, this.#host.reconnect));
  }

  // Identity could not be had (the token provider failed): wait, then try again.
  backoff(): void {
    if (this.size) this.#backoff();
  }

  #later(ms: number): void {
    this.#wait ??= this.#host.clock.after(ms, () => {
      this.#wait = undefined;
      this.pump();
    });
  }

  #stopWaiting(): void {
    this.#wait?.();
    this.#wait = undefined;
  }

  #fail(s: PendingSend, error: ChatError): void {
    s.refused(new ChatError(error.code, error.message, { status: error.status, clientId: s.id, cause: error }), 'failed');
    this.#outbox?.persist();
    this.#host.changed();
  }
}
