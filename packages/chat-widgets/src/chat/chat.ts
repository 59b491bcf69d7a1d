import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { ChatClient, ChatError, ChatMessage, ConnectionStatus, Me, Room, RoomEvents, RoomHandle, Sender } from '@motoreach/chat-client';
import { ClientHolder } from '../shared/client.js';
import type { DataRenderer } from '../shared/data.js';
import { emit } from '../shared/events.js';
import { isFinal, isRoomRefusal, isSignedOut, isTransient } from '../shared/failure.js';
import { personKey, samePerson } from '../shared/person.js';
import { defaultChatStrings, type ChatStrings } from '../shared/strings.js';
import { srOnly } from '../shared/styles.js';
import { formatNumber, prepareTimeFormats } from '../shared/time.js';
import { chatStyles } from './chat.styles.js';
import { renderHeader, type HeaderConnection } from './chat-header.js';
import { Composer } from './composer.js';
import { AttachmentPicker, Previews } from './attachments.js';
import { attachmentStyles } from './attachments.styles.js';
import { ImageDialog } from './image-dialog.js';
import { ConnectionBanner } from './connection-banner.js';
import { renderRow, type RowContext } from './message-row.js';
import { MessageWindow, messageKey } from './message-window.js';

/** A remote typing indicator disappears if no refresh arrives within this time. */
const TYPING_EXPIRE_MS = 6000;

/**
 * The conversation of one service request: history, live messages, read state, typing, and a composer.
 *
 * @tag motoreach-chat
 * @slot header - Replaces the header's content (title, the other side's name, the connection state).
 * @slot empty - The host's text for a conversation without messages (default: "No messages yet. Say hello!").
 * @csspart base - The whole widget.
 * @csspart header - The bar above the messages (hide it with `display: none` if the page has its own).
 * @csspart avatar - An initials avatar: in the header, and beside the last message of each run of the other side's.
 * @csspart connection - The header's connection state (a dot and a word); `data-state` says which.
 * @csspart banner - The connection banner (connecting, reconnecting, can't reach the server, offline); `data-state` says which.
 * @csspart log - The scrolling message list (role="log").
 * @csspart day-separator - A day heading between messages.
 * @csspart unread-divider - The line above the first unread message.
 * @csspart skeleton - Placeholder rows while the first page of history loads (the log is `aria-busy` then).
 * @csspart empty - Around the `empty` slot, in a conversation without messages.
 * @csspart message - A message (also `message-own` or `message-other`).
 * @csspart sender - The sender's name above the first message of a group.
 * @csspart bubble - The message text.
 * @csspart system - A message from the host's backend (`sender.role` `system`): a notice across the log, text only.
 * @csspart data - What `renderData` gave for a message's `data`: under its bubble, or inside its system notice.
 * @csspart meta - Time and delivery ticks (one: sent, two: read), inside the bubble; below it when sending failed.
 * @csspart failure - Why a message was not sent, after "Not sent".
 * @csspart retry-button - Retry control of a failed message.
 * @csspart read-more - Unfolds a message of more than 600 characters, shown folded.
 * @csspart link - An auto-linked URL (unless `linkify` is off).
 * @csspart link-host - After a link whose host is not written in ASCII: the real host, in punycode, in parentheses.
 * @csspart jump-button - The "new messages" button shown when scrolled up by more than a screen, or with new messages below.
 * @csspart typing - The typing indicator.
 * @csspart notice - Why the composer is disabled.
 * @csspart closed - In place of the composer while the host has closed the conversation.
 * @csspart composer - The form around the text area.
 * @csspart textarea - The text area.
 * @csspart counter - The character counter.
 * @csspart send-button - The send button.
 * @csspart attach-button - The attach button (photos and PDFs).
 * @csspart camera-button - The camera button, on touch screens.
 * @csspart file-chips - The files picked for the next message; `file-chip` each, `remove-file-button` its remove control.
 * @csspart file-chip - One picked file: name and size.
 * @csspart remove-file-button - Removes a picked file.
 * @csspart file-error - Why the picked files were not sent.
 * @csspart file - A file in a message (a PDF: name and size, a link), or a pending message's file.
 * @csspart upload-progress - A pending message's upload progress bar.
 * @csspart image - An image in a message (a link to it, opening it full size).
 * @csspart image-dialog - The full-size view of an image.
 * @csspart close-image-button - Closes the full-size view.
 * @cssprop --motoreach-chat-height - Height of the widget (default 480px at the default font size, scaling with it); or set `height` on the element.
 * @cssprop --motoreach-font-size - Text size (default 15px), from which every size of the widget follows; never the page's root font size.
 * @cssprop --motoreach-font - Font shorthand (default: `var(--motoreach-font-size)/1.4 system-ui, …`).
 * @cssprop --motoreach-radius - Bubble corner radius.
 * @cssprop --motoreach-bg - Background of the header, the composer and the day separators.
 * @cssprop --motoreach-log-bg - Background behind the bubbles.
 * @cssprop --motoreach-fg - Text colour.
 * @cssprop --motoreach-muted - Secondary text (times, names, counter).
 * @cssprop --motoreach-border - Borders.
 * @cssprop --motoreach-accent - Send and jump buttons.
 * @cssprop --motoreach-accent-fg - Text on the accent colour.
 * @cssprop --motoreach-own-bg - Own bubbles.
 * @cssprop --motoreach-own-fg - Text of own bubbles.
 * @cssprop --motoreach-other-bg - The other side's bubbles.
 * @cssprop --motoreach-other-fg - Text of the other side's bubbles.
 * @cssprop --motoreach-online - The header's dot while connected.
 * @cssprop --motoreach-danger - Failed messages, errors, the over-limit counter.
 * @cssprop --motoreach-banner-bg - Connection banner background.
 * @cssprop --motoreach-banner-fg - Connection banner text.
 * @cssprop --motoreach-divider - The unread divider.
 * @cssprop --motoreach-focus - Focus ring.
 * @cssprop --motoreach-link-own - Links in own bubbles.
 * @cssprop --motoreach-link-other - Links in the other side's bubbles.
 * @fires {CustomEvent<MessageSentDetail>} motoreach-message-sent - A message from this widget was stored by the server.
 * @fires {CustomEvent<MessageReceivedDetail>} motoreach-message-received - A message from someone else arrived.
 * @fires {CustomEvent<ReadDetail>} motoreach-read - A read cursor moved (`own` tells whose).
 * @fires {CustomEvent<ConnectionChangeDetail>} motoreach-connection-change - The connection status changed.
 * @fires {CustomEvent<RoomChangeDetail>} motoreach-room-change - The service request changed: known on connect, then live (closed, reopened, renamed).
 * @fires {CustomEvent<ErrorDetail>} motoreach-error - Something failed (refused room, failed send, …); `final` tells a refusal from a fault that passes.
 * @fires {CustomEvent<TokenErrorDetail>} motoreach-token-error - `token-url` gave no token (the widget tries again with backoff).
 */
