import { createEmitter } from './emitter.js';
import { backoffDelay } from './backoff.js';
import { Connection, NO_ANSWER } from './connection.js';
import { ChatError, codeForFrame, isFinal, toChatError } from './errors.js';
import { OTHER_PERSON } from './http.js';
import { contiguousEnd, mergeBySeq } from './merge.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { personKey, samePerson, sideOf } from './person.js';
import { randomId } from './random.js';
import { PendingSend } from './sender.js';
import { claimsOf } from './token.js';
import type { ChatMessage, ConnectionStatus, RoomEvents, Side } from './types.js';
import type { ClientContext } from './client.js';
import type { ChatServerFrame, Me, Message, MessagesPage, ReadCursors, ReadResult, RoomDetail, RoomInfo, SentMessage } from './wire.js';
import { noop } from './noop.js';

const PAGE = 50;
const GAP_PAGE = 100;
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
const CLOSED = 'Room closed';

/** One user's hold on a room, from `ChatClient.openRoom()`. */
export interface RoomHandle {
  room: Room;
  /** As `connect()`: the first `ready` and the newest page of history, or a final refusal. */
  ready: Promise<void>;
  /** Ends this hold (once; later calls do nothing). The last hold closes the room unless `connect()` was called on it. */
  release(): void;
}

export class Room {
  readonly #emitter = createEmitter<RoomEvents>();
  readonly #stored: ChatMessage[] = [];
  // Written here and not stored yet, in the order written: pending ones (the outbox) and failed ones.
  #sends: PendingSend[] = [];
  #view: readonly ChatMessage[] = [];
  #conn: Connection | undefined;
  #me: Me | null = null;
  // Who writes here, for one's own pending messages: the token's claims, then `ready`'s `me`.
  // Every message in `#sends` is theirs, and `#outbox` is theirs (made once they are known).
  #author: Me | undefined;
  // The token last looked at, and whom its claims name (undefined for a token that is not a JWT).
  #token: string | undefined;
  #claims: Me | undefined;
  #cursors: ReadCursors = { user: 0, workshop: 0 };
  #info: RoomInfo | null = null;
  #older = false;
  #outbox: Outbox | undefined;
  readonly #ctx: ClientContext;
  #wsReady = false;
  #synced = false;
  #closed = false;
  #sync: Promise<void> = Promise.resolve();
  // Bumped when the socket goes down or the room closes: a history fetch for the old socket stops
  // retrying (the next `ready` starts its own).
  #epoch = 0;
  #wakeSync: () => void = noop;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #limitedAt = 0;
  // A message was refused while later ones may be in flight behind it (`#pump`).
  #fenced = false;
  #connecting: { promise: Promise<void>; resolve: () => void; reject: (e: ChatError) => void } | undefined;
  #holds = 0;
  #direct = false;

  /** @internal Rooms come from `ChatClient.room()` and `ChatClient.openRoom()`. */
  constructor(
    readonly requestId: string,
    ctx: ClientContext,
  ) {
    this.#ctx = ctx;
    this.#identify();
  }

