import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ChatError, ChatMessage, ConnectionStatus, Room } from '@motoreach/chat-client';
import { personKey } from '../shared/person.js';

/** Rows added to (or dropped from) the rendered window at a time. */
const PAGE = 50;
/** Most rows kept in the DOM; beyond it the far end of the window is dropped. */
const MAX_WINDOW = 150;
/** Distance from an edge of the log, in px, at which more rows are revealed. */
const EDGE = 160;
/** Within this many px of the bottom the reader counts as "at the bottom". */
const STICK = 24;

/** Stays the same when a pending message is stored, so its row is kept rather than rebuilt. */
const ANCHOR = '.bubble,.system';

export const messageKey = (m: ChatMessage): string => (m.client_id ? `${personKey(m.sender)}/${m.client_id}` : (m.id ?? ''));

interface Anchor {
  key: string;
  offset: number;
}

/** What the host renders from the window. */
interface Shown {
  messages: readonly ChatMessage[];
  start: number;
  /** End of the rendered window; null: through the newest message. */
  end: number | null;
  newCount: number;
  atBottom: boolean;
  /** More than a screen above the newest message. */
  far: boolean;
  loadingOlder: boolean;
}

export interface MessageWindowHost extends ReactiveControllerHost {
  readonly renderRoot: HTMLElement | DocumentFragment;
}

export interface MessageWindowOptions {
  room: () => Room | null;
  status: () => ConnectionStatus;
  onError: (error: ChatError) => void;
}

/**
 * Which slice of a room's messages is in the DOM, and where the reader is in it: follows the newest
 * messages while the reader is at the bottom, keeps the reader's place while rows come and go above,
 * reveals (or loads) more at either edge, counts arrivals for the jump button, and marks read once the
 * newest row is on screen. The host renders `.log` with `onScroll`, rows carrying `.row`, and a
 * `.bubble` (a system message: a `.system`) with `data-key` set to `messageKey` in each row.
 */
export class MessageWindow implements ReactiveController {
  private shown: Shown = { messages: [], start: 0, end: null, newCount: 0, atBottom: true, far: false, loadingOlder: false };
  private stick = true;
  /** Go to the bottom on the next render whatever the scroll position (after a jump or an own send). */
  private pin = false;
  private anchor: Anchor | null = null;
  private markedSeq = 0;
  private lastRowVisible = false;
  private observedRow: Element | null = null;
  private observer: IntersectionObserver | null = null;
  private resizes: ResizeObserver | null = null;
  /** The log's height when last seen: a change not handled yet is the page's doing, not the reader's scrolling. */
  private height = 0;

  constructor(
    private readonly host: MessageWindowHost,
    private readonly options: MessageWindowOptions,
  ) {
    host.addController(this);
  }

  /** All of the room's messages, oldest first. */
  get messages(): readonly ChatMessage[] {
    return this.shown.messages;
  }

  /** Index in `messages` of the first rendered row. */
  get start(): number {
    return this.shown.start;
  }

  /** The rendered rows. */
  get rows(): readonly ChatMessage[] {
    return this.shown.messages.slice(this.shown.start, this.shown.end ?? this.shown.messages.length);
  }

  /** Messages from others that arrived while the reader was scrolled up. */
  get newCount(): number {
    return this.shown.newCount;
  }

  get loadingOlder(): boolean {
    return this.shown.loadingOlder;
  }

  /** Whether to offer a way back to the newest message. */
  get canJump(): boolean {
    return !this.shown.atBottom && (this.shown.newCount > 0 || this.shown.end !== null || this.shown.far);
  }

  hostConnected(): void {
    document.addEventListener('visibilitychange', this.onVisibility);
    // A phone's keyboard shrinks the visual viewport (and, with `interactive-widget`, the chat).
    globalThis.visualViewport?.addEventListener('resize', this.keepBottom);
  }

  hostDisconnected(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    globalThis.visualViewport?.removeEventListener('resize', this.keepBottom);
    this.resizes?.disconnect();
    this.resizes = null;
  }

  hostUpdate(): void {
    this.followResize();
    // Where the reader is now, not at the last scroll event: a scroll may still be on its way.
    if (!this.pin) this.stick = this.readerAtBottom();
    this.anchor = this.stick ? null : this.captureAnchor();
  }

