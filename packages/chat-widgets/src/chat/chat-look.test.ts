import { expect, fixture, html } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { avatarColor, initials } from '../shared/avatar.js';
import { nextEvent, pair, seed, token, uid, waitFor } from '../../test/helpers.js';
import { $, $$, bubbles, connected, typeAndSubmit } from '../../test/dom.js';

const text = (el: Element | null) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();

describe('<motoreach-chat> look', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('has a header with the request title, the other side and the connection state', async () => {
    const p = await pair('Chain slips');
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 1);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await waitFor(() => $(el, '.header .title') && $(el, '.header .peer'), 'title fetched, history read');
    const header = $(el, '[part~="header"]')!;
    expect(text(header.querySelector('.title'))).to.equal('Chain slips');
    expect(text(header.querySelector('.peer'))).to.equal('Bruno');
    const connection = header.querySelector<HTMLElement>('[part~="connection"]')!;
    expect(connection.dataset['state']).to.equal('open');
    expect(text(connection)).to.equal('Connected');
    expect(header.querySelector('.dot')!.getAttribute('aria-hidden')).to.equal('true');
    expect(text(header.querySelector('[part~="avatar"]'))).to.equal('B');

    el.heading = 'Ana and the workshop';
    await el.updateComplete;
    expect(text($(el, '.header .title'))).to.equal('Ana and the workshop');
    await expect(el).to.be.accessible();
  });

  it('names the other side from peer-name before anyone has written, and keeps that name when they write', async () => {
    const p = await pair('Brakes squeal');
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat peer-name="Garage Dupont" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await waitFor(() => text($(el, '.header .title')) === 'Brakes squeal', 'the request title');
    expect(text($(el, '.header .peer'))).to.equal('Garage Dupont');
    expect(text($(el, '.header [part~="avatar"]'))).to.equal('GD');

    await seed(p.baseUrl, p.adminToken, p.room.id, 1);
    await waitFor(() => bubbles(el, 'other').length === 1, 'the workshop message');
    expect(text($(el, '.header .peer'))).to.equal('Garage Dupont');
    el.peerName = null;
    await el.updateComplete;
    expect(text($(el, '.header .peer'))).to.equal('Bruno');
  });

  it('asks for the request title only when no heading is given, and when the heading is removed', async () => {
    const p = await pair('Mirror cracked');
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat heading="My bike" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    expect(text($(el, '.header .title'))).to.equal('My bike');
    el.heading = null;
    await waitFor(() => text($(el, '.header .title')) === 'Mirror cracked', 'the request title');
  });

  it('says "Not connected" in the header without a room, and takes a slotted header instead of its own', async () => {
    const el = await fixture<MotoreachChat>(html`<motoreach-chat></motoreach-chat>`);
    expect($(el, '[part~="connection"]')!.dataset['state']).to.equal('closed');
    expect(text($(el, '[part~="connection"]'))).to.equal('Not connected');

    const custom = await fixture<MotoreachChat>(html`<motoreach-chat><div slot="header" id="mine">My header</div></motoreach-chat>`);
    const slot = $(custom, 'slot[name="header"]') as HTMLSlotElement;
    expect(slot.assignedElements().map((e) => e.id)).to.deep.equal(['mine']);
    expect(slot.closest('[part~="header"]')).to.not.equal(null);
  });

  it('shows an initials avatar once per run of the other side, in a colour derived from the sender', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 2, (i) => `admin ${i}`);
    await seed(p.baseUrl, p.ownerToken, p.room.id, 1, () => 'owner');
    await seed(p.baseUrl, p.adminToken, p.room.id, 1, () => 'admin 3');
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $$(el, '.msg').length === 4, 'history');
    const avatars = $$(el, '.log [part~="avatar"]');
    // The last message of each run carries it: "admin 2" and "admin 3".
    expect(avatars.map((a) => text(a.closest('.msg')!.querySelector('.bubble')))).to.deep.equal(['admin 2', 'admin 3']);
    expect(avatars.map((a) => text(a))).to.deep.equal(['B', 'B']);
    const colour = String(avatarColor({ id: p.adminId, role: 'workshop_admin' }));
    expect(avatars.map((a) => a.dataset['color'])).to.deep.equal([colour, colour]);
    expect(avatars.every((a) => a.getAttribute('aria-hidden') === 'true')).to.equal(true);
    expect($$(el, '.msg.own [part~="avatar"]').length).to.equal(0);
  });

  it('shows three animated dots before "… is typing", hidden from screen readers, still with reduced motion', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const owner = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    const admin = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.admin} request-id=${p.room.id}></motoreach-chat>`);
    await connected(owner);
    await connected(admin);
    const area = $(admin, 'textarea') as HTMLTextAreaElement;
    area.value = 'We';
    area.dispatchEvent(new Event('input'));
    await waitFor(() => $(owner, '.typing .dots'), 'typing dots');
    expect(text($(owner, '.typing'))).to.equal('Bruno is typing…');
    const dots = $(owner, '.typing .dots')!;
    expect(dots.getAttribute('aria-hidden')).to.equal('true');
    expect(dots.children.length).to.equal(3);
    expect(getComputedStyle(dots.children[0]!).animationName).to.equal('dot');
    await emulateMedia({ reducedMotion: 'reduce' });
    try {
      expect(getComputedStyle(dots.children[0]!).animationName).to.equal('none');
    } finally {
      await emulateMedia({ reducedMotion: 'no-preference' });
    }
  });

  it('makes initials and colours the same way everywhere', () => {
    expect([initials('Ana Sousa'), initials('  bruno  '), initials('Élodie de la Fontaine'), initials('𝒜lex'), initials(''), initials(null)]).to.deep.equal([
      'AS',
      'B',
      'ÉF',
      '𝒜',
      '?',
      '?',
    ]);
    expect(avatarColor({ id: 'a-bruno', role: 'workshop_admin' })).to.equal(avatarColor({ id: 'a-bruno', role: 'workshop_admin' }));
    const colours = new Set(Array.from({ length: 40 }, (_, i) => avatarColor({ id: `person-${i}`, role: 'user' })));
    expect(colours.size).to.equal(8);
  });

  it('shows one tick when sent and two when read, with the words for screen readers only', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const owner = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(owner);
    await typeAndSubmit(owner, 'Is it ready?');
    await waitFor(() => $(owner, '.msg.own')?.dataset['state'] === 'sent', 'sent');
    const state = () => $(owner, '.msg.own .state')!;
    expect(state().dataset['ticks']).to.equal('sent');
    expect(state().querySelectorAll('svg path').length).to.equal(1);
    expect(text(state().querySelector('.sr-only'))).to.equal('Sent');
    expect(text(state())).to.equal('Sent');
    // The meta sits inside the bubble, at its end.
    const bubble = $(owner, '.msg.own .bubble')!.getBoundingClientRect();
    const meta = $(owner, '.msg.own .meta')!.getBoundingClientRect();
    expect(meta.bottom).to.be.at.most(bubble.bottom);
    expect(meta.right).to.be.at.most(bubble.right);
    expect(meta.top).to.be.at.least(bubble.top);

    const admin = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.admin} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => bubbles(admin, 'other').length === 1, 'admin reads it');
    await waitFor(() => $(owner, '.msg.own')!.dataset['state'] === 'read', 'read');
    expect(state().dataset['ticks']).to.equal('read');
    expect(state().querySelectorAll('svg path').length).to.equal(2);
    expect(text(state())).to.equal('Read');
    await expect(owner).to.be.accessible();
  });

  it('shows a clock while a message waits, with "Sending" for screen readers', async () => {
    const who = { sub: uid('u'), role: 'user' as const, name: 'Ana' };
    // Nothing listens on port 9: the message stays in the outbox.
    const client = new ChatClient({ baseUrl: 'http://127.0.0.1:9', token: await token(who) });
    clients.push(client);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${client} request-id="r-waiting"></motoreach-chat>`);
    await typeAndSubmit(el, 'later');
    await waitFor(() => $(el, '.msg.own .state'), 'pending message');
    expect($(el, '.msg.own')!.dataset['state']).to.equal('pending');
    expect($(el, '.msg.own .state')!.dataset['ticks']).to.equal('pending');
    expect(text($(el, '.msg.own .state'))).to.equal('Sending');
    expect($(el, '.msg.own .state svg')).to.not.equal(null);
  });

  it('shows the character counter only from 90% of the limit', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat max-length="20" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    const counter = $(el, '[part="counter"]')!;
    const type = async (value: string) => {
      area.value = value;
      area.dispatchEvent(new Event('input'));
      await el.updateComplete;
    };
    await type('x'.repeat(17));
    expect(text(counter)).to.equal('');
    expect(getComputedStyle(counter).display).to.equal('none');
    await type('x'.repeat(18));
    expect(text(counter)).to.equal('18 / 20');
    expect(getComputedStyle(counter).display).to.not.equal('none');
    await type('x'.repeat(21));
    expect(text(counter)).to.equal('1 character too many');
  });

  it('does not send on the Enter that confirms an input method composition', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    area.value = 'にほん';
    area.dispatchEvent(new Event('input'));
    await el.updateComplete;
    const enter = (init: KeyboardEventInit = {}) => area.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, ...init }));
    area.dispatchEvent(new CompositionEvent('compositionstart'));
    enter();
    area.dispatchEvent(new CompositionEvent('compositionend'));
    // Safari: the confirming Enter comes after compositionend, as keyCode 229.
    enter({ keyCode: 229 });
    await el.updateComplete;
    expect(area.value).to.equal('にほん');
    expect($$(el, '.msg').length).to.equal(0);
    const sent = nextEvent<CustomEvent>(el, 'motoreach-message-sent');
    enter();
    expect((await sent).detail.message.body).to.equal('にほん');
  });

  it('grows the composer with its lines up to a maximum, then scrolls', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    const one = area.getBoundingClientRect().height;
    el.focus();
    await sendKeys({ type: 'one' });
    for (const line of ['two', 'three']) {
      await sendKeys({ down: 'Shift' });
      await sendKeys({ press: 'Enter' });
      await sendKeys({ up: 'Shift' });
      await sendKeys({ type: line });
    }
    const three = area.getBoundingClientRect().height;
    expect(three).to.be.greaterThan(one * 1.8);
    area.value = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    area.dispatchEvent(new Event('input'));
    await el.updateComplete;
    const max = parseFloat(getComputedStyle(area).maxHeight);
    expect(area.getBoundingClientRect().height).to.equal(max);
    expect(area.scrollHeight).to.be.greaterThan(area.clientHeight);
    expect(area.value.split('\n').length).to.equal(30);
  });

  it('grows the composer by script where the browser lacks field-sizing', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    area.style.setProperty('field-sizing', 'fixed');
    const supports = CSS.supports;
    CSS.supports = ((property: string, value?: string) =>
      property === 'field-sizing' ? false : value === undefined ? supports(property) : supports(property, value)) as typeof CSS.supports;
    try {
      const one = area.getBoundingClientRect().height;
      area.value = 'a\nb\nc';
      area.dispatchEvent(new Event('input'));
      await el.updateComplete;
      expect(area.getBoundingClientRect().height).to.be.greaterThan(one * 1.8);
      area.value = '';
      area.dispatchEvent(new Event('input'));
      await el.updateComplete;
      expect(area.getBoundingClientRect().height).to.equal(one);
    } finally {
      CSS.supports = supports;
    }
  });

  it("resets the host page's inherited text styles: centred page, start-aligned bubbles", async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 1, () => 'a message long enough to wrap onto a second line in a bubble of this width');
    const wrap = await fixture<HTMLElement>(html`<div
      style="text-align: center; letter-spacing: 3px; word-spacing: 7px; text-transform: uppercase; text-indent: 2em; white-space: nowrap; line-height: 3"
    >
      <motoreach-chat .client=${p.owner} request-id=${p.room.id} style="width: 360px"></motoreach-chat>
    </div>`);
    const el = wrap.querySelector('motoreach-chat')!;
    await waitFor(() => $(el, '.msg.other .bubble'), 'message');
    const bubble = getComputedStyle($(el, '.msg.other .bubble')!);
    expect([bubble.textAlign, bubble.letterSpacing, bubble.wordSpacing, bubble.textTransform, bubble.textIndent, bubble.whiteSpace]).to.deep.equal([
      'start',
      'normal',
      '0px',
      'none',
      '0px',
      'pre-wrap',
    ]);
    expect(parseFloat(bubble.lineHeight) / parseFloat(bubble.fontSize)).to.be.closeTo(1.4, 0.01);
    expect(getComputedStyle($(el, 'textarea')!).textAlign).to.equal('start');
    // A rule on the element stops at it as a page's `*` rule does; the page chooses through ::part.
    el.style.textAlign = 'right';
    expect(getComputedStyle($(el, '.msg.other .bubble')!).textAlign).to.equal('start');
    const partRule = document.createElement('style');
    partRule.textContent = 'motoreach-chat::part(bubble) { text-align: right }';
    document.head.append(partRule);
    try {
      expect(getComputedStyle($(el, '.msg.other .bubble')!).textAlign).to.equal('right');
    } finally {
      partRule.remove();
    }
  });
});
