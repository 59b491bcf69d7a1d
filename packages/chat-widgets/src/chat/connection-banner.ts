import { html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { ChatError, ConnectionStatus } from '@motoreach/chat-client';
import { isTransient } from '../shared/failure.js';
import type { ChatStrings } from '../shared/strings.js';
import { formatNumber } from '../shared/time.js';

/**
 * How long a socket may take to come (back) up before the banner stops saying "Reconnecting…" and
 * says the server cannot be reached: a few of the SDK's retries. It is the fallback for an SDK that
 * does not say why the socket is down; a transient `reason` on a status event says so at once.
 */
const GRACE_MS = 3000;

/** What the banner says: nothing, or one of the ways the room is not connected. */
export type ConnectionState = 'hidden' | 'connecting' | 'reconnecting' | 'unreachable' | 'offline';

/**
 * The banner over the message list while the room's socket is not open. It tells apart a first
 * connection, a reconnection that may still succeed at once, a server that keeps failing to answer
 * (a fault that passes: the SDK keeps retrying and messages wait in the outbox), and the browser
 * being offline. Final refusals are not its business: the composer's notice says those.
 */
export class ConnectionBanner implements ReactiveController {
  private status: ConnectionStatus = 'idle';
  private failing = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    this.watch();
  }

  hostDisconnected(): void {
    this.stopWatching();
  }

  get state(): ConnectionState {
    switch (this.status) {
      case 'open':
        return 'hidden';
      case 'closed':
        return this.failing ? 'unreachable' : 'hidden';
      case 'offline':
        return 'offline';
      case 'reconnecting':
        return this.failing ? 'unreachable' : 'reconnecting';
      default:
        return this.failing ? 'unreachable' : 'connecting';
    }
  }

  /** Follows a room (another one, or the same one again) from its present status. */
  reset(status: ConnectionStatus): void {
    this.status = 'idle';
    this.failing = false;
    this.stopWatching();
    this.update(status);
  }

  /** The room's status changed; `reason` is the SDK's last failure, where it gives one. */
  update(status: ConnectionStatus, reason?: ChatError): void {
    const was = this.status;
    this.status = status;
    if (status === 'open' || status === 'idle') {
      this.failing = false;
      this.stopWatching();
    } else if (reason && isTransient(reason) && was !== 'open') {
      // A reason while not coming from an open socket is a failed attempt, not the loss itself.
      this.failing = true;
      this.stopWatching();
    } else this.watch();
    this.host.requestUpdate();
  }

  /** The SDK stopped the room on a fault that passes (an SDK without transient retries does). */
  stopped(): void {
    this.failing = true;
    this.stopWatching();
    this.host.requestUpdate();
  }

  render(s: ChatStrings, waiting: number, lang: string | undefined): TemplateResult | typeof nothing {
    const state = this.state;
    if (state === 'hidden') return nothing;
    const f = formatNumber(waiting, lang);
    const text =
      state === 'unreachable'
        ? s.unreachable(waiting, f)
        : state === 'offline'
          ? s.offline(waiting, f)
          : state === 'reconnecting'
            ? s.reconnecting(waiting, f)
            : s.connecting;
    return html`<div part="banner" class="banner" data-state=${state} role="status">${text}</div>`;
  }

  private watch(): void {
    const down = this.status === 'connecting' || this.status === 'reconnecting' || this.status === 'offline';
    if (!down || this.failing || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.failing = true;
      this.host.requestUpdate();
    }, GRACE_MS);
  }

  private stopWatching(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
