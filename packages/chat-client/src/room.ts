import { createEmitter } from './emitter.js';
import { backoffDelay } from './backoff.js';
import { Connection } from './connection.js';
import { ChatError, isFinal, toChatError } from './errors.js';
import type { Http } from './http.js';
import { contiguousEnd, mergeBySeq } from './merge.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import type { ChatMessage, ConnectionStatus, RoomEvents, Side } from './types.js';
import type { ClientContext } from './client.js';
import type { ChatServerFrame, Me, Message, MessagesPage, ReadCursors, ReadResult, Role } from './wire.js';

const PAGE = 50;
const GAP_PAGE = 100;
// Unacked WebSocket sends allowed at once: keeps a burst from tripping the server's frame rate limit
// and bounds how much has to go to the REST fallback if the socket dies.
const WINDOW = 16;
// After a rate-limit refusal: one frame in flight at a time, and a pause long enough for the
// server's per-second budget to refill, so that refusals (which the server counts) stay few.
const RATE_PAUSE_MS = 1000;
const CLOSED = 'The room was closed';

interface Waiter {
  promise: Promise<ChatMessage>;
  resolve: (m: ChatMessage) => void;
  reject: (e: ChatError) => void;
}

const sideOf = (role: Role): Side => (role === 'user' ? 'user' : 'workshop');
const randomId = (): string =>
  'c_' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');

export class Room {
  readonly requestId: string;
  private readonly emitter = createEmitter<RoomEvents>();
  private readonly stored: ChatMessage[] = [];
  private readonly local: ChatMessage[] = [];
  private view: readonly ChatMessage[] = [];
  private conn: Connection | undefined;
  private _me: Me | null = null;
  private cursors: ReadCursors = { user: 0, workshop: 0 };
  private older = false;
  private readonly outbox: Outbox;
  private loaded = false;
  private wsReady = false;
  private synced = false;
  private closed = false;
  private sync: Promise<void> = Promise.resolve();
  private readonly phase = new Map<string, 'ws' | 'http'>();
  private readonly ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly waiters = new Map<string, Waiter>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private postFailures = 0;
  private window = WINDOW;
  private connecting: { promise: Promise<void>; resolve: () => void; reject: (e: ChatError) => void } | undefined;

  /** @internal Rooms come from `ChatClient.room()`. */
  constructor(
    requestId: string,
    private readonly ctx: ClientContext,
  ) {
    this.requestId = requestId;
    this.outbox = new Outbox(requestId, ctx.outboxStorage, this.report);
    this.outbox.load().then((restored) => {
      this.loaded = true;
      for (const e of restored) this.local.push(this.pendingMessage(e));
      if (restored.length) this.changed();
      this.pump();
    }, this.report);
  }

  get messages(): readonly ChatMessage[] {
    return this.view;
  }
  get status(): ConnectionStatus {
    return this.conn?.status ?? (this.closed ? 'closed' : 'idle');
  }
  get me(): Me | null {
    return this._me;
  }
  get side(): Side | null {
    return this._me && sideOf(this._me.role);
  }
  get readCursors(): ReadCursors {
    return { ...this.cursors };
  }
  get hasOlder(): boolean {
    return this.older;
  }
  get outboxSize(): number {
    return this.outbox.entries.length;
  }

  on<K extends keyof RoomEvents>(type: K, handler: (e: RoomEvents[K]) => void): () => void {
    this.emitter.on(type, handler);
    return () => this.emitter.off(type, handler);
  }
  off<K extends keyof RoomEvents>(type: K, handler: (e: RoomEvents[K]) => void): void {
    this.emitter.off(type, handler);
  }