export class MotoreachChat extends LitElement {
  static override styles = [srOnly, chatStyles, attachmentStyles];

  /** A ChatClient to share with the rest of the page. Takes precedence over base-url/token. */
  @property({ attribute: false }) client: ChatClient | null = null;
  /** Server URL, used with `token` when no `client` is set. */
  @property({ attribute: 'base-url' }) baseUrl: string | null = null;
  /** JWT, used with `base-url` when no `client` is set. Removed, or naming another person: the previous one is signed out. */
  @property() token: string | null = null;
  /** Where a fresh token comes from (fetched with the page's cookies) when there is none or the server refuses it. */
  @property({ attribute: 'token-url' }) tokenUrl: string | null = null;
  /** The service request whose conversation to show. */
  @property({ attribute: 'request-id' }) requestId: string | null = null;
  /** The header's title; defaults to the request's title (from the server, kept up to date). */
  @property() heading: string | null = null;
  /**
   * Who the conversation is with, for the header (the workshop's name on an owner's page, the
   * owner's on a workshop's), shown from the start. Unset: the name the host's backend gave the
   * room (`workshop_name` / `user_name`), else the other side's latest writer once one has written.
   */
  @property({ attribute: 'peer-name' }) peerName: string | null = null;
  /** Character limit of the composer (Unicode code points, as the server counts). */
  @property({ attribute: 'max-length', type: Number }) maxLength = 4000;
  /** Turn http(s) URLs in messages into links (rel="noopener noreferrer"); on by default, `linkify="false"` turns it off. */
  @property({ converter: { fromAttribute: (value: string | null) => value !== 'false' } }) linkify = true;
  /** `light`, `dark`, or `auto` (default: follows prefers-color-scheme). */
  @property({ reflect: true }) theme: 'light' | 'dark' | 'auto' = 'auto';
  /** BCP 47 locale for dates and numbers; defaults to the nearest `lang` attribute, then the browser's. */
  @property() locale: string | null = null;
  /** Replacement texts. */
  @property({ attribute: false }) strings: Partial<ChatStrings> = {};
  /** Shows a message's `data` (the host's structured content) under its text: see `DataRenderer`. */
  @property({ attribute: false }) renderData: DataRenderer | null = null;

