import { html, nothing, type TemplateResult } from 'lit';
import type { Sender } from '@motoreach/chat-client';
import { renderAvatar } from '../shared/avatar.js';
import type { ChatStrings } from '../shared/strings.js';

/** What the header says about the room's socket: `open`, `closed` (not connected, or refused), or the banner's state. */
export type HeaderConnection = 'open' | 'closed' | 'connecting' | 'reconnecting' | 'unreachable' | 'offline';

export interface HeaderContext {
  strings: ChatStrings;
  /** The `heading` attribute, else the request's title once known. */
  title: string | null;
  /** Who the conversation is with: the host's `peer-name`, else the room's name for the other side, else its latest writer. */
  peer: Sender | null;
  connection: HeaderConnection | string;
}

function connectionText(state: HeaderContext['connection'], s: ChatStrings): string {
  switch (state) {
    case 'open':
      return s.connectionOpen;
    case 'closed':
      return s.connectionClosed;
    case 'reconnecting':
      return s.connectionReconnecting;
    case 'unreachable':
      return s.connectionUnreachable;
    case 'offline':
      return s.connectionOffline;
    default:
      return s.connecting;
  }
}

/**
 * The bar above the messages: who the conversation is with and about, and whether it is live. The
 * host may replace its content through the `header` slot. Not a live region: the banner announces
 * connection trouble, and the header repeating it would make a screen reader say it twice.
 */
export function renderHeader({ strings: s, title, peer, connection }: HeaderContext): TemplateResult {
  const name = peer ? (peer.name ?? s.unknownSender) : null;
  const heading = title ?? name;
  return html`<div part="header" class="header">
    <slot name="header">
      ${peer ? renderAvatar(peer) : nothing}
      <div class="heading">
        ${heading ? html`<div class="title">${heading}</div>` : nothing}
        <div class="subtitle">
          ${name && name !== heading ? html`<span class="peer">${name}</span>` : nothing}
          <span part="connection" class="connection" data-state=${connection}
            ><span class="dot" aria-hidden="true"></span>${connectionText(connection, s)}</span
          >
        </div>
      </div>
    </slot>
  </div>`;
}
