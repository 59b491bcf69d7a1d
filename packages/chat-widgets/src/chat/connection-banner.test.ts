import { expect, fixture, html } from '@open-wc/testing';
import { render, type ReactiveControllerHost } from 'lit';
import { executeServerCommand } from '@web/test-runner-commands';
import { ChatError } from '@motoreach/chat-client';
import '../index.js';
import { ConnectionBanner } from './connection-banner.js';
import type { MotoreachChat } from './chat.js';
import type { MotoreachBadge } from '../badge/badge.js';
import { defaultChatStrings } from '../shared/strings.js';
import type { ErrorDetail } from '../shared/events.js';
import { token, waitFor } from '../../test/helpers.js';
import { $ } from '../../test/dom.js';

// The SDK's `reason` on status events decides what the banner says; the banner keeps no timer.
// The host is a stand-in: what is under test is the banner's reading of statuses and reasons.
function banner() {
  const host: ReactiveControllerHost = {
    addController: () => {},
    removeController: () => {},
    requestUpdate: () => {},
    updateComplete: Promise.resolve(true),
  };
  const b = new ConnectionBanner(host);
  const text = (waiting = 0) => {
    const div = document.createElement('div');
    render(b.render(defaultChatStrings, waiting, 'en'), div);
    return div.textContent!.trim();
  };
  return { b, text };
}

const BASE = 'https://chat.example.com';
const network = new ChatError('network', 'Connection closed (1006)', { closeCode: 1006 });
const unreachable = new ChatError('unreachable', `Can't reach the chat server at ${BASE}`, { baseUrl: BASE, cause: network });

describe('ConnectionBanner', () => {
  it("says connecting while attempts fail, and can't reach with the base URL once the SDK says unreachable", () => {
    const { b, text } = banner();
    b.reset('idle');
    b.update('connecting');
    expect([b.state, text()]).to.deep.equal(['connecting', 'Connecting…']);
    for (const reason of [network, new ChatError('timeout', 't'), new ChatError('rate_limited', 'r', { closeCode: 4429 })]) {
      b.update('connecting', reason);
      expect(b.state, reason.message).to.equal('connecting');
    }
    b.update('connecting', unreachable);
    expect(b.state).to.equal('unreachable');
    expect(text()).to.equal(`Can't reach the chat server at ${BASE}. Retrying…`);
    expect(text(2)).to.equal(`Can't reach the chat server at ${BASE}. Retrying… 2 messages wait to be sent.`);
    b.update('open');
    expect([b.state, text()]).to.deep.equal(['hidden', '']);
  });

  it("says reconnecting when an open socket is lost, and can't reach once the SDK says unreachable", () => {
    const { b, text } = banner();
    b.reset('open');
    expect(b.state).to.equal('hidden');
    b.update('reconnecting', network);
    b.update('reconnecting', new ChatError('unavailable', 'HTTP 503', { status: 503 }));
    expect([b.state, text()]).to.deep.equal(['reconnecting', 'Reconnecting…']);
    b.update('reconnecting', unreachable);
    expect([b.state, text()]).to.deep.equal(['unreachable', `Can't reach the chat server at ${BASE}. Retrying…`]);
  });

  it('follows a room that is already unreachable when it is reset to it', () => {
    const { b } = banner();
    b.reset('connecting', unreachable);
    expect(b.state).to.equal('unreachable');
    b.reset('open');
    expect(b.state).to.equal('hidden');
  });

  it('prefers offline while the browser says so, stays hidden after a clean close, and says can\'t reach when the SDK stopped on a fault', () => {
    const { b, text } = banner();
    b.reset('open');
    b.update('offline', network);
    expect(b.state).to.equal('offline');
    b.update('closed');
    expect(b.state).to.equal('hidden');
    b.stopped();
    expect([b.state, text()]).to.deep.equal(['unreachable', "Can't reach the chat server. Retrying…"]);
  });
});

describe('<motoreach-chat> and <motoreach-badge> on a page whose origin the server does not allow', () => {
  it("say can't reach the chat server at its base URL, report it once as not final, and keep the composer", async () => {
    // The strict server allows https://shop.example only, not this page's origin: the browser only
    // sees sockets closed with 1006, so the SDK's unreachable is all there is to tell.
    const baseUrl = (await executeServerCommand<string, undefined>('strict-server-url'))!;
    const auth = await token({ sub: 'u-origin', role: 'user', name: 'Ana' });
    const errors: [string, ErrorDetail][] = [];
    const reasons: (string | undefined)[] = [];
    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-badge
        base-url=${baseUrl}
        token=${auth}
        @motoreach-error=${(e: CustomEvent<ErrorDetail>) => errors.push(['badge', e.detail])}
      ></motoreach-badge>
      <motoreach-chat
        base-url=${baseUrl}
        token=${auth}
        request-id="r_origin"
        @motoreach-error=${(e: CustomEvent<ErrorDetail>) => errors.push(['chat', e.detail])}
        @motoreach-connection-change=${(e: CustomEvent<{ reason?: ChatError }>) => reasons.push(e.detail.reason?.code)}
      ></motoreach-chat>
    </div>`);
    const chat = wrap.querySelector<MotoreachChat>('motoreach-chat')!;
    expect(wrap.querySelector<MotoreachBadge>('motoreach-badge')!.hidden).to.equal(true);
    expect($(chat, '.banner')!.textContent!.trim()).to.equal('Connecting…');

    await waitFor(() => $(chat, '.banner')?.dataset['state'] === 'unreachable', "can't reach", 15_000);
    expect($(chat, '.banner')!.textContent!.trim()).to.equal(`Can't reach the chat server at ${baseUrl}. Retrying…`);
    expect($(chat, '.banner')!.getAttribute('role')).to.equal('status');
    await waitFor(() => errors.length === 2, 'an error from the chat and one from the badge', 15_000);
    expect(errors.map(([from, d]) => [from, d.error.code, d.error.baseUrl, d.final]).sort()).to.deep.equal([
      ['badge', 'unreachable', baseUrl, false],
      ['chat', 'unreachable', baseUrl, false],
    ]);
    expect(reasons).to.deep.equal(['network', 'unreachable']);
    expect($(chat, '.notice')).to.equal(null);
    expect(($(chat, 'textarea') as HTMLTextAreaElement).disabled).to.equal(false);

    // A second widget on the same request shares the room, unreachable by now: it says so from its first render.
    const second = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${baseUrl} token=${auth} request-id="r_origin"></motoreach-chat>`);
    expect($(second, '.banner')!.textContent!.trim()).to.equal(`Can't reach the chat server at ${baseUrl}. Retrying…`);
  });
});