  connect(): Promise<void> {
    if (this.connecting) return this.connecting.promise;
    let resolve!: () => void, reject!: (e: ChatError) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.connecting = { promise, resolve, reject };
    this.closed = false;
    const id = encodeURIComponent(this.requestId);
    this.conn = new Connection({
      ...this.ctx.connection,
      url: (token) => this.ctx.wsUrl(`/ws/service-chat/${id}/`, token),
      onFrame: (f: ChatServerFrame) => this.frame(f),
      onStatus: (status) => this.emitter.emit('status', { status }),
      onDown: () => this.down(),
      onFatal: (e) => {
        this.connecting = undefined;
        reject(e);
        this.emitter.emit('error', e);
      },
    });
    this.conn.start();
    return promise;
  }

  send(text: string): Promise<ChatMessage> {
    const entry: OutboxEntry = { client_id: randomId(), body: text.trim(), created_at: new Date().toISOString() };
    this.local.push(this.pendingMessage(entry));
    return this.enqueue(entry);
  }

  retry(message: ChatMessage | string): Promise<ChatMessage> {
    const clientId = typeof message === 'string' ? message : message.client_id;
    const waiting = clientId && this.waiters.get(clientId);
    if (waiting) return waiting.promise;
    const sent = this.stored.find((m) => m.client_id === clientId && this.isMine(m));
    if (sent) return Promise.resolve(sent);
    const local = this.local.find((m) => m.client_id === clientId);
    if (!local) return Promise.reject(new ChatError('invalid', `No message with client_id ${clientId} to retry`));
    // A pending one restored from storage is still queued: only a promise for it is missing.
    const queued = local.state === 'pending';
    local.state = 'pending';
    delete local.error;
    return this.enqueue({ client_id: local.client_id!, body: local.body, created_at: local.created_at }, !queued);
  }

  async loadOlder(limit = PAGE): Promise<ChatMessage[]> {
    const first = this.stored[0]?.seq;
    if (!first) return [];
    const page = await this.page(`before=${first}&limit=${limit}`);
    this.older = page.has_more;
    return this.insert(page.messages, false);
  }

  async markRead(seq?: number): Promise<void> {
    const target = seq ?? this.stored[this.stored.length - 1]?.seq;
    const side = this.side;
    if (!target || (side && target <= this.cursors[side])) return;
    if (this.wsReady && this.conn?.send({ type: 'read', last_read_seq: target })) return;
    const result = await this.ctx.http.request<ReadResult>('POST', `${this.path()}read/`, { last_read_seq: target });
    this.applyCursors(result.read_cursors);
  }

  setTyping(isTyping: boolean): void {
    if (this.wsReady) this.conn?.send({ type: 'typing', is_typing: isTyping });
  }

  isReadByOtherSide(message: ChatMessage): boolean {
    const side = sideOf(message.sender.role);
    return message.seq !== null && this.cursors[side === 'user' ? 'workshop' : 'user'] >= message.seq;
  }

  unread(): number {
    const side = this.side;
    if (!side) return 0;
    return this.stored.filter((m) => sideOf(m.sender.role) !== side && m.seq! > this.cursors[side]).length;
  }