  @state() private status: ConnectionStatus = 'idle';
  @state() private refusal: ChatError | null = null;
  @state() private typers = new Map<string, string>();
  @state() private announcement = '';
  @state() private dividerSeq: number | null = null;
  /** The first page of history arrived (or the room already had messages): until then, placeholder rows. */
  @state() private loaded = false;
  @state() private unfolded = new Set<string>();

  // A person signed out takes their unsent draft along, and the files they picked.
  private holder = new ClientHolder(this, () => {
    this.composer.clear();
    this.attachments.take();
  });
  private banner = new ConnectionBanner(this);
  private messageWindow = new MessageWindow(this, {
    room: () => this.room,
    status: () => this.status,
    onError: (error) => this.onError(error),
  });
  private previews = new Previews(this);
  private attachments = new AttachmentPicker(this, this.previews);
  private imageDialog = new ImageDialog(this);
  // Uploads under way, by message client_id; the base attachment paths resolve against.
  private uploads = new Map<string, RoomEvents['progress']>();
  private serverBase = '';
  private composer = new Composer(this, {
    room: () => this.room,
    refusal: () => this.refusal,
    send: (room, text) => this.send(room, text),
    attachments: this.attachments,
  });
  private room: Room | null = null;
  private dataViews = new WeakMap<ChatMessage, [DataRenderer, unknown]>();
  /** The room last announced as closed: a reconnect's fresh copy of the same status says nothing. */
  private closedFor: Room | null = null;
  private roomHandle: RoomHandle | null = null;
  private unsubscribe: Array<() => void> = [];
  private dividerPlaced = false;
  private typerTimers = new Map<string, ReturnType<typeof setTimeout>>();

  override connectedCallback(): void {
    // Opened before Lit's first update is queued: the SDK asks for the socket's ticket in the microtask
    // before it, so the request travels while the widget renders (tens of milliseconds the first time).
    if (!this.room) this.openRoom();
    super.connectedCallback();
    if (!this.room) this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // A move within the page disconnects and reconnects synchronously: keep the room through it.
    queueMicrotask(() => {
      if (!this.isConnected) {
        this.closeRoom();
        this.holder.release();
      }
    });
  }

  /** The connection status of the room's socket. */
  get connectionStatus(): ConnectionStatus {
    return this.status;
  }

  /** Scrolls to the newest message. */
  scrollToLatest(): void {
    this.messageWindow.jumpToLatest();
  }

  /** Moves focus to the text area. */
  override focus(options?: FocusOptions): void {
    this.composer.focus(options);
  }

  private mergedStrings: ChatStrings = defaultChatStrings;
  private mergedFrom: Partial<ChatStrings> | null = null;

  private get s(): ChatStrings {
    if (this.mergedFrom !== this.strings) {
      this.mergedFrom = this.strings;
      this.mergedStrings = { ...defaultChatStrings, ...this.strings };
    }
    return this.mergedStrings;
  }

  private get resolvedLocale(): string | undefined {
    return this.locale ?? (this.closest('[lang]') as HTMLElement | null)?.lang ?? undefined;
  }