  hostUpdated(): void {
    const log = this.log;
    if (!log) return;
    if (!this.resizes) {
      this.height = log.clientHeight;
      this.resizes = new ResizeObserver(this.keepBottom);
      this.resizes.observe(log);
    }
    if (this.stick) {
      log.scrollTop = log.scrollHeight;
      this.pin = false;
    } else if (this.anchor) this.restoreAnchor(this.anchor);
    this.anchor = null;
    this.observeLastRow();
    // History shorter than the viewport cannot be scrolled up, so reveal more without waiting for a scroll.
    if (log.scrollHeight <= log.clientHeight && this.messages.length > 0) this.revealOlder();
  }

  /** Empty, at the bottom, nothing marked read yet: for a newly opened room. */
  reset(): void {
    this.set('messages', []);
    this.set('start', 0);
    this.set('end', null);
    this.stick = true;
    this.set('atBottom', true);
    this.set('newCount', 0);
    this.set('far', false);
    this.markedSeq = 0;
  }

  /** For a closed room: its newest row no longer marks anything read. */
  stopObserving(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.observedRow = null;
  }

  /** Takes the room's messages after any change: new, stored, failed, or older ones put in front. */
  setMessages(next: readonly ChatMessage[]): void {
    const prev = this.messages;
    const prevFirst = prev[0];
    const nextFirst = next[0];
    if (prevFirst && nextFirst && messageKey(prevFirst) !== messageKey(nextFirst)) {
      // Older messages were put in front: keep the window on the same messages, except that freshly
      // loaded ones are revealed at once when the window already reached the oldest.
      const shift = next.findIndex((m) => messageKey(m) === messageKey(prevFirst));
      if (shift > 0) {
        const revealing = this.loadingOlder && this.start === 0;
        if (!revealing) this.set('start', this.start + shift);
        const end = (this.shown.end ?? prev.length) + shift;
        this.set('end', revealing && end - this.start > MAX_WINDOW ? this.start + MAX_WINDOW : this.shown.end === null ? null : end);
      }
    }
    this.set('messages', next);
    if (this.shown.end !== null && this.shown.end >= next.length) this.set('end', null);
    // At the bottom, the window follows the newest messages and forgets the oldest rows.
    if (this.shown.end === null && next.length - this.start > MAX_WINDOW && (this.pin || this.readerAtBottom())) this.set('start', next.length - PAGE);
    if (this.start > next.length) this.set('start', Math.max(0, next.length - PAGE));
    if (prev.length === 0 && next.length > 0) this.set('start', Math.max(0, next.length - PAGE));
  }

  /** Counts a message from someone else for the jump button, unless the reader is following the newest. */
  countArrival(): void {
    if (!this.pin && !this.readerAtBottom()) this.set('newCount', this.newCount + 1);
  }

  jumpToLatest = (): void => {
    this.set('start', Math.max(0, this.messages.length - PAGE));
    this.set('end', null);
    this.stick = true;
    this.pin = true;
    this.set('atBottom', true);
    this.set('newCount', 0);
    this.set('far', false);
    this.host.requestUpdate();
  };

  /**
   * The log got shorter or taller (a keyboard opened, the page resized it): a reader at the newest
   * message stays there. The scroll position does not change by itself, and no scroll event says so.
   */
  private keepBottom = (): void => {
    const log = this.log;
    if (!log) return;
    this.height = log.clientHeight;
    if (this.stick) log.scrollTop = log.scrollHeight;
  };

  // A frame dispatches scroll events before it runs ResizeObservers: a scroll event (or an update)
  // that comes between a resize and its observer must not take the resize for the reader scrolling up.
  private followResize(): void {
    const log = this.log;
    if (log && this.resizes && log.clientHeight !== this.height) this.keepBottom();
  }

  onScroll = (): void => {
    const log = this.log;
    if (!log) return;
    this.followResize();
    const fromBottom = log.scrollHeight - log.scrollTop - log.clientHeight;
    this.stick = this.shown.end === null && fromBottom <= STICK;
    this.set('atBottom', this.stick);
    this.set('far', fromBottom > log.clientHeight);
    if (this.stick) this.set('newCount', 0);
    if (log.scrollTop < EDGE) this.revealOlder();
    if (fromBottom < EDGE && this.shown.end !== null) this.revealNewer();
    this.maybeMarkRead();
  };

