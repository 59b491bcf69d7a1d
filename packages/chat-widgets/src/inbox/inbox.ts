import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { ChatClient, ChatError, Message, RoomSummary } from '@motoreach/chat-client';
import { ClientHolder } from '../shared/client.js';
import { emit, type MessageSentDetail } from '../shared/events.js';
import { isFinal } from '../shared/failure.js';
import { samePerson } from '../shared/person.js';
import { defaultInboxStrings, type InboxStrings } from '../shared/strings.js';
import { srOnly } from '../shared/styles.js';
import { InboxList } from './inbox-list.js';
import { optionId, renderRow } from './inbox-row.js';
import { inboxStyles } from './inbox.styles.js';

/** Typing in the search box asks the server this long after the last key. */
const SEARCH_DELAY_MS = 250;
/** Relative times ("5 min. ago") are brought up to date this often. */
const CLOCK_MS = 60_000;

/**
 * The signed-in person's service requests, most recent activity first, for either side.
 * Each row shows the title, the other side's name, the last message, how long ago, and the unread count.
 * Live from the notifications socket of its client (shared with every widget using the client);
 * search, an "Unread" filter, pages as the list scrolls. A listbox: arrow keys, Home and End move,
 * Enter picks, which fires `motoreach-select`.
 *
 * @tag motoreach-inbox
 * @slot empty - Replaces "No service requests yet." (shown when there are none, without a search or filter).
 * @csspart base - The whole widget.
 * @csspart toolbar - The bar with the search box and the filter.
 * @csspart search - The search box.
 * @csspart filter-button - The "Unread" toggle (`aria-pressed`).
 * @csspart list - The list of requests (role="listbox").
 * @csspart row - A request (role="option"); also `row-unread` with unread messages, `row-selected` for the picked one.
 * @csspart title - The request's title.
 * @csspart peer - The other side's name.
 * @csspart status - "Closed", for a request the host closed.
 * @csspart preview - The last message, one line; also `preview-system` for a message of the host's backend.
 * @csspart time - How long ago the last message (or the request) came.
 * @csspart count - The unread count.
 * @csspart skeleton - A placeholder row while the first page loads.
 * @csspart empty - The empty state.
 * @csspart error - Why the list could not be loaded, with a retry button.
 * @csspart more-button - Loads the next page (also loaded when it scrolls into view).
 * @cssprop --motoreach-inbox-height - Height of the widget (default 32em); or set `height` on the element.
 * @cssprop --motoreach-font-size - Text size, in px (default 15px): every size of the widget follows it.
 * @cssprop --motoreach-font-family - Font family.
 * @cssprop --motoreach-bg - Background.
 * @cssprop --motoreach-fg - Text colour.
 * @cssprop --motoreach-muted - Secondary text (names, times, read previews).
 * @cssprop --motoreach-border - Borders and row separators.
 * @cssprop --motoreach-accent - The pressed filter.
 * @cssprop --motoreach-accent-fg - Text on the accent colour.
 * @cssprop --motoreach-hover-bg - A row under the pointer; placeholders.
 * @cssprop --motoreach-selected-bg - The picked row.
 * @cssprop --motoreach-count-bg - The unread count's background.
 * @cssprop --motoreach-count-fg - The unread count's text.
 * @cssprop --motoreach-danger - The loading failure.
 * @cssprop --motoreach-focus - Focus ring.
 * @fires {CustomEvent<SelectDetail>} motoreach-select - A request was picked (click, Enter or Space).
 * @fires {CustomEvent<ErrorDetail>} motoreach-error - Loading the list or the notifications socket failed; `final` tells a refusal from a fault that passes.
 * @fires {CustomEvent<TokenErrorDetail>} motoreach-token-error - `token-url` gave no token (the widget tries again with backoff).
 */
export class MotoreachInbox extends LitElement {
  static override styles = [srOnly, inboxStyles];

  /** A ChatClient to share (and with it the notifications socket). Takes precedence over base-url/token. */
  @property({ attribute: false }) client: ChatClient | null = null;
  /** Server URL, used with `token` when no `client` is set. */
  @property({ attribute: 'base-url' }) baseUrl: string | null = null;
  /** JWT, used with `base-url` when no `client` is set. Removed, or naming another person: the previous one is signed out. */
  @property() token: string | null = null;
  /** Where a fresh token comes from (fetched with the page's cookies) when there is none or the server refuses it. */
  @property({ attribute: 'token-url' }) tokenUrl: string | null = null;
  /** The picked request's id: its row is marked selected. Set by a pick; set it to show the chat's request. */
  @property({ reflect: true }) selected: string | null = null;
  /** The search: requests whose title or other side's name holds it (case-insensitive). The search box sets it. */
  @property() q = '';
  /** Only requests with unread messages. The "Unread" button toggles it. */
  @property({ attribute: 'unread-only', type: Boolean, reflect: true }) unreadOnly = false;
  /** Requests per page (at most 100). */
  @property({ attribute: 'page-size', type: Number }) pageSize = 30;
  /** `light`, `dark`, or `auto` (default: follows prefers-color-scheme). */
  @property({ reflect: true }) theme: 'light' | 'dark' | 'auto' = 'auto';
  /** BCP 47 locale for times and numbers; defaults to the nearest `lang` attribute, then the browser's. */
  @property() locale: string | null = null;
  /** Replacement texts. */
  @property({ attribute: false }) strings: Partial<InboxStrings> = {};