  protected override willUpdate(changed: PropertyValues): void {
    // Lit runs this before the controllers' hostUpdate: a room switch has reset the message window by the time it measures the log.
    // A new token for the same person keeps the client; a room the server had refused (and closed) opens anew.
    const signedInAgain = changed.has('token') && this.refusal !== null && isSignedOut(this.refusal);
    if (signedInAgain || changed.has('client') || changed.has('baseUrl') || changed.has('token') || changed.has('tokenUrl') || changed.has('requestId') || !this.room) {
      this.openRoom(signedInAgain);
    }
  }

  override render(): TemplateResult {
    const s = this.s;
    const room = this.room;
    const lang = this.resolvedLocale;
    const list = this.messageWindow;
    const row: RowContext = {
      strings: s,
      lang,
      room,
      dividerSeq: this.dividerSeq,
      linkify: this.linkify,
      retry: (m) => this.retry(m),
      renderData: this.renderData,
      dataViews: this.dataViews,
      unfolded: this.unfolded,
      unfold: (m) => (this.unfolded = new Set(this.unfolded).add(messageKey(m))),
      progress: this.uploads,
      url: (path) => new URL(path, this.serverBase || location.href).href,
      open: (image, opener) => void this.imageDialog.open(image, row.url(image.url), opener),
      previews: this.previews,
    };
    const loading = !!room && !this.refusal && !this.loaded;
    return html`
      <div part="base" class="base">
        ${renderHeader({ strings: s, title: this.heading ?? room?.info?.title ?? null, peer: this.peer(), connection: this.headerConnection() })}
        ${room && !this.refusal ? this.banner.render(this.s, room.outboxSize, this.resolvedLocale) : nothing}
        <div class="log-area">
          <div
            part="log"
            class="log"
            role="log"
            aria-live="off"
            aria-label=${s.logLabel}
            aria-busy=${list.loadingOlder || loading ? 'true' : 'false'}
            tabindex="0"
            @scroll=${list.onScroll}
          >
            ${list.start === 0 && room && !room.hasOlder && list.messages.length > 0
              ? html`<div class="edge">${s.startOfConversation}</div>`
              : list.loadingOlder
                ? html`<div class="edge">${s.loadingOlder}</div>`
                : nothing}
            ${repeat(list.rows, messageKey, (m, i) => renderRow(m, list.messages[list.start + i - 1], list.messages[list.start + i + 1], row))}
            ${loading ? renderSkeleton(s) : this.loaded && list.messages.length === 0 ? html`<div part="empty" class="empty"><slot name="empty">${s.empty}</slot></div>` : nothing}
          </div>
          ${list.canJump
            ? html`<button part="jump-button" class="jump" type="button" @click=${list.jumpToLatest}>
                ${list.newCount > 0 ? s.newMessages(list.newCount, formatNumber(list.newCount, lang)) : s.jumpToLatest}
              </button>`
            : nothing}
        </div>
        <div part="typing" class="typing">${this.renderTyping()}</div>
        <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">${this.announcement}</div>
        ${room?.info?.status === 'closed' ? html`<p part="closed" class="closed">${s.conversationClosed}</p>` : this.composer.render(s, lang)}
        ${this.imageDialog.render(s)}
      </div>
    `;
  }

  private peerFrom: [readonly ChatMessage[], Me | null] | null = null;
  private peerFound: Sender | null = null;

  /** Who the header names: the host's `peer-name`, else the room's name for the other side, else its latest writer. */
  private peer(): Sender | null {
    const me = this.room?.me;
    const info = this.room?.info;
    const name = this.peerName ?? (me && info && (me.role === 'user' ? info.workshop_name : info.user_name));
    if (!name) return this.latestPeer();
    // The avatar's colour comes from an id and a role: the name stands for the id.
    return { id: name, role: me?.role === 'workshop_admin' ? 'user' : 'workshop_admin', name };
  }

  /** The other side's latest writer: a scan of the messages, done again only when they change. */
  private latestPeer(): Sender | null {
    const messages = this.messageWindow.messages;
    const me = this.room?.me ?? null;
    if (messages !== this.peerFrom?.[0] || me !== this.peerFrom[1]) {
      this.peerFrom = [messages, me ?? null];
      let found: Sender | null = null;
      for (let i = messages.length - 1; i >= 0 && me; i--) {
        const sender = messages[i]!.sender;
        if (sender.role !== me.role && sender.role !== 'system') {
          found = sender;
          break;
        }
      }
      this.peerFound = found;
    }
    return this.peerFound;
  }

