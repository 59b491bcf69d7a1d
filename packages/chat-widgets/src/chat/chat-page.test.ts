import { expect, fixture, html } from '@open-wc/testing';
import { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import type { MotoreachBadge } from '../badge/badge.js';
import { pair, seed, waitFor } from '../../test/helpers.js';
import { $, $$, connected, typeAndSubmit } from '../../test/dom.js';

const HEBREW = 'שלום, אני צריך לראות את זה מחר.';
const ENGLISH = 'I need to see it.';

describe('<motoreach-chat> on the page around it', () => {
  const clients: ChatClient[] = [];
  let hostile: HTMLStyleElement | null = null;
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    hostile?.remove();
    hostile = null;
  });

  it('lays out a Hebrew message right to left on an English page, and the composer follows what is typed', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await p.admin.room(p.room.id).send(HEBREW);
    const wrap = await fixture<HTMLElement>(html`<div lang="en" dir="ltr">
      <motoreach-chat .client=${p.owner} request-id=${p.room.id} style="width:420px"></motoreach-chat>
    </div>`);
    const el = wrap.querySelector('motoreach-chat')!;
    await waitFor(() => $$(el, '.msg.other .bubble').length === 1, 'the Hebrew message');
    const bubble = $(el, '.msg.other .bubble')!;
    expect(bubble.getAttribute('dir')).to.equal('auto');
    expect(bubble.matches(':dir(rtl)')).to.equal(true);
    // The page stays left to right around it.
    expect($(el, '.log')!.matches(':dir(ltr)')).to.equal(true);
    // Empty, the composer takes the page's direction (Chromium gives an empty dir=auto field ltr); written in, the text's.
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    const write = async (text: string) => {
      area.value = text;
      area.dispatchEvent(new Event('input'));
      await el.updateComplete;
    };
    expect(area.hasAttribute('dir')).to.equal(false);
    await write(HEBREW);
    expect(area.getAttribute('dir')).to.equal('auto');
    expect(area.matches(':dir(rtl)')).to.equal(true);
    await write(ENGLISH);
    expect(area.matches(':dir(ltr)')).to.equal(true);
  });

  it('lays out an English message left to right on an Arabic page, with its time on a line of its own', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const wrap = await fixture<HTMLElement>(html`<div lang="ar" dir="rtl">
      <motoreach-chat .client=${p.owner} request-id=${p.room.id} style="width:420px"></motoreach-chat>
    </div>`);
    const el = wrap.querySelector('motoreach-chat')!;
    await connected(el);
    await typeAndSubmit(el, ENGLISH);
    await waitFor(() => $(el, '.msg.own')?.dataset['state'] === 'sent', 'sent');
    const bubble = $(el, '.msg.own .bubble')!;
    expect(bubble.matches(':dir(ltr)')).to.equal(true);
    expect(bubble.textContent).to.equal(ENGLISH);
    // The text starts at the bubble's left edge: ".need to see it" would start with the full stop.
    const range = document.createRange();
    range.selectNodeContents(bubble);
    const first = range.getClientRects()[0]!;
    expect(first.left - bubble.getBoundingClientRect().left).to.be.lessThan(16);
    expect(getComputedStyle(bubble, '::after').display).to.equal('block');
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    expect(area.matches(':dir(rtl)')).to.equal(true);
    area.value = ENGLISH;
    area.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect(area.matches(':dir(ltr)')).to.equal(true);
  });

  it("keeps its own look on a hostile page: the page's * rule, a 62.5% root font size and button { all: unset } do not reach in", async () => {
    hostile = document.createElement('style');
    hostile.textContent = '* { box-sizing: content-box; text-align: center } html { font-size: 62.5% } button { all: unset }';
    document.head.append(hostile);
    expect(getComputedStyle(document.documentElement).fontSize).to.equal('10px');
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 1, () => 'A reply from the workshop that is long enough to wrap onto a second line in a bubble.');
    // The badge counts another request, which the chat does not mark read.
    const other = await p.owner.createRoom({ workshop_id: p.workshop, title: 'Oil change' });
    await seed(p.baseUrl, p.adminToken, other.id, 1);
    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-chat .client=${p.owner} request-id=${p.room.id} style="width:420px"></motoreach-chat>
      <motoreach-badge .client=${p.owner} request-id=${other.id}></motoreach-badge>
    </div>`);
    const el = wrap.querySelector('motoreach-chat')!;
    const badge = wrap.querySelector('motoreach-badge') as MotoreachBadge;
    await waitFor(() => $$(el, '.msg.other').length === 1 && badge.unread === 1, 'the message, counted by the badge');
    // The page's rule reaches the host, and stops there.
    expect(getComputedStyle(el).textAlign).to.equal('center');
    const bubble = $(el, '.msg.other .bubble')!;
    const style = getComputedStyle(bubble);
    expect([style.textAlign, style.fontSize, style.boxSizing]).to.deep.equal(['start', '15px', 'border-box']);
    expect(getComputedStyle($(el, '.title')!).textAlign).to.equal('start');
    const area = getComputedStyle($(el, 'textarea')!);
    expect([area.fontSize, area.textAlign, area.minHeight]).to.deep.equal(['15px', 'start', '40px']);
    const send = $(el, '.send')!;
    expect(send.getBoundingClientRect().width).to.equal(40);
    expect(getComputedStyle(send).backgroundColor).to.equal('rgb(10, 88, 202)');
    // 30 of the widget's own rem, 16px each, not of the page's 10px.
    expect(el.getBoundingClientRect().height).to.equal(480);
    await expect(el).to.be.accessible();
    el.theme = 'dark';
    await el.updateComplete;
    await expect(el).to.be.accessible();
    await badge.updateComplete;
    const base = badge.shadowRoot!.querySelector<HTMLElement>('[part="base"]')!;
    expect([getComputedStyle(base).fontSize, getComputedStyle(base).textAlign, base.getBoundingClientRect().height]).to.deep.equal(['12px', 'start', 20]);
  });

  it('takes every size from --motoreach-font-size', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} style="--motoreach-font-size:18px"></motoreach-chat>`);
    await connected(el);
    expect(getComputedStyle($(el, 'textarea')!).fontSize).to.equal('18px');
    // 2.5 of the widget's rem: 18 / 15 * 16 px each.
    expect($(el, '.send')!.getBoundingClientRect().width).to.be.closeTo(48, 0.01);
  });
});