  /** The row the keyboard is on (focus stays on the list: `aria-activedescendant`). */
  @state() private active: string | null = null;
  @state() private now = new Date();

  private holder = new ClientHolder(this);
  /** The client the inbox reads through (none without a token); null: to be resolved at the next update. */
  private resolved: { client: ChatClient | null } | null = null;
  private list = new InboxList(
    this,
    () => Math.min(100, Math.max(1, this.pageSize)),
    (error) => this.onError(error),
  );
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private clock: ReturnType<typeof setInterval> | undefined;
  private moreObserver: IntersectionObserver | null = null;
  private observed: Element | null = null;
  private observedPage: string | null = null;
  /** The active row moved by a key: it scrolls into view once rendered. */
  private movedByKey = false;
  // One's own messages reach no notifications socket of one's own: a chat on the page says when it sent one
  // (stored by then: it has its id and seq). Only this person's: a page may hold chats of several people.
  private onSent = (e: CustomEvent<MessageSentDetail>) => {
    if (samePerson(e.detail.message.sender, this.holder.client?.me)) this.list.arrived(e.detail.requestId, e.detail.message as Message);
  };

  /** The rows shown, in order. */
  get rooms(): readonly RoomSummary[] {
    return this.list.rows;
  }

  /** True until the first page for the current client, search and filter arrives. */
  get loading(): boolean {
    return this.list.loading;
  }

  /** Reads the loaded rows from the server again. */
  refresh(): Promise<void> {
    return this.list.reload();
  }

  /** Loads the next page, if there is one. */
  loadMore(): Promise<void> {
    return this.list.loadMore();
  }

  /** Moves focus to the list (or the search box when the list is empty). */
  override focus(options?: FocusOptions): void {
    const list = this.renderRoot.querySelector<HTMLElement>('.list:not([hidden])') ?? this.renderRoot.querySelector<HTMLElement>('.search');
    list?.focus(options);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('motoreach-message-sent', this.onSent as EventListener);
    this.clock ??= setInterval(() => (this.now = new Date()), CLOCK_MS);
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('motoreach-message-sent', this.onSent as EventListener);
    clearInterval(this.clock);
    this.clock = undefined;
    clearTimeout(this.searchTimer);
    this.moreObserver?.disconnect();
    this.moreObserver = null;
    this.observed = null;
    // A move within the page disconnects and reconnects synchronously: keep the list through it.
    queueMicrotask(() => {
      if (!this.isConnected) {
        this.list.release();
        this.holder.release();
        this.resolved = null;
      }
    });
  }

  private mergedStrings: InboxStrings = defaultInboxStrings;
  private mergedFrom: Partial<InboxStrings> | null = null;

  private get s(): InboxStrings {
    if (this.mergedFrom !== this.strings) {
      this.mergedFrom = this.strings;
      this.mergedStrings = { ...defaultInboxStrings, ...this.strings };
    }
    return this.mergedStrings;
  }

  private get resolvedLocale(): string | undefined {
    return this.locale ?? (this.closest('[lang]') as HTMLElement | null)?.lang ?? undefined;
  }

  protected override willUpdate(changed: PropertyValues): void {
    // Off the page (a property set after it left) it holds no client.
    if (!this.isConnected) return;
    if (!this.resolved || changed.has('client') || changed.has('baseUrl') || changed.has('token') || changed.has('tokenUrl')) {
      this.resolved = { client: this.holder.resolve(this.client, this.baseUrl, this.token, this.tokenUrl) };
    }
    if (changed.has('q') || changed.has('unreadOnly')) this.active = null;
    this.list.use(this.resolved.client, { q: this.q.trim(), unread: this.unreadOnly });
  }