  private headerConnection(): HeaderConnection | string {
    if (this.refusal || !this.room) return 'closed';
    const state = this.banner.state;
    if (state !== 'hidden') return state;
    // Connected, and the history still on its way, is not ready to chat yet.
    return this.status === 'open' ? (this.loaded ? 'open' : 'connecting') : 'closed';
  }

  private renderTyping(): TemplateResult | string {
    const names = [...this.typers.values()];
    if (names.length === 0) return '';
    const text = names.length === 1 && names[0] ? this.s.typing(names[0]) : this.s.someoneTyping;
    return html`<span class="dots" aria-hidden="true"><span></span><span></span><span></span></span>${text}`;
  }

  // --- the room -----------------------------------------------------------------------------

  private openRoom(reopen = false): void {
    const client = this.isConnected ? this.holder.resolve(this.client, this.baseUrl, this.token, this.tokenUrl) : null;
    const wanted = client && this.requestId ? client.room(this.requestId) : null;
    if (wanted === this.room && !reopen) return;
    this.closeRoom();
    // A hold, not connect(): the room is shared with other widgets and the host, and the last hold closes it.
    const handle = client && this.requestId ? client.openRoom(this.requestId) : null;
    this.roomHandle = handle;
    this.room = handle?.room ?? null;
    this.messageWindow.reset();
    this.refusal = null;
    this.dividerSeq = null;
    this.dividerPlaced = false;
    this.typers = new Map();
    this.announcement = '';
    this.peerFrom = null;
    this.unfolded = new Set();
    this.loaded = (handle?.room.messages.length ?? 0) > 0;
    this.status = handle?.room.status ?? 'idle';
    this.banner.reset(this.status, handle?.room.statusReason);
    if (!handle || !client) return;
    if (!this.loaded) prepareTimeFormats(this.resolvedLocale);
    this.serverBase = client.baseUrl;
    const next = handle.room;
    const on = <K extends keyof RoomEvents>(type: K, handler: (e: RoomEvents[K]) => void) => this.unsubscribe.push(next.on(type, handler));
    on('change', (e) => {
      // An empty change says nothing: the SDK sends one when it learns who the reader is, before any history.
      if (e.messages.length > 0) this.loaded = true;
      this.messageWindow.setMessages(e.messages);
      // The history `ready` brought: its divider goes in the same render as its rows, not in one more after them.
      if (this.status === 'open' && e.messages.some((m) => m.seq !== null)) this.placeUnreadDivider();
    });
    on('message', (e) => this.onMessage(e.message, e.own));
    on('progress', (e) => {
      this.uploads.set(e.client_id, e);
      this.requestUpdate();
    });
    on('read', (e) => {
      this.requestUpdate();
      emit(this, 'motoreach-read', {
        requestId: next.requestId,
        side: e.side,
        own: e.side === next.side,
        lastReadSeq: e.last_read_seq,
        readCursors: e.read_cursors,
      });
    });
    on('typing', (e) => this.onTyping(e.user, e.is_typing));
    on('room', (info) => {
      this.requestUpdate();
      if (info.status === 'closed') {
        this.composer.stopTyping();
        // Announced once per closing (on opening a closed room, or live); the text stays where the composer was.
        if (this.closedFor !== next) this.announcement = this.s.conversationClosed;
      }
      this.closedFor = info.status === 'closed' ? next : null;
      emit(this, 'motoreach-room-change', { requestId: next.requestId, room: info });
    });
    on('status', (e) => {
      this.status = e.status;
      this.banner.update(e.status, e.reason);
      if (e.status === 'open') this.placeUnreadDivider();
      emit(this, 'motoreach-connection-change', {
        requestId: next.requestId,
        status: e.status,
        waiting: next.outboxSize,
        ...(e.reason ? { reason: e.reason } : {}),
      });
    });
    on('error', (error) => this.onError(error));
    // A shared client may already hold this room's history: show it now, not after the round trip.
    if (next.messages.length > 0) this.messageWindow.setMessages(next.messages);
    handle.ready.then(
      () => {
        if (this.room !== next) return;
        this.loaded = true;
        this.messageWindow.setMessages(next.messages);
        this.placeUnreadDivider();
      },
      (error: ChatError) => {
        if (this.room === next) this.onError(error);
      },
    );
  }