  close(): void {
    this.closed = true;
    this.conn?.close();
    this.conn = undefined;
    this.connecting?.reject(new ChatError('closed', CLOSED));
    this.connecting = undefined;
    this.down();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const [id, w] of this.waiters) {
      this.waiters.delete(id);
      w.reject(new ChatError('closed', CLOSED, { clientId: id }));
    }
  }

  private readonly report = (e: unknown): void => {
    this.emitter.emit('error', toChatError(e));
  };

  private path(): string {
    return `/api/service-requests/${encodeURIComponent(this.requestId)}/messages/`;
  }

  private page(query: string): Promise<MessagesPage> {
    return this.ctx.http.request<MessagesPage>('GET', `${this.path()}?${query}`).then((p) => {
      this.applyCursors(p.read_cursors);
      return p;
    });
  }

  private pendingMessage(e: OutboxEntry): ChatMessage {
    return {
      id: null,
      request_id: this.requestId,
      seq: null,
      sender: this._me ?? { id: '', role: 'user', name: null },
      body: e.body,
      client_id: e.client_id,
      created_at: e.created_at,
      state: 'pending',
    };
  }

  private enqueue(entry: OutboxEntry, add = true): Promise<ChatMessage> {
    let resolve!: (m: ChatMessage) => void, reject!: (e: ChatError) => void;
    const promise = new Promise<ChatMessage>((res, rej) => ((resolve = res), (reject = rej)));
    this.waiters.set(entry.client_id, { promise, resolve, reject });
    if (add) this.outbox.add(entry);
    this.changed();
    this.pump();
    return promise;
  }

  // Sends what the outbox holds, oldest first. Over the socket while it is ready (several in flight);
  // otherwise one REST POST at a time, so the server stores them in the order they were written.
  private pump(): void {
    if (!this.loaded || this.closed) return;
    let inFlight = 0;
    for (const entry of this.outbox.entries) {
      const id = entry.client_id;
      const phase = this.phase.get(id);
      if (phase === 'http') return;
      if (phase === 'ws') {
        inFlight++;
        continue;
      }
      // Backing off after a refusal or a failed POST; the next `ready` ends the wait.
      if (this.retryTimer) return;
      if (this.wsReady) {
        if (inFlight >= this.window) return;
        if (this.conn?.send({ type: 'message', body: entry.body, client_id: id })) {
          inFlight++;
          this.phase.set(id, 'ws');
          this.ackTimers.set(id, setTimeout(() => this.conn?.drop(), this.ctx.ackTimeoutMs));
          continue;
        }
      }
      this.post(entry);
      return;
    }
  }

  private post(entry: OutboxEntry): void {
    const id = entry.client_id;
    this.phase.set(id, 'http');
    this.ctx.http.request<{ message: Message }>('POST', this.path(), { body: entry.body, client_id: id }).then(
      (r) => {
        this.postFailures = 0;
        this.phase.delete(id);
        this.insert([r.message], true);
        this.pump();
      },
      (e: ChatError) => {
        this.phase.delete(id);
        if (this.closed) return;
        if (isFinal(e) || e.code === 'unauthorized') {
          this.fail(id, e);
          this.pump();
        } else {
          // Offline or the server is struggling: wait, unless the socket comes back first.
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.pump();
          }, backoffDelay(this.postFailures++, this.ctx.connection.reconnect));
        }
      },
    );
  }

  private fail(clientId: string, error: ChatError): void {
    this.settle(clientId);
    const m = this.local.find((l) => l.client_id === clientId);
    const e = new ChatError(error.code, error.message, { status: error.status, clientId, cause: error });
    if (m) {
      m.state = 'failed';
      m.error = e;
      this.changed();
    }
    const w = this.waiters.get(clientId);
    this.waiters.delete(clientId);
    w?.reject(e);
  }

  // Forgets everything about sending `clientId`: it has been stored, or refused for good.
  private settle(clientId: string): void {
    clearTimeout(this.ackTimers.get(clientId));
    this.ackTimers.delete(clientId);
    this.phase.delete(clientId);
    this.outbox.remove(clientId);
  }

  // The socket is gone: what was sent on it without an ack goes again, by REST, same client_id.
  private down(): void {
    this.wsReady = false;
    for (const [id, phase] of this.phase) {
      if (phase !== 'ws') continue;
      clearTimeout(this.ackTimers.get(id));
      this.ackTimers.delete(id);
      this.phase.delete(id);
    }
    this.pump();
  }

  private frame(f: ChatServerFrame): void {
    switch (f.type) {
      case 'ready':
        this._me = f.me;
        for (const m of this.local) if (!m.sender.id) m.sender = f.me;
        this.applyCursors(f.read_cursors);
        this.wsReady = true;
        this.window = WINDOW;
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.pump();
        this.sync = this.sync.then(() => this.resync(f.last_seq)).catch(this.report);
        break;
      case 'message':
        this.insert([f.message], true);
        this.pump();
        break;
      case 'read':
        this.applyCursors(f.read_cursors);
        break;
      case 'typing':
        this.emitter.emit('typing', { user: f.user, is_typing: f.is_typing });
        break;
      case 'error':
        if (f.client_id && this.outbox.has(f.client_id)) {
          const e = new ChatError(f.code === 'invalid' ? 'invalid' : 'rate_limited', f.message, { clientId: f.client_id });
          if (e.code === 'invalid') return this.fail(f.client_id, e);
          // Rate limited: the frame was not stored; slow down and send it again (REST if need be).
          clearTimeout(this.ackTimers.get(f.client_id));
          this.ackTimers.delete(f.client_id);
          this.phase.delete(f.client_id);
          this.window = 1;
          this.retryTimer ??= setTimeout(() => {
            this.retryTimer = undefined;
            this.pump();
          }, RATE_PAUSE_MS);
        } else {
          this.report(new ChatError(f.code === 'rate_limited' ? 'rate_limited' : 'invalid', f.message));
        }
        break;
    }
  }

  // After every (re)connect: the first time the newest page, later everything after the last
  // seq held without a hole, page by page, so the list has no gaps whatever happened meanwhile.
  private async resync(lastSeq: number): Promise<void> {
    if (!this.synced) {
      const page = await this.page(`limit=${PAGE}`);
      this.older = page.has_more;
      this.insert(page.messages, false);
      this.synced = true;
    }
    const from = contiguousEnd(this.stored);
    let after = from;
    let fetched = 0;
    while (lastSeq > after) {
      const page = await this.page(`after=${after}&limit=${GAP_PAGE}`);
      fetched += this.insert(page.messages, true).length;
      after = page.messages[page.messages.length - 1]?.seq ?? lastSeq;
      if (!page.has_more) break;
    }
    if (after > from) this.emitter.emit('resync', { after: from, fetched });
    // Resolved here, not after the first page: a connect() after close() waits for the gap too.
    this.connecting?.resolve();
  }

  // Merges stored messages by seq. An own pending message whose stored copy arrives is acked here,
  // whichever path brought it (broadcast, REST answer, gap fetch).
  // Duplicates count too: a message re-sent after a reload may come back as one already held.
  private insert(messages: readonly Message[], live: boolean): ChatMessage[] {
    const incoming = messages.map((m): ChatMessage => ({ ...m, state: 'sent' }));
    const added = mergeBySeq(this.stored, incoming);
    let acked = false;
    for (const m of incoming) {
      if (m.client_id === null || (this._me && !this.isMine(m))) continue;
      const i = this.local.findIndex((l) => l.client_id === m.client_id);
      if (i < 0) continue;
      this.local.splice(i, 1);
      acked = true;
      this.settle(m.client_id!);
      const w = this.waiters.get(m.client_id!);
      this.waiters.delete(m.client_id!);
      w?.resolve(m);
    }
    if (added.length || acked) this.changed();
    if (live) for (const m of added) this.emitter.emit('message', { message: m, own: this.isMine(m) });
    return added;
  }

  // A sender is its side and its id: ids are opaque, so an owner and an admin may share one.
  private isMine(m: ChatMessage): boolean {
    return !!this._me && m.sender.id === this._me.id && sideOf(m.sender.role) === sideOf(this._me.role);
  }

  private applyCursors(c: ReadCursors): void {
    for (const side of ['user', 'workshop'] as const) {
      if (c[side] <= this.cursors[side]) continue;
      this.cursors = { ...this.cursors, [side]: c[side] };
      this.emitter.emit('read', { side, last_read_seq: c[side], read_cursors: { ...this.cursors } });
    }
  }

  private changed(): void {
    this.view = [...this.stored, ...this.local];
    this.emitter.emit('change', { messages: this.view });
  }
}