  /** Assigns what the host renders, asking for an update only on a change, as `@state` does. */
  private set<K extends keyof Shown>(key: K, value: Shown[K]): void {
    if (this.shown[key] === value) return;
    this.shown[key] = value;
    this.host.requestUpdate();
  }

  private get log(): HTMLElement | null {
    // No render root before the host first connects.
    return this.host.renderRoot?.querySelector<HTMLElement>('.log') ?? null;
  }

  private readerAtBottom(): boolean {
    const log = this.log;
    if (!log) return this.stick;
    return this.shown.end === null && log.scrollHeight - log.scrollTop - log.clientHeight <= STICK;
  }

  private revealOlder(): void {
    const room = this.options.room();
    if (!room || this.loadingOlder) return;
    if (this.start > 0) {
      this.set('start', Math.max(0, this.start - PAGE));
      const end = this.shown.end ?? this.messages.length;
      if (end - this.start > MAX_WINDOW) this.set('end', this.start + MAX_WINDOW);
      return;
    }
    if (!room.hasOlder || this.options.status() !== 'open') return;
    this.set('loadingOlder', true);
    room
      .loadOlder()
      .catch((error: ChatError) => this.options.onError(error))
      .finally(() => {
        if (this.options.room() === room) this.set('loadingOlder', false);
      });
  }

  private revealNewer(): void {
    if (this.shown.end === null) return;
    const end = this.shown.end + PAGE;
    this.set('end', end >= this.messages.length ? null : end);
    const last = this.shown.end ?? this.messages.length;
    if (last - this.start > MAX_WINDOW) this.set('start', last - MAX_WINDOW);
  }

  // The anchor is a bubble (or a system notice): day separators, sender names and group spacing above it change as older messages load.
  // Measured against the log's box rather than by offsetTop, which a positioned wrapper in the row would change.
  private captureAnchor(): Anchor | null {
    const log = this.log;
    if (!log) return null;
    const top = log.getBoundingClientRect().top;
    for (const msg of log.querySelectorAll<HTMLElement>(ANCHOR)) {
      const box = msg.getBoundingClientRect();
      if (box.bottom > top) return { key: msg.dataset['key'] ?? '', offset: box.top - top };
    }
    return null;
  }

  private restoreAnchor(anchor: Anchor): void {
    const log = this.log;
    const msg = log?.querySelector<HTMLElement>(`:is(${ANCHOR})[data-key="${CSS.escape(anchor.key)}"]`);
    if (log && msg) log.scrollTop += msg.getBoundingClientRect().top - log.getBoundingClientRect().top - anchor.offset;
  }

  private observeLastRow(): void {
    const row = this.shown.end === null ? (this.log?.querySelector('.row:last-of-type') ?? null) : null;
    if (row === this.observedRow) return;
    this.observer ??= new IntersectionObserver((entries) => {
      for (const e of entries) if (e.target === this.observedRow) this.lastRowVisible = e.isIntersecting;
      this.maybeMarkRead();
    });
    if (this.observedRow) this.observer.unobserve(this.observedRow);
    this.observedRow = row;
    this.lastRowVisible = false;
    if (row) this.observer.observe(row);
  }

  private onVisibility = (): void => this.maybeMarkRead();

  /** Marks read only when the newest message is on screen, the list is at its end, and the page is visible. */
  private maybeMarkRead(): void {
    const room = this.options.room();
    if (!room?.side || !room.me || !this.lastRowVisible || this.shown.end !== null || document.visibilityState !== 'visible') return;
    let newest = 0;
    for (let i = room.messages.length - 1; i >= 0; i--) {
      const m = room.messages[i];
      if (m && m.seq !== null && m.sender.role !== room.me.role) {
        newest = m.seq;
        break;
      }
    }
    if (newest <= room.readCursors[room.side] || newest <= this.markedSeq) return;
    this.markedSeq = newest;
    room.markRead(newest).catch((error: ChatError) => {
      this.markedSeq = 0;
      this.options.onError(error);
    });
  }
}