  get messages(): readonly ChatMessage[] {
    return this.#view;
  }
  get status(): ConnectionStatus {
    return this.#conn?.status ?? (this.#closed ? 'closed' : 'idle');
  }
  /** Why the socket is not open: the last failure; undefined while open, before connecting, after close(). */
  get statusReason(): ChatError | undefined {
    return this.#conn?.reason;
  }
  get me(): Me | null {
    return this.#me;
  }
  get side(): Side | null {
    return this.#me && sideOf(this.#me.role);
  }
  get readCursors(): ReadCursors {
    return { ...this.#cursors };
  }
  /** The service request (status, title, names): read on every connect, then followed live; null before the first. */
  get info(): RoomInfo | null {
    return this.#info;
  }
  get hasOlder(): boolean {
    return this.#older;
  }
  get outboxSize(): number {
    return this.#sends.filter((s) => s.pending).length;
  }

  on<K extends keyof RoomEvents>(type: K, handler: (e: RoomEvents[K]) => void): () => void {
    this.#emitter.on(type, handler);
    return () => this.#emitter.off(type, handler);
  }
  off<K extends keyof RoomEvents>(type: K, handler: (e: RoomEvents[K]) => void): void {
    this.#emitter.off(type, handler);
  }

  connect(): Promise<void> {
    this.#direct = true;
    return this.#connect();
  }

  /** @internal Use `ChatClient.openRoom()`. */
  hold(): RoomHandle {
    this.#holds++;
    const ready = this.#connect();
    // A hold released before the room is ready rejects `ready` with `aborted`; that is no error.
    ready.catch(noop);
    let held = true;
    const release = (): void => {
      if (held && ((held = false), --this.#holds === 0) && !this.#direct) this.shutdown();
    };
    return { room: this, ready, release };
  }

  #connect(): Promise<void> {
    if (this.#connecting) return this.#connecting.promise;
    let resolve!: () => void, reject!: (e: ChatError) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.#connecting = { promise, resolve, reject };
    this.#closed = false;
    this.#ctx.rooms.set(this.requestId, this);
    this.#conn = new Connection({
      ...this.#ctx.connection,
      path: `/ws/service-chat/${encodeURIComponent(this.requestId)}/`,
      onFrame: (f: ChatServerFrame) => this.#frame(f),
      emit: this.#emitter.emit,
      onDown: () => this.#down(),
      onFatal: (e) => {
        this.#connecting = undefined;
        reject(e);
      },
    });
    this.#conn.start();
    return promise;
  }

  /** `data`: the host's structured content (a JSON object), stored and returned with the message as given. */
  send(text: string, data?: Record<string, unknown>): Promise<ChatMessage> {
    // Written by whom the token in use names now, even if an open socket was opened for someone else.
    this.#check();
    return this.#enqueue(
      new PendingSend(this.#pendingMessage({ client_id: randomId(), body: text.trim(), created_at: new Date().toISOString(), ...(data && { data }) })),
    );
  }

  retry(message: ChatMessage | string): Promise<ChatMessage> {
    const clientId = typeof message === 'string' ? message : message.client_id;
    const s = this.#find(clientId);
    // A pending one (maybe restored from storage, with no promise yet) is still queued.
    if (s?.pending) return s.promise;
    const sent = this.#stored.find((m) => m.client_id === clientId && this.#isMine(m));
    if (sent) return Promise.resolve(sent);
    if (!s) return Promise.reject(new ChatError('invalid', `Nothing to retry: ${clientId}`));
    // A failed one goes again, at the end of the queue, written anew (an expired one would expire again).
    this.#sends.splice(this.#sends.indexOf(s), 1);
    const { error, ...rest } = s.message;
    return this.#enqueue(new PendingSend({ ...rest, created_at: new Date().toISOString(), state: 'pending' }));
  }

  async loadOlder(limit = PAGE): Promise<ChatMessage[]> {
    const first = this.#stored[0]?.seq;
    if (!first) return [];
    const page = await this.#page(`before=${first}&limit=${limit}`);
    this.#older = page.has_more;
    return this.#insert(page.messages, false);
  }

  async markRead(seq?: number): Promise<void> {
    const target = seq ?? this.#stored[this.#stored.length - 1]?.seq;
    const side = this.side;
    if (!target || (side && target <= this.#cursors[side])) return;
    if (this.#wsReady && this.#conn?.send({ type: 'read', last_read_seq: target })) return;
    const result = await this.#ctx.http.request<ReadResult>('POST', `${this.#path()}read/`, { last_read_seq: target });
    this.#applyCursors(result.read_cursors);
  }

  setTyping(isTyping: boolean): void {
    if (this.#wsReady) this.#conn?.send({ type: 'typing', is_typing: isTyping });
  }

  isReadByOtherSide(message: ChatMessage): boolean {
    const side = sideOf(message.sender.role);
    return message.seq !== null && this.#cursors[side === 'user' ? 'workshop' : 'user'] >= message.seq;
  }

  unread(): number {
    const me = this.#me;
    if (!me) return 0;
    // The other side's messages, and the system's, which are unread for both sides.
    return this.#stored.filter((m) => m.sender.role !== me.role && m.seq! > this.#cursors[sideOf(me.role)]).length;
  }

  // Ends the caller's own use (from connect()). While `openRoom()` holds remain, the socket stays
  // for them, and the last release closes it.
  close(): void {
    this.#direct = false;
    if (!this.#holds) this.shutdown();
  }

  /** @internal Closes it whoever uses it (`ChatClient.close()`, the last release); `wipe` (a sign-out) forgets the person. */
  shutdown(wipe?: boolean): void {
    this.#closed = true;
    this.#conn?.close();
    this.#conn = undefined;
    this.#connecting?.reject(new ChatError('aborted', CLOSED));
    this.#connecting = undefined;
    this.#down();
    this.#stopWaiting();
    // Their promises reject; the messages stay queued, with fresh promises for a retry() after a reconnect.
    this.#sends = this.#sends.map((s) => (s.pending ? (s.refused(new ChatError('aborted', CLOSED, { clientId: s.id })), new PendingSend(s.message)) : s));
    // Released: `ChatClient.room()` makes a fresh Room, which finds the unsent messages in the outbox.
    if (this.#ctx.rooms.get(this.requestId) === this) this.#ctx.rooms.delete(this.requestId);
    if (wipe) this.#forget([]);
  }

  readonly #report = (e: unknown): void => {
    this.#emitter.emit('error', toChatError(e));
  };

  #path(): string {
    return `/api/service-requests/${encodeURIComponent(this.requestId)}/messages/`;
  }

  #page(query: string): Promise<MessagesPage> {
    return this.#ctx.http.request<MessagesPage>('GET', `${this.#path()}?${query}`).then((p) => {
      this.#applyCursors(p.read_cursors);
      return p;
    });
  }

  // Who this is, from the token's claims as soon as a token is at hand (at once for a string token).
  // A provider that fails is asked again with backoff while messages wait for it.
  #identify(): void {
    const tokens = this.#ctx.connection.tokens;
    if (tokens.current) this.#check();
    else tokens.get().then(() => this.#check(), () => this.outboxSize && this.#backoff());
  }

  // The token in use may have been refreshed since the last look (a 401 on some request), and name
  // someone else: the room is theirs from now on. Read again only when the token changed.
  #check(): void {
    const { current } = this.#ctx.connection.tokens;
    if (current !== this.#token) this.#claims = claimsOf((this.#token = current) ?? '');
    if (this.#claims) this.#known(this.#claims);
  }

  // The principal is known (claims or `ready`): own pending messages show it, and the outbox opens
  // under its key, merging what an earlier page of this principal left. When it is another person
  // than before (the token provider answers for someone else now), what the previous one wrote stays
  // theirs: never relabelled nor sent, kept in their outbox for when they sign in again.
  #known(me: Me): void {
    const was = this.#author;
    if (was && samePerson(was, me)) return;
    // A socket opened with the previous person's token must not carry the new one's messages.
    const stale = was && this.#wsReady;
    if (was) this.#forget(this.#entries());
    // Written before anyone was known (a provider slow to answer): by whoever is known first.
    this.#author = this.#ctx.me = me;
    for (const s of this.#sends) s.message = { ...s.message, sender: me };
    const ctx = this.#ctx;
    const key = personKey(ctx.connection.base, me) + this.requestId;
    ctx.keys.add(key);
    const outbox = (this.#outbox = new Outbox(ctx.outboxStorage, () => this.#entries(), this.#report));
    outbox.open(key).then((saved) => {
      if (outbox !== this.#outbox) return;
      const restored = saved.filter((e) => !this.#find(e.client_id)).map((e) => new PendingSend(this.#pendingMessage(e)));
      this.#sends.unshift(...restored);
      outbox.persist();
      if (restored.length) this.#changed();
      this.#pump();
    });
    this.#changed();
    if (stale) this.#conn?.drop(new ChatError('unauthorized', OTHER_PERSON));
  }

  // The person this room was for is gone (another one signed in, or they signed out): their outbox
  // keeps `kept`, and nothing of theirs stays in the room, neither their messages nor the history they saw.
  #forget(kept: OutboxEntry[]): void {
    this.#outbox?.keep(kept);
    for (const s of this.#sends) s.refused(new ChatError('aborted', OTHER_PERSON, { clientId: s.id }));
    this.#sends = [];
    this.#stored.length = 0;
    this.#synced = this.#older = false;
    this.#cursors = { user: 0, workshop: 0 };
    this.#me = this.#info = null;
    this.#outbox = this.#author = undefined;
    this.#changed();
  }

  #entries(): OutboxEntry[] {
    return this.#sends.filter((s) => s.pending).map(({ message: { client_id, body, created_at, data } }) => ({ client_id: client_id!, body, created_at, data }));
  }

  #find(clientId: string | null | undefined): PendingSend | undefined {
    return this.#sends.find((s) => s.id === clientId);
  }

  #pendingMessage(e: OutboxEntry): ChatMessage {
    return { id: null, request_id: this.requestId, seq: null, sender: this.#author ?? { id: '', role: 'user', name: null }, ...e, state: 'pending' };
  }

  #enqueue(s: PendingSend): Promise<ChatMessage> {
    this.#sends.push(s);
    this.#outbox?.persist();
    this.#changed();
    this.#pump();
    return s.promise;
  }

  // Sends what the outbox holds, oldest first. Over the socket while it is ready (several in flight);
  // otherwise one REST POST at a time, so the server stores them in the order they were written.
  #pump(): void {
    if (this.#closed) return;
    this.#check();
    // Until the principal is known the outbox cannot be keyed, nor what an earlier page left be sent first.
    if (!this.#outbox?.ready) return this.#identify();
    // The server refuses what was written behind a refused message too (docs/protocol.md): nothing
    // goes until all of it is answered, and then the refused one goes first, so order holds.
    if (this.#fenced && this.#sends.some((s) => s.phase === 'ws')) return;
    this.#fenced = false;
    const window = Date.now() - this.#limitedAt < QUIET_MS ? 1 : WINDOW;
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
      if (Date.parse(s.message.created_at) < Date.now() - this.#ctx.outboxMaxAgeMs) {
        this.#fail(s, new ChatError('expired', 'Not sent in time'));
        continue;
      }
      // Backing off after a refusal or a failed POST; the next `ready` ends the wait.
      if (this.#retryTimer) return;
      if (this.#wsReady) {
        if (inFlight >= window) return;
        if (this.#conn?.send({ type: 'message', body: s.message.body, client_id: s.id, data: s.message.data })) {
          inFlight++;
          s.onSocket(this.#ctx.ackTimeoutMs, () => this.#conn?.drop(new ChatError('timeout', NO_ANSWER, { clientId: s.id })));
          continue;
        }
      }
      this.#post(s);
      return;
    }
  }

  #post(s: PendingSend): void {
    s.phase = 'http';
    this.#ctx.http.request<SentMessage>('POST', this.#path(), { body: s.message.body, client_id: s.id, data: s.message.data }, this.#author).then(
      (r) => {
        s.phase = undefined;
        this.#insert([r.message], true);
        this.#pump();
      },
      (e: ChatError) => {
        s.phase = undefined;
        if (this.#closed) return;
        // The token names someone else now: the room becomes theirs, and this message stays its writer's.
        if (e.code === 'aborted') this.#identify();
        if (!isFinal(e)) return this.#backoff();
        this.#fail(s, e);
        this.#pump();
      },
    );
  }

  // Offline, the token provider failing, or the server struggling: the queue waits, unless the socket comes back first.
  #backoff(): void {
    this.#later(backoffDelay(this.#failures++, this.#ctx.connection.reconnect));
  }

  #later(ms: number): void {
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
    }, ms);
  }

  #stopWaiting(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #fail(s: PendingSend, error: ChatError): void {
    s.refused(new ChatError(error.code, error.message, { status: error.status, clientId: s.id, cause: error }), 'failed');
    this.#outbox?.persist();
    this.#changed();
  }

