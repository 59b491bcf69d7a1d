import { html, nothing, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { ChatError, ConnectionStatus } from '@motoreach/chat-client';
import type { ChatStrings } from '../shared/strings.js';
import { formatNumber } from '../shared/time.js';

/** What the banner says: nothing, or one of the ways the room is not connected. */
export type ConnectionState = 'hidden' | 'connecting' | 'reconnecting' | 'unreachable' | 'offline';

/**
 * The banner over the message list while the room's socket is not open. It tells apart a first
 * connection, a reconnection that may still succeed at once, a server that cannot be reached (the
 * SDK's `unreachable` reason, after several failed attempts: a wrong base URL, an origin the server
 * refuses, an outage; the SDK keeps retrying and messages wait in the outbox), and the browser
 * being offline. Final refusals are not its business: the composer's notice says those.
 */
export class ConnectionBanner {
  private status: ConnectionStatus = 'idle';
  private reason: ChatError | undefined;
  private stoppedOnFault = false;

  constructor(private readonly host: ReactiveControllerHost) {}

  get state(): ConnectionState {
    switch (this.status) {
      case 'open':
      case 'idle':
        return 'hidden';
      case 'closed':
        return this.stoppedOnFault ? 'unreachable' : 'hidden';
      case 'offline':
        return 'offline';
      default:
        return this.reason?.code === 'unreachable' ? 'unreachable' : this.status;
    }
  }

  /** Follows a room (another one, or the same one again) from its present status and reason. */
  reset(status: ConnectionStatus, reason?: ChatError): void {
    this.stoppedOnFault = false;
    this.update(status, reason);
  }

  /** The room's status changed, with the SDK's reason (its last failure) where it gives one. */
  update(status: ConnectionStatus, reason?: ChatError): void {
    this.status = status;
    this.reason = reason;
    this.host.requestUpdate();
  }

  /** The SDK stopped the room on a fault that passes (an SDK without transient retries does). */
  stopped(): void {
    this.stoppedOnFault = true;
    this.host.requestUpdate();
  }

  render(s: ChatStrings, waiting: number, lang: string | undefined): TemplateResult | typeof nothing {
    const state = this.state;
    if (state === 'hidden') return nothing;
    // Not for a first connection, which says no number: a first Intl.NumberFormat costs milliseconds.
    const f = state === 'connecting' ? '' : formatNumber(waiting, lang);
    const text =
      state === 'unreachable'
        ? s.unreachable(waiting, f, this.reason?.baseUrl)
        : state === 'offline'
          ? s.offline(waiting, f)
          : state === 'reconnecting'
            ? s.reconnecting(waiting, f)
            : s.connecting;
    return html`<div part="banner" class="banner" data-state=${state} role="status">${text}</div>`;
  }
}
