import { expect, fixture, html } from '@open-wc/testing';
import { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { asService, networkGone, networkRestored, nextEvent, pair, seed, startServer, waitFor } from '../../test/helpers.js';
import { $, $$, bubbles, connected, typeAndSubmit } from '../../test/dom.js';

/** axe finds nothing, in the light theme and the dark one. */
async function accessibleInBothThemes(el: MotoreachChat): Promise<void> {
  el.theme = 'light';
  await el.updateComplete;
  await expect(el).to.be.accessible();
  el.theme = 'dark';
  await el.updateComplete;
  await expect(el).to.be.accessible();
  el.theme = 'auto';
  await el.updateComplete;
}

const fromBottom = (log: HTMLElement) => log.scrollHeight - log.scrollTop - log.clientHeight;

describe('<motoreach-chat> states', () => {
  const clients: ChatClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    networkRestored();
  });

  it('shows placeholder rows with aria-busy until the first page arrives, then the empty state with the host text', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = document.createElement('motoreach-chat');
    el.client = p.owner;
    el.requestId = p.room.id;
    const hostText = Object.assign(document.createElement('p'), { slot: 'empty', textContent: 'Ask the workshop anything about your request.' });
    el.append(hostText);
    const wrap = await fixture<HTMLElement>(html`<div></div>`);
    wrap.append(el);
    await el.updateComplete;
    expect($(el, '.skeleton')).to.not.equal(null);
    expect($(el, '.log')!.getAttribute('aria-busy')).to.equal('true');
    expect($(el, '.skeleton .sr-only')!.textContent).to.equal('Loading messages…');
    expect($(el, '.empty')).to.equal(null);
    // Not "Connected" before there is anything to show.
    expect($(el, '.connection')!.dataset['state']).to.equal('connecting');
    await accessibleInBothThemes(el);

    await waitFor(() => $(el, '.empty'), 'the empty state');
    expect($(el, '.skeleton')).to.equal(null);
    expect($(el, '.log')!.getAttribute('aria-busy')).to.equal('false');
    const slot = $(el, '.empty slot[name="empty"]') as HTMLSlotElement;
    expect(slot.assignedElements()).to.deep.equal([hostText]);
    await connected(el);
    expect($(el, '.connection')!.dataset['state']).to.equal('open');
    await accessibleInBothThemes(el);

    hostText.remove();
    await typeAndSubmit(el, 'hello');
    await waitFor(() => $(el, '.msg.own'), 'the first message');
    expect($(el, '.empty')).to.equal(null);
  });

  it('says "No messages yet" without host text', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $(el, '.empty'), 'the empty state');
    expect($(el, '.empty')!.textContent!.trim()).to.equal('No messages yet. Say hello!');
  });

  it('goes from placeholder rows to the history of a room that has one, never through the empty state', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 3);
    // A client of its own, which learns who the reader is only once the room opens.
    const el = document.createElement('motoreach-chat');
    el.baseUrl = p.baseUrl;
    el.token = p.ownerToken;
    el.requestId = p.room.id;
    const seen = new Set<string>();
    const wrap = await fixture<HTMLElement>(html`<div></div>`);
    wrap.append(el);
    const watch = new MutationObserver(() => {
      if ($(el, '.empty')) seen.add('empty');
      if ($(el, '.skeleton')) seen.add('skeleton');
    });
    watch.observe(el.shadowRoot!, { childList: true, subtree: true });
    await el.updateComplete;
    seen.add($(el, '.skeleton') ? 'skeleton' : 'no skeleton at first');
    await waitFor(() => $$(el, '.msg').length === 3, 'history');
    await connected(el);
    watch.disconnect();
    expect([...seen]).to.deep.equal(['skeleton']);
    expect($(el, '.skeleton')).to.equal(null);
  });

  it('asks for its socket ticket before it first renders, so that the request travels while it renders', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = document.createElement('motoreach-chat');
    el.baseUrl = p.baseUrl;
    el.token = p.ownerToken;
    el.requestId = p.room.id;
    const wrap = await fixture<HTMLElement>(html`<div></div>`);
    const pageFetch = window.fetch;
    let renderedAtTicket: boolean | null = null;
    window.fetch = (input, init) => {
      if (String(input).endsWith('/api/ws-tickets/')) renderedAtTicket ??= !!el.shadowRoot?.querySelector('.base');
      return pageFetch(input, init);
    };
    try {
      wrap.append(el);
      await waitFor(() => renderedAtTicket !== null, 'the ticket request');
    } finally {
      window.fetch = pageFetch;
    }
    expect(renderedAtTicket).to.equal(false);
    await waitFor(() => $(el, '.empty'), 'the empty state');
  });

  it('builds its time formats while it connects, not once the history is there to show', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const PageDateTimeFormat = Intl.DateTimeFormat;
    const built: string[] = [];
    // A locale no other test uses, so that no formatter of it is cached yet.
    Intl.DateTimeFormat = function (locale?: string | string[], options?: Intl.DateTimeFormatOptions) {
      if (locale === 'en-AU') built.push(options?.dateStyle ?? options?.timeStyle ?? '');
      return new PageDateTimeFormat(locale, options);
    } as typeof Intl.DateTimeFormat;
    try {
      // A server that never answers: the widget waits for its history, and is otherwise idle.
      const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url="http://127.0.0.1:9" token=${p.ownerToken} request-id=${p.room.id} locale="en-AU"></motoreach-chat>`);
      await waitFor(() => built.length === 2, 'the time formats');
      expect(built).to.deep.equal(['short', 'full']);
      expect($(el, '.skeleton')).to.not.equal(null);
      el.remove();
    } finally {
      Intl.DateTimeFormat = PageDateTimeFormat;
    }
  });

  it('says "Connecting…" without building a number format, whose first one in a page costs milliseconds', async () => {
    const PageNumberFormat = Intl.NumberFormat;
    const built: (string | string[] | undefined)[] = [];
    Intl.NumberFormat = function (locale?: string | string[], options?: Intl.NumberFormatOptions) {
      built.push(locale);
      return new PageNumberFormat(locale, options);
    } as typeof Intl.NumberFormat;
    try {
      // A server that never answers: the widget stays connecting.
      const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url="http://127.0.0.1:9" token="t" request-id="r" locale="en-NZ"></motoreach-chat>`);
      await el.updateComplete;
      expect($(el, '.banner')!.textContent!.trim()).to.equal('Connecting…');
      expect(built).to.deep.equal([]);
      el.remove();
    } finally {
      Intl.NumberFormat = PageNumberFormat;
    }
  });

  it('shows offline as soon as the browser says so, and reconnects as soon as it is back', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    const change = nextEvent<CustomEvent>(el, 'motoreach-connection-change');
    networkGone();
    expect((await change).detail.status).to.equal('offline');
    await el.updateComplete;
    expect($(el, '.banner')!.dataset['state']).to.equal('offline');
    expect($(el, '.banner')!.textContent!.trim()).to.equal('You are offline.');
    await accessibleInBothThemes(el);
    networkRestored();
    await connected(el);
  });

  it('says why a message was not sent, with a Retry at least 32px tall that gives focus back to the composer', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await startServer({ maxBodyChars: 10 });
    await waitFor(() => el.connectionStatus !== 'open', 'socket dropped by the restart');
    await connected(el);
    try {
      await typeAndSubmit(el, 'a body longer than ten');
      await waitFor(() => $(el, '.msg.own.failed .retry'), 'retry control');
      expect($(el, '.msg.own .failure')!.textContent).to.equal('the server refused it');
      const retry = $(el, '.retry')!;
      expect(retry.getBoundingClientRect().height).to.be.at.least(32);
      await accessibleInBothThemes(el);
      retry.focus();
      retry.click();
      await el.updateComplete;
      expect(el.shadowRoot!.activeElement).to.equal($(el, 'textarea'));
    } finally {
      await startServer();
    }
  });

  it('offers the way back to the newest message whenever the reader is more than a screen above it', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 40);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} style="height:400px"></motoreach-chat>`);
    await waitFor(() => $$(el, '.msg').length === 40, 'history');
    const log = $(el, '.log')!;
    await waitFor(() => fromBottom(log) <= 1, 'at the newest message');
    // Half a screen up: no button.
    log.scrollTop -= log.clientHeight / 2;
    await waitFor(() => fromBottom(log) > 0, 'scrolled');
    log.dispatchEvent(new Event('scroll'));
    await el.updateComplete;
    expect($(el, '.jump')).to.equal(null);
    log.scrollTop -= log.clientHeight;
    log.dispatchEvent(new Event('scroll'));
    await el.updateComplete;
    expect($(el, '.jump')!.textContent!.trim()).to.equal('Jump to latest');
    await accessibleInBothThemes(el);
    $(el, '.jump')!.click();
    await waitFor(() => fromBottom(log) <= 1 && !$(el, '.jump'), 'back at the newest message');
  });

  it('folds a message over 600 characters behind "Read more"', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const words = Array.from({ length: 800 }, (_, i) => `word${i}`).join(' ');
    await seed(p.baseUrl, p.adminToken, p.room.id, 1, () => words.slice(0, 4000));
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} style="width:390px;height:640px"></motoreach-chat>`);
    await waitFor(() => $(el, '.msg.other .bubble'), 'the long message');
    const bubble = $(el, '.msg.other .bubble')!;
    const more = $(el, '.more')!;
    expect(more.textContent).to.equal('Read more');
    const shown = bubble.textContent!.replace('Read more', '');
    expect(shown.endsWith('…')).to.equal(true);
    expect(shown.length).to.be.within(320, 482);
    expect(words.startsWith(shown.slice(0, -1))).to.equal(true);
    expect(bubble.getBoundingClientRect().height).to.be.below(480);
    expect(more.getBoundingClientRect().height).to.be.at.least(32);
    await accessibleInBothThemes(el);
    more.click();
    await el.updateComplete;
    expect(bubbles(el, 'other')).to.deep.equal([words.slice(0, 4000)]);
    expect($(el, '.more')).to.equal(null);
  });

  it('makes links clickable by default, still refusing user@host look-alikes and showing punycode hosts; linkify="false" turns it off', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await p.admin.room(p.room.id).send('See https://example.com/brakes, not https://paypal.com@evil.example/ or https://раураl.com/');
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $(el, '.msg.other .bubble'), 'the message');
    const links = $$(el, '.bubble a');
    expect(links.map((a) => a.getAttribute('href'))).to.deep.equal(['https://example.com/brakes', 'https://xn--l-7sba6dbr.com/']);
    expect(links.map((a) => a.getAttribute('rel'))).to.deep.equal(['noopener noreferrer', 'noopener noreferrer']);
    expect($(el, '[part="link-host"]')!.textContent).to.equal('(xn--l-7sba6dbr.com)');
    await accessibleInBothThemes(el);
    const off = await fixture<MotoreachChat>(html`<motoreach-chat linkify="false" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $(off, '.msg.other .bubble'), 'the message, without links');
    expect($$(off, '.bubble a')).to.deep.equal([]);
  });

  it('makes each message one unit for a screen reader, named by who ("You"), when, and its state', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 1, () => 'Can you come at nine?');
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $(el, '.msg.other'), 'their message');
    await connected(el);
    await typeAndSubmit(el, 'Yes, see you then');
    await waitFor(() => $(el, '.msg.own')?.dataset['state'] === 'sent', 'sent');
    const own = $(el, '.msg.own')!;
    const other = $(el, '.msg.other')!;
    const when = (msg: HTMLElement) => msg.querySelector('time')!.getAttribute('title');
    expect([own.getAttribute('role'), own.getAttribute('aria-label')]).to.deep.equal(['article', `You, ${when(own)}, Sent`]);
    expect([other.getAttribute('role'), other.getAttribute('aria-label')]).to.deep.equal(['article', `Bruno, ${when(other)}`]);
    // The ticks' words belong to their message, and the body is the message's own words only.
    expect(own.querySelector('.state .sr-only')!.textContent).to.equal('Sent');
    expect(bubbles(el, 'own')).to.deep.equal(['Yes, see you then']);
    // The host backend's notice is one too, named by its time.
    await asService('POST', `/api/service-requests/${p.room.id}/messages/`, { body: 'Your quote is ready' }, 201);
    await waitFor(() => $(el, '[part=system]'), 'the notice');
    const notice = $(el, '[part=system]')!;
    expect([notice.getAttribute('role'), notice.getAttribute('aria-label'), notice.getAttribute('dir')]).to.deep.equal(['article', notice.title, 'auto']);
    expect(notice.textContent).to.equal('Your quote is ready');
    await accessibleInBothThemes(el);
  });
});