  override render(): TemplateResult {
    const s = this.s;
    const lang = this.resolvedLocale;
    const list = this.list;
    const rows = list.rows;
    const filtered = !!this.q.trim() || this.unreadOnly;
    const activeIndex = rows.findIndex((r) => r.id === this.active);
    const empty = !list.loading && !list.failure && rows.length === 0;
    const context = {
      strings: s,
      lang,
      me: this.holder.client?.me ?? null,
      selected: this.selected,
      active: this.active,
      now: this.now,
      select: (room: RoomSummary) => this.select(room),
    };
    return html`
      <div part="base" class="base">
        <div part="toolbar" class="toolbar">
          <input
            part="search"
            class="search"
            type="search"
            dir="auto"
            autocomplete="off"
            aria-label=${s.searchLabel}
            placeholder=${s.searchPlaceholder}
            .value=${this.q}
            @input=${this.onSearch}
          />
          <button part="filter-button" class="filter" type="button" aria-pressed=${this.unreadOnly ? 'true' : 'false'} @click=${this.toggleUnread}>
            ${s.unreadFilter}
          </button>
        </div>
        <div class="scroller">
          <div
            part="list"
            class="list"
            role="listbox"
            tabindex="0"
            aria-label=${s.listLabel}
            aria-busy=${list.loading || list.loadingMore ? 'true' : 'false'}
            aria-activedescendant=${activeIndex >= 0 ? optionId(activeIndex) : nothing}
            ?hidden=${empty || !!list.failure}
            @keydown=${this.onKey}
            @focus=${this.onListFocus}
          >
            ${list.loading && rows.length === 0
              ? html`<span class="sr-only">${s.loading}</span>${[0, 1, 2].map(
                    () => html`<div part="skeleton" class="skeleton" aria-hidden="true"><span></span><span></span></div>`,
                  )}`
              : repeat(rows, (r) => r.id, (r, i) => renderRow(r, i, context))}
          </div>
          ${empty
            ? html`<div part="empty" class="empty" role="status">${filtered ? s.noMatch : html`<slot name="empty">${s.empty}</slot>`}</div>`
            : nothing}
          ${list.failure
            ? html`<div part="error" class="failed">
                <p role="alert">${s.loadFailed}</p>
                <button class="retry" type="button" @click=${this.retry}>${s.retry}</button>
              </div>`
            : nothing}
          ${list.next && !list.loading
            ? html`<button part="more-button" class="more" type="button" ?disabled=${list.loadingMore} @click=${() => this.list.loadMore()}>
                ${s.loadMore}
              </button>`
            : nothing}
        </div>
      </div>
    `;
  }

  protected override updated(): void {
    if (this.movedByKey) {
      this.movedByKey = false;
      this.renderRoot.querySelector('.row[data-active]')?.scrollIntoView({ block: 'nearest' });
    }
    this.watchMore();
  }

  // The next page loads when its button scrolls into view. Observed anew for each page: a button still in view after
  // a page arrived (a tall list, short rows) reports so again, and the next page follows.
  private watchMore(): void {
    const more = this.renderRoot.querySelector('.more');
    const page = this.list.loadingMore ? null : this.list.next;
    if (more === this.observed && page === this.observedPage) return;
    this.moreObserver ??= new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void this.list.loadMore();
    }, { root: this.renderRoot.querySelector('.scroller') });
    if (this.observed) this.moreObserver.unobserve(this.observed);
    this.observed = more;
    this.observedPage = page;
    if (more && page) this.moreObserver.observe(more);
  }

  private onSearch = (e: InputEvent): void => {
    const value = (e.target as HTMLInputElement).value;
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => (this.q = value), SEARCH_DELAY_MS);
  };

  // The button goes with the failure: focus moves on to the list rather than to the page.
  private retry = async (): Promise<void> => {
    await this.list.reload();
    await this.updateComplete;
    if (!this.list.failure) this.focus();
  };

  private toggleUnread = (): void => {
    this.unreadOnly = !this.unreadOnly;
  };

  private onListFocus = (): void => {
    const rows = this.list.rows;
    if (rows.some((r) => r.id === this.active)) return;
    this.active = (rows.find((r) => r.id === this.selected) ?? rows[0])?.id ?? null;
  };

  private onKey = (e: KeyboardEvent): void => {
    const rows = this.list.rows;
    if (rows.length === 0) return;
    const at = rows.findIndex((r) => r.id === this.active);
    let to: number;
    switch (e.key) {
      case 'ArrowDown':
        to = Math.min(rows.length - 1, at + 1);
        if (at === rows.length - 1) void this.list.loadMore();
        break;
      case 'ArrowUp':
        to = Math.max(0, at - 1);
        break;
      case 'Home':
        to = 0;
        break;
      case 'End':
        to = rows.length - 1;
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        if (at >= 0) this.select(rows[at]!);
        return;
      default:
        return;
    }
    e.preventDefault();
    this.active = rows[to]!.id;
    this.movedByKey = true;
  };

  private select(room: RoomSummary): void {
    this.active = room.id;
    this.selected = room.id;
    emit(this, 'motoreach-select', { requestId: room.id, room });
  }

  private onError(error: ChatError): void {
    emit(this, 'motoreach-error', { requestId: null, error, final: isFinal(error) });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'motoreach-inbox': MotoreachInbox;
  }
}