  // The socket is gone: what was sent on it without an ack goes again, by REST, same client_id.
  #down(): void {
    this.#wsReady = false;
    this.#epoch++;
    this.#wakeSync();
    for (const s of this.#sends) if (s.phase === 'ws') s.requeue();
    this.#pump();
  }

  #frame(f: ChatServerFrame): void {
    switch (f.type) {
      case 'ready': {
        this.#known(f.me);
        this.#me = f.me;
        this.#applyCursors(f.read_cursors);
        this.#wsReady = true;
        this.#limitedAt = 0;
        this.#stopWaiting();
        this.#pump();
        const epoch = this.#epoch;
        this.#sync = this.#sync.then(() => this.#resync(f.last_seq, epoch));
        break;
      }
      case 'message':
        this.#insert([f.message], true);
        this.#pump();
        break;
      case 'read':
        this.#applyCursors(f.read_cursors);
        break;
      case 'typing':
        this.#emitter.emit('typing', { user: f.user, is_typing: f.is_typing });
        break;
      case 'room':
        this.#setInfo(f.room);
        break;
      case 'message_redacted': {
        const i = this.#stored.findIndex((m) => m.seq === f.seq);
        const held = this.#stored[i];
        if (!held) break;
        // As the server now holds it (contract 1.2): no body, no data, no name.
        const { data, ...kept } = held;
        const message = (this.#stored[i] = { ...kept, body: '', sender: { ...held.sender, name: null }, redacted: true });
        this.#changed();
        this.#emitter.emit('redacted', { message });
        break;
      }
      case 'error': {
        const s = this.#find(f.client_id);
        const e = new ChatError(codeForFrame(f.code), f.message, { clientId: f.client_id });
        if (!s?.pending) return this.#report(e);
        if (isFinal(e)) return this.#fail(s, e);
        // Not stored (rate limited, or the server could not right now): it goes again, same client_id.
        s.requeue();
        this.#fenced = true;
        if (e.code !== 'rate_limited') return this.#backoff();
        this.#limitedAt = Date.now();
        this.#later(RATE_PAUSE_MS);
        break;
      }
    }
  }

