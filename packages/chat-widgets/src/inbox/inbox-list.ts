import type { ReactiveControllerHost } from 'lit';
import type { ChatClient, ChatError, Message, NotificationFrame, Notifications, RoomInfo, RoomSummary } from '@motoreach/chat-client';

/** What the inbox asks the server for: `q` (title or the other side's name) and only rooms with unread. */
export interface InboxFilter {
  q: string;
  unread: boolean;
}

/** The server's largest page (contract v1.1). */
const MAX_PAGE = 100;

/**
 * The rows of an inbox: pages of the caller's rooms (most recent activity first), kept live from
 * the notifications socket. A message of the other side moves its room to the top with its new
 * count; an unread snapshot (sent after every read and every reassignment, and on each connect)
 * sets the counts and then re-reads the loaded rows from the server, which is how a room that
 * left (reassigned to another workshop) goes and one that arrived comes: the server tells the
 * workshop that lost a room nothing else.
 */
export class InboxList {
  rows: RoomSummary[] = [];
  next: string | null = null;
  /** The first page for this client and filter has not arrived yet. */
  loading = false;
  loadingMore = false;
  /** Why the first page could not be loaded; null once one arrived. */
  failure: ChatError | null = null;

  private client: ChatClient | null = null;
  private notifications: Notifications | null = null;
  private unsubscribe: Array<() => void> = [];
  private filter: InboxFilter = { q: '', unread: false };
  // Answers to an older question (another client or filter) are dropped when they arrive.
  private generation = 0;
  // Reads of one question run one after another: a re-read and the next page must not interleave
  // (a re-read started before a page arrived would drop that page; a page asked after it would skip rows).
  private queue: Promise<void> = Promise.resolve();
  private reloadQueued = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly pageSize: () => number,
    private readonly onError: (error: ChatError) => void,
  ) {}

  /** Shows this client's rooms through this filter: from the first page again when either changed. */
  use(client: ChatClient | null, filter: InboxFilter): void {
    const notifications = client?.notifications() ?? null;
    if (client === this.client && notifications === this.notifications && filter.q === this.filter.q && filter.unread === this.filter.unread) return;
    if (notifications !== this.notifications) this.subscribe(notifications);
    if (client !== this.client) this.rows = [];
    this.client = client;
    this.filter = filter;
    this.generation++;
    this.queue = Promise.resolve();
    this.reloadQueued = false;
    this.next = null;
    this.failure = null;
    this.loading = !!client;
    this.loadingMore = false;
    if (!client) this.rows = [];
    this.host.requestUpdate();
    if (client) void this.reload();
  }

  /** Forgets the client (the element left the page, or its person was signed out). */
  release(): void {
    this.use(null, this.filter);
  }

  /** The first page again (after a failure), or the rows already loaded, fresh. */
  reload(): Promise<void> {
    if (!this.client) return Promise.resolve();
    // One re-read waiting is enough: it reads whatever is loaded when its turn comes.
    if (this.reloadQueued) return this.queue;
    this.reloadQueued = true;
    return this.enqueue(async (client, generation) => {
      this.reloadQueued = false;
      const limit = Math.min(MAX_PAGE, Math.max(this.pageSize(), this.rows.length));
      try {
        const page = await client.rooms({ limit, q: this.filter.q, unread: this.filter.unread });
        if (generation !== this.generation) return;
        this.rows = fresher(this.rows, page.service_requests);
        this.next = page.next_cursor;
        this.loading = false;
        this.failure = null;
      } catch (e) {
        if (generation !== this.generation) return;
        if (this.loading) {
          this.loading = false;
          this.failure = e as ChatError;
        }
        this.onError(e as ChatError);
      }
    });
  }

  /** The next page, appended. */
  loadMore(): Promise<void> {
    if (!this.client || !this.next || this.loadingMore || this.loading) return Promise.resolve();
    this.loadingMore = true;
    this.host.requestUpdate();
    return this.enqueue(async (client, generation) => {
      try {
        if (!this.next) return;
        const page = await client.rooms({ limit: this.pageSize(), cursor: this.next, q: this.filter.q, unread: this.filter.unread });
        if (generation !== this.generation) return;
        // A room that moved to the top meanwhile is already shown.
        const shown = new Set(this.rows.map((r) => r.id));
        this.rows = [...this.rows, ...page.service_requests.filter((r) => !shown.has(r.id))];
        this.next = page.next_cursor;
      } catch (e) {
        if (generation === this.generation) this.onError(e as ChatError);
      } finally {
        if (generation === this.generation) this.loadingMore = false;
      }
    });
  }

  private enqueue(read: (client: ChatClient, generation: number) => Promise<void>): Promise<void> {
    const client = this.client!;
    const generation = this.generation;
    return (this.queue = this.queue.then(async () => {
      if (generation !== this.generation) return;
      await read(client, generation);
      this.host.requestUpdate();
    }));
  }

  /**
   * A message in one of the rooms, now: its row goes to the top with it as the preview. `unread`:
   * the room's new count (the notification's), or unchanged for one's own message.
   */
  arrived(requestId: string, message: Message, unread?: number): void {
    const row = this.rows.find((r) => r.id === requestId);
    // A room not shown: new, or further down than the loaded pages, or out of the filter until now.
    if (!row) return void this.reload();
    // Known already (a re-read brought it before its notification did): only the count is news.
    if (row.last_message && row.last_message.seq >= message.seq) {
      if (unread === undefined || unread === row.unread) return;
      this.rows = this.rows.map((r) => (r === row ? { ...r, unread } : r));
    } else {
      const moved: RoomSummary = { ...row, last_message: message, last_seq: message.seq, unread: unread ?? row.unread };
      this.rows = [moved, ...this.rows.filter((r) => r !== row)];
    }
    this.host.requestUpdate();
  }

  private subscribe(next: Notifications | null): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.notifications = next;
    if (!next) return;
    this.unsubscribe.push(
      next.on('notification', (f) => this.onNotification(f)),
      next.on('unread', ({ rooms }) => this.onCounts(rooms)),
      next.on('room', (room) => this.onRoom(room)),
      next.on('error', (error) => this.onError(error)),
    );
  }

  private onNotification(f: NotificationFrame): void {
    this.arrived(f.request_id, { ...f.message, request_id: f.request_id, client_id: null }, f.unread.count);
  }

  private onCounts(rooms: Record<string, number>): void {
    if (this.rows.some((r) => r.unread !== (rooms[r.id] ?? 0))) {
      this.rows = this.rows.map((r) => (r.unread === (rooms[r.id] ?? 0) ? r : { ...r, unread: rooms[r.id] ?? 0 }));
      this.host.requestUpdate();
    }
    // The first page, on its way, is as fresh.
    if (!this.loading) void this.reload();
  }

  private onRoom(room: RoomInfo): void {
    const row = this.rows.find((r) => r.id === room.id);
    if (!row) return void this.reload();
    this.rows = this.rows.map((r) => (r === row ? { ...r, ...room } : r));
    this.host.requestUpdate();
  }
}

/**
 * The rows as a re-read found them, except those that moved while it was on its way (a message sent
 * from a chat on the page, or one that arrived): those stay as they are now, on top, not put back.
 */
function fresher(shown: RoomSummary[], read: RoomSummary[]): RoomSummary[] {
  const readSeq = new Map(read.map((r) => [r.id, r.last_seq]));
  const ahead = shown.filter((r) => r.last_seq > (readSeq.get(r.id) ?? Infinity));
  const moved = new Set(ahead.map((r) => r.id));
  return [...ahead, ...read.filter((r) => !moved.has(r.id))];
}
