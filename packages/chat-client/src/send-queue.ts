import { backoffDelay } from './backoff.js';
import { NO_ANSWER } from './connection.js';
import { ChatError, codeForFrame, isFinal } from './errors.js';
import type { OutboxFile } from './files.js';
import type { ClientContext } from './client.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { PendingSend } from './sender.js';
import type { Emitter } from './emitter.js';
import { noop } from './noop.js';
import type { ChatMessage, ReconnectOptions, RoomEvents } from './types.js';
import type { ErrorFrame, Me } from './wire.js';

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
  // The client's settings: `outboxStorage`, `ackTimeoutMs`, `outboxMaxAgeMs`, `connection.reconnect`.
  ctx: Pick<ClientContext, 'outboxStorage' | 'ackTimeoutMs' | 'outboxMaxAgeMs'> & { connection: { reconnect: Required<ReconnectOptions> } };
  // Closed rooms send nothing.
  closed(): boolean;
  // Writes on the room's socket if it is ready (`ready` came): false when it is not, or could not.
  // (While it is not, nothing is in flight on it: the room requeues all of that when it goes down.)
  frame(frame: object): boolean;
  // The REST fallback (`wire` as in a message frame, without `type`): the room merges the stored
  // message it answers (and acks it here through `stored()`), or it rejects with the refusal.
  post(wire: object, author: Me): Promise<unknown>;
  // Uploads a file (idempotent by its client_id), telling the bytes sent so far: the attachment's id.
  upload(file: OutboxFile, author: Me, progress: (sent: number) => void): Promise<string>;
  // The room's events: `progress` of a message's uploads.
  emit: Emitter<RoomEvents>['emit'];
  // No ack in time: the socket is probably half-open.
  drop(e: ChatError): void;
  // Who writes: the token in use may name someone else now, or nobody is known yet (then the token provider is asked).
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
  #wait: ReturnType<typeof setTimeout> | undefined;
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
    return this.add({ ...entryOf(s), created_at: new Date().toISOString() });
  }

  // `author` is known (claims or `ready`): pending messages show them, and the outbox opens under
  // `key`, merged with what an earlier page of theirs left, which goes first.
  open(author: Me, key: string): void {
    this.#author = author;
    for (const s of this.#sends) s.message = { ...s.message, sender: author };
    const outbox = (this.#outbox = new Outbox(this.#host.ctx.outboxStorage, () => this.entries(), this.#host.report));
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
    return this.#sends.filter((s) => s.pending).map(entryOf);
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
      this.#limitedAt = Date.now();
      this.#later(RATE_PAUSE_MS);
    }
    return true;
  }

  pump(): void {
    const host = this.#host;
    if (host.closed()) return;
    host.identify();
    // Until the principal is known the outbox cannot be keyed, nor what an earlier page left be sent first.
    if (!this.#outbox?.ready) return;
    // The server refuses what was written behind a refused message too (docs/protocol.md): nothing
    // goes until all of it is answered, and then the refused one goes first, so order holds.
    if (this.#fenced && this.#sends.some((s) => s.phase === 'ws')) return;
    this.#fenced = false;
    const now = Date.now();
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
      if (Date.parse(s.message.created_at) < now - host.ctx.outboxMaxAgeMs) {
        this.#fail(s, new ChatError('expired', 'Not sent in time'));
        continue;
      }
      if (this.#wait) return;
      // Its files first, one at a time, in order; whatever was written after it waits, so order holds.
      const file = s.message.files?.find((f) => !f.id);
      if (file) return this.#upload(s, file);
      if (inFlight >= window) return;
      if (host.frame({ type: 'message', ...wire(s) })) {
        inFlight++;
        s.onSocket(setTimeout(() => host.drop(new ChatError('timeout', NO_ANSWER, { clientId: s.id })), host.ctx.ackTimeoutMs));
        continue;
      }
      this.#post(s);
      return;
    }
  }

  #post(s: PendingSend): void {
    this.#rest(s, this.#host.post(wire(s), this.#author!), noop);
  }

  #upload(s: PendingSend, file: OutboxFile): void {
    // Kept in storage that could not keep the bytes (a page reload): never silently dropped, failed by name.
    if (!(file.blob instanceof Blob)) return this.#fail(s, new ChatError('lost', `${file.name}: lost on reload`)), this.pump();
    const progress = (sent: number): void => this.#host.emit('progress', { client_id: s.id, file, sent });
    this.#rest(s, this.#host.upload(file, this.#author!, progress), (id) => {
      file.id = id;
      this.#outbox?.persist();
    });
  }

  // One REST call for `s`, with everything behind it waiting.
  #rest<T>(s: PendingSend, call: Promise<T>, done: (result: T) => void): void {
    s.phase = 'http';
    call.then(
      (result) => {
        s.phase = undefined;
        done(result);
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
    this.#later(backoffDelay(this.#failures++, this.#host.ctx.connection.reconnect));
  }

  // Identity could not be had (the token provider failed): wait, then try again.
  backoff(): void {
    if (this.size) this.#backoff();
  }

  #later(ms: number): void {
    this.#wait ??= setTimeout(() => {
      this.#wait = undefined;
      this.pump();
    }, ms);
  }

  #stopWaiting(): void {
    clearTimeout(this.#wait);
    this.#wait = undefined;
  }

  #fail(s: PendingSend, error: ChatError): void {
    s.refused(new ChatError(error.code, error.message, { status: error.status, clientId: s.id, cause: error }), 'failed');
    this.#outbox?.persist();
    this.#host.changed();
  }
}

// What the server is sent for a message, over either path.
const wire = ({ message: { body, client_id, data, files } }: PendingSend): object => ({ body, client_id, data, attachments: files?.map((f) => f.id) });

// What the outbox keeps of a message: what is needed to send it again, same client_id.
const entryOf = ({ message: { client_id, body, created_at, data, files } }: PendingSend): OutboxEntry => ({ client_id: client_id!, body, created_at, data, files });