  private closeRoom(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.composer.stopTyping();
    for (const t of this.typerTimers.values()) clearTimeout(t);
    this.typerTimers.clear();
    this.messageWindow.stopObserving();
    this.roomHandle?.release();
    this.roomHandle = null;
    this.room = null;
  }

  private onError(error: ChatError, requestId = this.room?.requestId ?? this.requestId): void {
    if (isRoomRefusal(error)) this.refusal = error;
    // The SDK gave the room up on a fault that passes: say so as one, never as a refusal.
    else if (this.room?.status === 'closed' && isTransient(error)) this.banner.stopped();
    emit(this, 'motoreach-error', { requestId, error, final: isFinal(error) });
  }

  private onMessage(message: ChatMessage, own: boolean): void {
    if (own) return;
    const requestId = this.room?.requestId ?? '';
    this.messageWindow.countArrival();
    // A system notice is nobody's words: its text alone.
    this.announcement = message.sender.role === 'system' ? message.body : this.s.announceMessage(message.sender.name ?? this.s.unknownSender, message.body);
    this.typers.delete(personKey(message.sender));
    this.typers = new Map(this.typers);
    emit(this, 'motoreach-message-received', { requestId, message });
  }

  /**
   * Once per room opening: above the first message of the other side that was unread then. The
   * history comes with `ready` and `ready` resolves with no request after it, so the reader's cursor
   * read here is still the one the history came with: marking it read moves it only a round trip later.
   */
  private placeUnreadDivider(): void {
    const room = this.room;
    const side = room?.side;
    if (this.dividerPlaced || !side || !room.me || room.messages.length === 0) return;
    const cursor = room.readCursors[side];
    this.dividerPlaced = true;
    const firstUnread = room.messages.find((m) => m.seq !== null && m.seq > cursor && m.sender.role !== room.me?.role);
    this.dividerSeq = firstUnread?.seq ?? null;
  }

  private onTyping(user: Me, isTyping: boolean): void {
    if (samePerson(user, this.room?.me)) return;
    const id = personKey(user);
    const { name } = user;
    const timers = this.typerTimers;
    clearTimeout(timers.get(id));
    timers.delete(id);
    const typers = new Map(this.typers);
    if (isTyping) {
      typers.set(id, name ?? this.s.unknownSender);
      timers.set(
        id,
        setTimeout(() => {
          timers.delete(id);
          const t = new Map(this.typers);
          t.delete(id);
          this.typers = t;
        }, TYPING_EXPIRE_MS),
      );
    } else typers.delete(id);
    this.typers = typers;
  }

  private send(room: Room, text: string): void {
    this.dividerSeq = null;
    this.messageWindow.jumpToLatest();
    const files = this.attachments.take();
    room.send(files.length ? { body: text, files } : text).then(
      (message) => emit(this, 'motoreach-message-sent', { requestId: room.requestId, message }),
      (error: ChatError) => {
        // Refused before it was queued (a file the server would refuse; no message, so no client_id): the files come back, with why.
        if (files.length && !error.clientId) this.attachments.restore(files, error.message);
        else this.onError(error, room.requestId);
      },
    );
  }

  private retry(message: ChatMessage): void {
    const room = this.room;
    if (!room) return;
    // The retry control goes away with the failure: focus goes where the reader writes, not to the page.
    this.composer.focus();
    room.retry(message).then(
      (stored) => emit(this, 'motoreach-message-sent', { requestId: room.requestId, message: stored }),
      (error: ChatError) => this.onError(error, room.requestId),
    );
  }
}

// Placeholder rows while the first page loads: the shape of a conversation, not an empty one.
function renderSkeleton(s: ChatStrings): TemplateResult {
  return html`<div part="skeleton" class="skeleton">
    <span class="sr-only">${s.loadingMessages}</span>
    <div class="bone" aria-hidden="true"></div>
    <div class="bone own" aria-hidden="true"></div>
    <div class="bone" aria-hidden="true"></div>
  </div>`;
}

declare global {
  interface HTMLElementTagNameMap {
    'motoreach-chat': MotoreachChat;
  }
}
