import { createEmitter } from './emitter.js';
import { Connection } from './connection.js';
import { ChatError, codeForFrame, toChatError } from './errors.js';
import { checkFiles, fileName } from './files.js';
import { HistorySync } from './history-sync.js';
import { OTHER_PERSON } from './http.js';
import { mergeBySeq } from './merge.js';
import type { OutboxEntry } from './outbox.js';
import { personKey, samePerson, sideOf } from './person.js';
import { randomId } from './random.js';
import { SendQueue } from './send-queue.js';
import { claimsOf } from './token.js';
import type { ChatMessage, ConnectionStatus, RoomEvents, Side } from './types.js';
import type { ClientContext } from './client.js';
import type { ChatServerFrame, Me, Message, MessagesPage, ReadCursors, ReadResult, RoomDetail, RoomInfo, SentMessage, UploadedAttachment } from './wire.js';
import { noop } from './noop.js';

const CLOSED = 'Room closed';

/**
 * Where a room is, one value, changed only by `#to()`:
 *
 *   idle --connect()--> joining --ready--> live --socket lost--> down --ready--> live
 *   any --shutdown()--> closed --connect()--> joining
 *
 * Sends go by REST in every state but `live` and `closed` (nothing is sent once closed: the messages
 * wait in the outbox for a reconnect or the next Room of that id).
 */
