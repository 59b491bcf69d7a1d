import { expect, fixture, html } from '@open-wc/testing';
import { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { cdp, pair, seed, waitFor } from '../../test/helpers.js';
import { $, $$, connected } from '../../test/dom.js';

const fromBottom = (log: HTMLElement) => log.scrollHeight - log.scrollTop - log.clientHeight;

describe('<motoreach-chat> on a phone', () => {
  const clients: ChatClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await cdp('Emulation.setTouchEmulationEnabled', { enabled: false });
    await cdp('Emulation.setSafeAreaInsetsOverride', { insets: {} });
  });

  it('writes at 16px on a touch screen, so iOS does not zoom into the composer, and 15px with a mouse', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    expect(getComputedStyle($(el, 'textarea')!).fontSize).to.equal('15px');
    await cdp('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
    await waitFor(() => matchMedia('(pointer: coarse)').matches, 'a touch screen');
    expect(getComputedStyle($(el, 'textarea')!).fontSize).to.equal('16px');
  });

  it("keeps its header and composer out of a phone's safe areas", async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    const composer = () => getComputedStyle($(el, '.composer')!);
    expect([composer().paddingBottom, composer().paddingLeft]).to.deep.equal(['8px', '10px']);
    await cdp('Emulation.setSafeAreaInsetsOverride', { insets: { top: 47, bottom: 34, left: 12, right: 12 } });
    await waitFor(() => composer().paddingBottom === '34px', 'the composer above the home indicator');
    expect([composer().paddingLeft, composer().paddingRight]).to.deep.equal(['12px', '12px']);
    expect(getComputedStyle($(el, '.header')!).paddingTop).to.equal('47px');
  });

  /** A 390 px wide chat of 40 messages in a box whose height the test changes, shown at the newest. */
  async function phoneChat() {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 40);
    const box = await fixture<HTMLElement>(html`<div style="height:640px;width:390px;display:flex;flex-direction:column">
      <motoreach-chat .client=${p.owner} request-id=${p.room.id} style="flex:1;height:auto;min-height:0"></motoreach-chat>
    </div>`);
    const el = box.querySelector('motoreach-chat')!;
    await waitFor(() => $$(el, '.msg').length === 40, 'history');
    const log = $(el, '.log')!;
    await waitFor(() => fromBottom(log) <= 1, 'at the newest message');
    return { box, el, log };
  }

  it('keeps a reader at the newest message there when the chat gets shorter (a keyboard opens) and taller again', async () => {
    const { box, el, log } = await phoneChat();
    const tall = log.clientHeight;
    // A nudge within the bottom's margin as the keyboard opens: its scroll event comes in the next
    // frame, after the resize and before the ResizeObserver, and must not count as scrolling up.
    log.scrollTop -= 1;
    // The keyboard takes 300px: the page (interactive-widget=resizes-content) shrinks the chat's box.
    box.style.height = '340px';
    await waitFor(() => log.clientHeight < tall - 250, 'the log shrank');
    await waitFor(() => fromBottom(log) <= 1, 'still at the newest message after shrinking');
    const newest = $$(el, '.msg').at(-1)!.getBoundingClientRect();
    expect(newest.bottom).to.be.at.most(log.getBoundingClientRect().bottom);
    box.style.height = '640px';
    await waitFor(() => log.clientHeight === tall, 'the log grew back');
    await waitFor(() => fromBottom(log) <= 1, 'still at the newest message after growing');
  });

  it('leaves a reader who scrolled up where they were when the chat gets shorter', async () => {
    const { box, el, log } = await phoneChat();
    await connected(el);
    log.scrollTop = 200;
    log.dispatchEvent(new Event('scroll'));
    // What the reader sees: the first bubble at the top of the list, and where.
    const top = () => {
      const logTop = log.getBoundingClientRect().top;
      const bubble = $$(el, '.bubble').find((b) => b.getBoundingClientRect().bottom > logTop)!;
      return [bubble.textContent, Math.round(bubble.getBoundingClientRect().top - logTop)];
    };
    const before = top();
    const tall = log.clientHeight;
    box.style.height = '340px';
    await waitFor(() => log.clientHeight < tall - 250, 'the log shrank');
    // Two frames: the resize's observer has run.
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    expect(top()).to.deep.equal(before);
    expect(fromBottom(log)).to.be.greaterThan(300);
  });
});
