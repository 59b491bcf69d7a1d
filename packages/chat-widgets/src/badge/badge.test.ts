import { expect, fixture, html } from '@open-wc/testing';
import { ChatClient, type WebSocketConstructorLike } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachBadge } from './badge.js';
import type { MotoreachChat } from '../chat/chat.js';
import { pair, seed, waitFor } from '../../test/helpers.js';

const shown = (el: MotoreachBadge) => el.shadowRoot!.querySelector('[aria-hidden]')?.textContent ?? null;

/** A WebSocket that records the URLs it opens, to count notification sockets. */
function recordingWebSocket(urls: string[]): WebSocketConstructorLike {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      urls.push(String(url));
    }
  } as unknown as WebSocketConstructorLike;
}
const notificationSockets = (urls: string[]) => urls.filter((u) => u.includes('/ws/notifications/')).length;

describe('<motoreach-badge>', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('is hidden at zero, counts up live, and returns to zero after reading in a chat sharing its client', async () => {
    const p = await pair();
    const urls: string[] = [];
    const admin = new ChatClient({ baseUrl: p.baseUrl, token: p.adminToken, WebSocket: recordingWebSocket(urls) });
    clients.push(p.owner, p.admin, admin);
    const changes: number[] = [];
    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-badge .client=${admin} @motoreach-unread-change=${(e: CustomEvent) => changes.push(e.detail.count)}></motoreach-badge>
      <motoreach-badge .client=${admin} request-id=${p.room.id}></motoreach-badge>
    </div>`);
    const [all, one] = [...wrap.querySelectorAll('motoreach-badge')] as MotoreachBadge[];
    await all!.updateComplete;
    expect(all!.hidden).to.equal(true);
    expect(shown(all!)).to.equal(null);

    await seed(p.baseUrl, p.ownerToken, p.room.id, 3);
    await waitFor(() => all!.unread === 3 && one!.unread === 3, 'three unread');
    await all!.updateComplete;
    expect(all!.hidden).to.equal(false);
    expect(shown(all!)).to.equal('3');
    expect(all!.label).to.equal('3 unread messages');
    expect(all!.shadowRoot!.querySelector('.sr-only')!.textContent).to.equal('3 unread messages');
    await expect(all).to.be.accessible();

    const chat = document.createElement('motoreach-chat') as MotoreachChat;
    chat.client = admin;
    chat.requestId = p.room.id;
    wrap.append(chat);
    await waitFor(() => all!.unread === 0 && one!.unread === 0, 'read by opening the chat');
    await all!.updateComplete;
    expect(all!.hidden).to.equal(true);
    expect(changes.at(-1)).to.equal(0);
    expect(changes).to.include(3);
    expect(notificationSockets(urls)).to.equal(1);
  });

  it('caps the number at max and offers a dot', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.ownerToken, p.room.id, 3);
    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-badge max="2" .client=${p.admin}></motoreach-badge>
      <motoreach-badge dot .client=${p.admin}></motoreach-badge>
    </div>`);
    const [capped, dot] = [...wrap.querySelectorAll('motoreach-badge')] as MotoreachBadge[];
    await waitFor(() => capped!.unread === 3 && dot!.unread === 3, 'counts');
    await capped!.updateComplete;
    await dot!.updateComplete;
    expect(shown(capped!)).to.equal('2+');
    expect(shown(dot!)).to.equal('');
    expect(dot!.label).to.equal('3 unread messages');
    expect(getComputedStyle(dot!.shadowRoot!.querySelector('[part=base]')!).width).to.equal('10px');
  });

  it("resets the host page's inherited text styles", async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.ownerToken, p.room.id, 12);
    const wrap = await fixture<HTMLElement>(html`<div style="letter-spacing: 4px; text-shadow: 1px 1px red; text-indent: 2em; text-transform: lowercase">
      <motoreach-badge max="9" .client=${p.admin}></motoreach-badge>
    </div>`);
    const badge = wrap.querySelector<MotoreachBadge>('motoreach-badge')!;
    await waitFor(() => badge.unread === 12, 'count');
    await badge.updateComplete;
    const base = getComputedStyle(badge.shadowRoot!.querySelector('[part=base]')!);
    expect([shown(badge), base.letterSpacing, base.textShadow, base.textIndent, base.textTransform]).to.deep.equal(['9+', 'normal', 'none', '0px', 'none']);
  });

  it('shares one notifications socket between widgets configured with the same base-url and token', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const urls: string[] = [];
    const Original = window.WebSocket;
    window.WebSocket = recordingWebSocket(urls) as unknown as typeof WebSocket;
    try {
      const wrap = await fixture<HTMLElement>(html`<div>
        <motoreach-badge base-url=${p.baseUrl} token=${p.adminToken}></motoreach-badge>
        <motoreach-badge base-url=${p.baseUrl} token=${p.adminToken} request-id=${p.room.id}></motoreach-badge>
      </div>`);
      await seed(p.baseUrl, p.ownerToken, p.room.id, 1);
      const badges = [...wrap.querySelectorAll('motoreach-badge')] as MotoreachBadge[];
      await waitFor(() => badges.every((b) => b.unread === 1), 'both count');
      expect(notificationSockets(urls)).to.equal(1);
    } finally {
      window.WebSocket = Original;
    }
  });
});