type RoomState = 'idle' | 'joining' | 'live' | 'down' | 'closed';

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
  #view: readonly ChatMessage[] = [];
  #state: RoomState = 'idle';
  #conn: Connection | undefined;
  #me: Me | null = null;
  // Who writes here, for one's own pending messages: the token's claims, then `ready`'s `me`.
  // Every message in the queue is theirs, and so is its outbox (opened once they are known).
  #author: Me | undefined;
  // The token last looked at, and whom its claims name (undefined for a token that is not a JWT).
  #token: string | undefined;
  #claims: Me | undefined;
  #cursors: ReadCursors = { user: 0, workshop: 0 };
  #info: RoomInfo | null = null;
  readonly #ctx: ClientContext;
  readonly #queue: SendQueue;
  readonly #history: HistorySync;
  // `connect()`'s promise while it is not settled: the first `ready` and its history, or a final refusal.
  #joining: { promise: Promise<void>; resolve: () => void; reject: (e: ChatError) => void } | undefined;
  #holds = 0;
  #direct = false;

  /** @internal Rooms come from `ChatClient.room()` and `ChatClient.openRoom()`. */
  constructor(
    readonly requestId: string,
    ctx: ClientContext,
  ) {
    this.#ctx = ctx;
    const reconnect = ctx.connection.reconnect;
    this.#queue = new SendQueue({
      ctx,
      closed: () => this.#state === 'closed',
      frame: (f) => this.#state === 'live' && !!this.#conn?.send(f),
      post: (wire, author) => ctx.http.request<SentMessage>('POST', this.#path(), wire, author).then((r) => this.#insert([r.message], true)),
      upload: ({ name, client_id, blob }, author, progress) =>
        ctx.http
          .request<UploadedAttachment>('POST', `/api/service-requests/${encodeURIComponent(requestId)}/attachments/?name=${encodeURIComponent(name)}&client_id=${client_id}`, blob, author, progress)
          .then((r) => r.attachment.id),
      emit: this.#emitter.emit,
      drop: (e) => this.#conn?.drop(e),
      identify: () => this.#identify(),
      changed: () => this.#changed(),
      report: this.#report,
      message: (e) => ({ id: null, request_id: requestId, seq: null, sender: this.#author ?? { id: '', role: 'user', name: null }, ...e, state: 'pending' }),
    });
    this.#history = new HistorySync({
      reconnect,
      page: (query) => this.#page(query),
      held: () => this.#stored,
      insert: (messages, live) => this.#insert(messages, live),
      emit: this.#emitter.emit,
      // Resolved here, not after the first page: a connect() after close() waits for the gap too.
      synced: () => this.#joining?.resolve(),
      fail: (e) => this.#conn?.fail(e),
    });
    this.#identify();
  }

  get messages(): readonly ChatMessage[] {
    return this.#view;
  }
  get status(): ConnectionStatus {
    return this.#conn?.status ?? (this.#state === 'closed' ? 'closed' : 'idle');
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
    return this.#history.hasOlder;
  }
  get outboxSize(): number {
    return this.#queue.size;
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
    if (this.#joining) return this.#joining.promise;
    let resolve!: () => void, reject!: (e: ChatError) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.#joining = { promise, resolve, reject };
    this.#to('joining');
    this.#ctx.rooms.set(this.requestId, this);
    this.#conn = new Connection({
      ...this.#ctx.connection,
      path: `/ws/service-chat/${encodeURIComponent(this.requestId)}/`,
      query: () => this.#history.query(),
      onFrame: (f: ChatServerFrame) => this.#frame(f),
      emit: this.#emitter.emit,
      onDown: () => this.#down(),
      onFatal: (e) => {
        this.#joining = undefined;
        reject(e);
      },
    });
    this.#conn.start();
    return promise;
  }

  /**
   * `data`: the host's structured content (a JSON object), stored and returned with the message as given.
   * `files` (at most 10 JPEG, PNG, WebP, HEIC or PDF, each within `maxFileBytes`) are uploaded first,
   * in order, with `progress` events; the message waits in the outbox until they are, `body` may be "".
   * A file the server would refuse is refused here at once (`invalid` or `too_large`, naming it).
   */
  send(message: string | { body?: string; files?: readonly Blob[]; data?: Record<string, unknown> }, data?: Record<string, unknown>): Promise<ChatMessage> {
    // Written by whom the token in use names now, even if an open socket was opened for someone else.
    this.#check();
    const { body = '', files = [], data: content = data } = typeof message == 'string' ? { body: message } : message;
    try {
      checkFiles(files, this.#ctx.maxFileBytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#queue.add({
      client_id: randomId(),
      body: body.trim(),
      created_at: new Date().toISOString(),
      data: content,
      files: files[0] && files.map((blob) => ({ client_id: randomId(), name: fileName(blob), size: blob.size, blob })),
    });
  }

  retry(message: ChatMessage | string): Promise<ChatMessage> {
    const clientId = typeof message === 'string' ? message : message.client_id;
    const s = this.#queue.find(clientId);
    // A pending one (maybe restored from storage, with no promise yet) is still queued.
    if (s?.pending) return s.promise;
    const sent = this.#stored.find((m) => m.client_id === clientId && this.#isMine(m));
    if (sent) return Promise.resolve(sent);
    if (!s) return Promise.reject(new ChatError('invalid', `Nothing to retry: ${clientId}`));
    return this.#queue.resend(s);
  }

  loadOlder(limit?: number): Promise<ChatMessage[]> {
    return this.#history.older(limit);
  }

  async markRead(seq?: number): Promise<void> {
    const target = seq ?? this.#stored[this.#stored.length - 1]?.seq;
    const side = this.side;
    if (!target || (side && target <= this.#cursors[side])) return;
    if (this.#state === 'live' && this.#conn?.send({ type: 'read', last_read_seq: target })) return;
    const result = await this.#ctx.http.request<ReadResult>('POST', `${this.#path()}read/`, { last_read_seq: target });
    this.#applyCursors(result.read_cursors);
  }

  setTyping(isTyping: boolean): void {
    if (this.#state === 'live') this.#conn?.send({ type: 'typing', is_typing: isTyping });
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
    this.#to('closed');
    this.#conn?.close();
    this.#conn = undefined;
    this.#joining?.reject(new ChatError('aborted', CLOSED));
    this.#joining = undefined;
    this.#down();
    this.#queue.close(CLOSED);
    // Released: `ChatClient.room()` makes a fresh Room, which finds the unsent messages in the outbox.
    if (this.#ctx.rooms.get(this.requestId) === this) this.#ctx.rooms.delete(this.requestId);
    if (wipe) this.#forget([]);
  }

  readonly #report = (e: unknown): void => {
    this.#emitter.emit('error', toChatError(e));
  };

  // The one place the state changes.
  #to(state: RoomState): void {
    this.#state = state;
  }

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
    else tokens.get().then(() => this.#check(), () => this.#queue.backoff());
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
    const stale = was && this.#state === 'live';
    if (was) this.#forget(this.#queue.entries());
    // Written before anyone was known (a provider slow to answer): by whoever is known first.
    const ctx = this.#ctx;
    this.#author = ctx.me = me;
    const key = personKey(ctx.connection.base, me) + this.requestId;
    ctx.keys.add(key);
    this.#queue.open(me, key);
    this.#changed();
    if (stale) this.#conn?.drop(new ChatError('unauthorized', OTHER_PERSON));
  }

  // The person this room was for is gone (another one signed in, or they signed out): their outbox
  // keeps `kept`, and nothing of theirs stays in the room, neither their messages nor the history they saw.
  #forget(kept: OutboxEntry[]): void {
    this.#queue.forget(kept, OTHER_PERSON);
    this.#stored.length = 0;
    this.#history.reset();
    this.#cursors = { user: 0, workshop: 0 };
    this.#me = this.#info = null;
    this.#author = undefined;
    this.#changed();
  }

  // The socket is gone (or the room closed): the history sync for it stops, and what was sent on it
  // without an ack goes again, by REST, same client_id.
  #down(): void {
    if (this.#state === 'live') this.#to('down');
    this.#history.down();
    this.#queue.down();
  }

  #frame(f: ChatServerFrame): void {
    switch (f.type) {
      case 'ready':
        this.#known(f.me);
        this.#me = f.me;
        this.#applyCursors(f.read_cursors);
        this.#to('live');
        if (f.room) this.#setInfo(f.room);
        this.#queue.ready();
        void this.#history.resume(f);
        break;
      case 'message':
        this.#insert([f.message], true);
        this.#queue.pump();
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
      case 'error':
        if (!this.#queue.refused(f)) this.#report(new ChatError(codeForFrame(f.code), f.message, { clientId: f.client_id }));
        break;
    }
  }

  // Merges stored messages by seq. An own pending message whose stored copy arrives is acked here,
  // whichever path brought it (broadcast, REST answer, gap fetch).
  // Duplicates count too: a message re-sent after a reload may come back as one already held.
  #insert(messages: readonly Message[], live: boolean): ChatMessage[] {
    const incoming = messages.map((m): ChatMessage => ({ ...m, state: 'sent' }));
    const added = mergeBySeq(this.#stored, incoming);
    const acked = this.#queue.stored(incoming.filter((m) => m.client_id !== null && this.#isMine(m, true)));
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

  // From a `room` frame, or the room's detail (without its cursors and last seq, which the room follows otherwise).
  #setInfo({ read_cursors, last_seq, ...info }: RoomInfo & Partial<RoomDetail>): void {
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
    this.#view = [...this.#stored, ...this.#queue.messages];
    this.#emitter.emit('change', { messages: this.#view });
  }
}
