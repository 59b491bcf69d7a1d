import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { ChatClient, Notifications } from '@motoreach/chat-client';
import { ClientHolder } from '../shared/client.js';
import { emit } from '../shared/events.js';
import { isFinal } from '../shared/failure.js';
import { defaultBadgeStrings, type BadgeStrings } from '../shared/strings.js';
import { formatNumber } from '../shared/time.js';
import { srOnly } from '../shared/styles.js';
import { badgeStyles } from './badge.styles.js';

/**
 * Unread messages of the signed-in user: a count (or a dot) for all their rooms, or for one room.
 * Hidden at zero. Live from the notifications socket of its client, shared with every widget that
 * uses the same client.
 *
 * @tag motoreach-badge
 * @csspart base - The badge.
 * @cssprop --motoreach-badge-bg - Background (default #c3122f).
 * @cssprop --motoreach-badge-fg - Text colour.
 * @cssprop --motoreach-badge-size - Height and minimum width of the count.
 * @cssprop --motoreach-badge-dot-size - Diameter of the dot.
 * @cssprop --motoreach-badge-font - Font shorthand.
 * @fires {CustomEvent<UnreadChangeDetail>} motoreach-unread-change - The count changed.
 * @fires {CustomEvent<ErrorDetail>} motoreach-error - The notifications socket reported an error.
 * @fires {CustomEvent<TokenErrorDetail>} motoreach-token-error - `token-url` gave no token (the widget tries again with backoff).
 */
export class MotoreachBadge extends LitElement {
  static override styles = [srOnly, badgeStyles];

  /** A ChatClient to share (and with it the notifications socket). Takes precedence over base-url/token. */
  @property({ attribute: false }) client: ChatClient | null = null;
  /** Server URL, used with `token` when no `client` is set. */
  @property({ attribute: 'base-url' }) baseUrl: string | null = null;
  /** JWT, used with `base-url` when no `client` is set. Removed, or naming another person: the previous one is signed out. */
  @property() token: string | null = null;
  /** Where a fresh token comes from (fetched with the page's cookies) when there is none or the server refuses it. */
  @property({ attribute: 'token-url' }) tokenUrl: string | null = null;
  /** Count only this room; without it, all of the user's rooms. */
  @property({ attribute: 'request-id' }) requestId: string | null = null;
  /** Largest number shown; above it the badge shows "99+". */
  @property({ type: Number }) max = 99;
  /** Show a dot instead of the number (the accessible label still says how many). */
  @property({ type: Boolean, reflect: true }) dot = false;
  /** BCP 47 locale for numbers; defaults to the nearest `lang` attribute, then the browser's. */
  @property() locale: string | null = null;
  /** Replacement texts. */
  @property({ attribute: false }) strings: Partial<BadgeStrings> = {};

  @state() private count = 0;

  private holder = new ClientHolder(this);
  private notifications: Notifications | null = null;
  private unsubscribe: Array<() => void> = [];

  /** The number of unread messages this badge stands for. */
  get unread(): number {
    return this.count;
  }

  /** The accessible label, e.g. "3 unread messages". */
  get label(): string {
    const s = { ...defaultBadgeStrings, ...this.strings };
    return s.unread(this.count, formatNumber(this.count, this.resolvedLocale()));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.hidden = this.count === 0;
    // Back in the page after a teardown: subscribe again.
    if (!this.notifications) this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // A move within the page disconnects and reconnects synchronously: keep the socket through it.
    queueMicrotask(() => {
      if (!this.isConnected) this.teardown();
    });
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client') || changed.has('baseUrl') || changed.has('token') || changed.has('tokenUrl') || !this.notifications) {
      const client = this.holder.resolve(this.client, this.baseUrl, this.token, this.tokenUrl);
      const next = client ? client.notifications() : null;
      if (next !== this.notifications) this.subscribe(next);
    }
    if (changed.has('requestId')) this.recount();
    if (changed.has('count')) this.hidden = this.count === 0;
  }

  override render() {
    if (this.count === 0) return nothing;
    const locale = this.resolvedLocale();
    const shown = this.count > this.max ? `${formatNumber(this.max, locale)}+` : formatNumber(this.count, locale);
    return html`<span part="base"><span aria-hidden="true">${this.dot ? nothing : shown}</span><span class="sr-only">${this.label}</span></span>`;
  }

  private subscribe(next: Notifications | null): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.notifications = next;
    if (!next) return this.recount();
    this.unsubscribe.push(
      next.on('unread', () => this.recount()),
      next.on('notification', () => this.recount()),
      next.on('error', (error) => emit(this, 'motoreach-error', { requestId: this.requestId, error, final: isFinal(error) })),
    );
    this.recount();
  }

  // Without notifications (no token any more, its person signed out) there is nothing unread to show.
  private recount(): void {
    const n = this.notifications;
    const count = !n ? 0 : this.requestId ? n.unread(this.requestId) : n.unread();
    if (count === this.count) return;
    this.count = count;
    emit(this, 'motoreach-unread-change', { count, total: n?.unread() ?? 0, requestId: this.requestId });
  }

  private teardown(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.notifications = null;
    this.holder.release();
  }

  private resolvedLocale(): string | undefined {
    return this.locale ?? (this.closest('[lang]') as HTMLElement | null)?.lang ?? undefined;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'motoreach-badge': MotoreachBadge;
  }
}