  // After every (re)connect: the first time the newest page, later everything after the last
  // seq held without a hole, page by page, so the list has no gaps whatever happened meanwhile.
  // A fetch that fails for a passing reason (a 429, a 502 from a proxy) is tried again with
  // backoff while this socket lasts; a final refusal stops the room.
  async #resync(lastSeq: number, epoch: number): Promise<void> {
    for (let attempt = 0; epoch === this.#epoch; ) {
      try {
        if (!this.#synced) {
          const page = await this.#page(`limit=${PAGE}`);
          this.#older = page.has_more;
          this.#insert(page.messages, false);
          this.#synced = true;
        }
        const from = contiguousEnd(this.#stored);
        let after = from;
        let fetched = 0;
        while (lastSeq > after) {
          const page = await this.#page(`after=${after}&limit=${GAP_PAGE}`);
          fetched += this.#insert(page.messages, true).length;
          after = page.messages[page.messages.length - 1]?.seq ?? lastSeq;
          if (!page.has_more) break;
        }
        if (after > from) this.#emitter.emit('resync', { after: from, fetched });
        // The room may have changed while no socket told (closed, renamed). After the history, which
        // shows first; a `room` frame that comes while this is asked is newer than the answer.
        const held = this.#info;
        const { read_cursors, last_seq, ...info } = await this.#ctx.http.request<RoomDetail>('GET', `/api/service-requests/${encodeURIComponent(this.requestId)}/`);
        if (held === this.#info) this.#setInfo(info);
        // Resolved here, not after the first page: a connect() after close() waits for the gap too.
        this.#connecting?.resolve();
        return;
      } catch (err) {
        if (epoch !== this.#epoch) return;
        const e = toChatError(err);
        if (isFinal(e)) return this.#conn?.fail(e);
        this.#report(e);
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, backoffDelay(attempt++, this.#ctx.connection.reconnect));
          this.#wakeSync = () => (clearTimeout(timer), wake());
        });
      }
    }
  }

  // Merges stored messages by seq. An own pending message whose stored copy arrives is acked here,
  // whichever path brought it (broadcast, REST answer, gap fetch).
  // Duplicates count too: a message re-sent after a reload may come back as one already held.
  #insert(messages: readonly Message[], live: boolean): ChatMessage[] {
    const incoming = messages.map((m): ChatMessage => ({ ...m, state: 'sent' }));
    const added = mergeBySeq(this.#stored, incoming);
    let acked = false;
    for (const m of incoming) {
      const s = m.client_id !== null && this.#isMine(m, true) ? this.#find(m.client_id) : undefined;
      if (!s) continue;
      this.#sends.splice(this.#sends.indexOf(s), 1);
      s.stored(m);
      acked = true;
    }
    if (acked) {
      this.#failures = 0;
      this.#outbox?.persist();
    }
    if (added.length || acked) this.#changed();
    if (live) for (const m of added) this.#emitter.emit('message', { message: m, own: this.#isMine(m) });
    return added;
  }

  // A sender is its role and its id (samePerson): a system message is never one's own.
  // `unknown` answers for a room that does not know yet who it is.
  #isMine(m: ChatMessage, unknown = false): boolean {
    const me = this.#me ?? this.#author;
    return me ? samePerson(m.sender, me) : unknown;
  }

  #setInfo(info: RoomInfo): void {
    this.#info = info;
    this.#emitter.emit('room', info);
  }

  #applyCursors(c: ReadCursors): void {
    for (const side of ['user', 'workshop'] as const) {
      if (c[side] <= this.#cursors[side]) continue;
      this.#cursors = { ...this.#cursors, [side]: c[side] };
      this.#emitter.emit('read', { side, last_read_seq: c[side], read_cursors: { ...this.#cursors } });
    }
  }

  #changed(): void {
    this.#view = [...this.#stored, ...this.#sends.map((s) => s.message)];
    this.#emitter.emit('change', { messages: this.#view });
  }
}
