import { expect, fixture, html } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import { ChatClient, type WebSocketConstructorLike } from '@motoreach/chat-client';
import '../index.js';
import { MotoreachChat } from './chat.js';
import { define } from '../shared/define.js';
import { nextEvent, pair, seed, token, uid, waitFor } from '../../test/helpers.js';
import { $, $$, bubbles, connected, typeAndSubmit } from '../../test/dom.js';

const open = connected;

async function sideBySide(owner: ChatClient, admin: ChatClient, requestId: string) {
  const wrap = await fixture<HTMLElement>(html`<div style="display:flex;gap:8px">
    <motoreach-chat id="owner" .client=${owner} request-id=${requestId} style="width:380px;height:320px"></motoreach-chat>
    <motoreach-chat id="admin" .client=${admin} request-id=${requestId} style="width:380px;height:320px"></motoreach-chat>
  </div>`);
  const ownerEl = wrap.querySelector<MotoreachChat>('#owner')!;
  const adminEl = wrap.querySelector<MotoreachChat>('#admin')!;
  await open(ownerEl);
  await open(adminEl);
  return { ownerEl, adminEl };
}

describe('<motoreach-chat>', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('renders the history of a room with day separator, groups and times', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.ownerToken, p.room.id, 3);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await open(el);
    await waitFor(() => $$(el, '.msg').length === 3, 'three messages');
    expect(bubbles(el, 'own')).to.deep.equal(['message 1', 'message 2', 'message 3']);
    expect($$(el, '.day').map((d) => d.textContent!.trim())).to.deep.equal(['Today']);
    expect($$(el, '.msg.first').length).to.equal(1);
    expect($$(el, '.msg.last').length).to.equal(1);
    const time = $(el, '.msg time')!;
    expect(time.getAttribute('datetime')).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(time.textContent!.trim()).to.match(/^\d{1,2}:\d\d/);
    expect($(el, '.edge')!.textContent!.trim()).to.equal('Start of the conversation');
    expect($(el, '.log')!.getAttribute('role')).to.equal('log');
  });

  it('puts the unread divider above the first message the reader has not read', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 2, (i) => `read ${i}`);
    await fetch(`${p.baseUrl}/api/service-requests/${p.room.id}/messages/read/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${p.ownerToken}` },
      body: JSON.stringify({ last_read_seq: 2 }),
    });
    await seed(p.baseUrl, p.adminToken, p.room.id, 2, (i) => `unread ${i}`);
    const el = document.createElement('motoreach-chat');
    el.client = p.owner;
    el.requestId = p.room.id;
    // What the first render with messages holds: the divider comes with the rows, not a render later.
    let firstWithRows: string[] | null = null;
    const watch = new MutationObserver(() => {
      if ($$(el, '.msg').length) firstWithRows ??= [...el.shadowRoot!.querySelectorAll('.row > .unread, .msg')].map((e) => e.className.split(' ')[0]!);
    });
    const wrap = await fixture<HTMLElement>(html`<div></div>`);
    wrap.append(el);
    watch.observe(el.shadowRoot!, { childList: true, subtree: true });
    await waitFor(() => $$(el, '.msg').length === 4 && $(el, '.unread'), 'history with divider');
    watch.disconnect();
    expect(firstWithRows).to.deep.equal(['msg', 'msg', 'unread', 'msg', 'msg']);
    const row = $(el, '.unread')!.closest('.row')!;
    expect(row.querySelector('.bubble')!.textContent!.trim()).to.equal('unread 1');
    expect($(el, '.unread')!.textContent!.trim()).to.equal('Unread messages');
  });

  it('tells apart an owner and an admin who share an id', async () => {
    const p = await pair('Twins', { sameId: true });
    clients.push(p.owner, p.admin);
    const { ownerEl, adminEl } = await sideBySide(p.owner, p.admin, p.room.id);
    await typeAndSubmit(ownerEl, 'from the owner');
    await waitFor(() => bubbles(adminEl, 'other').length === 1, 'the admin sees it from the other side');
    await typeAndSubmit(adminEl, 'from the admin');
    await waitFor(() => bubbles(ownerEl, 'other').length === 1, 'the owner sees the answer from the other side');
    expect(bubbles(ownerEl, 'own')).to.deep.equal(['from the owner']);
    expect(bubbles(ownerEl, 'other')).to.deep.equal(['from the admin']);
    expect(bubbles(adminEl, 'own')).to.deep.equal(['from the admin']);
    expect(bubbles(adminEl, 'other')).to.deep.equal(['from the owner']);
  });

  it('sends from the owner to the admin and back, with events', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const { ownerEl, adminEl } = await sideBySide(p.owner, p.admin, p.room.id);

    const sent = nextEvent<CustomEvent>(ownerEl, 'motoreach-message-sent');
    const received = nextEvent<CustomEvent>(adminEl, 'motoreach-message-received');
    await typeAndSubmit(ownerEl, 'My brakes squeak');
    expect((await sent).detail.message.body).to.equal('My brakes squeak');
    expect((await received).detail.message.seq).to.equal(1);
    await waitFor(() => bubbles(adminEl, 'other').length === 1, 'admin sees the message');
    expect(bubbles(adminEl, 'other')).to.deep.equal(['My brakes squeak']);
    expect($(adminEl, '.sender')!.textContent!.trim()).to.equal('Ana');
    expect($(adminEl, '[role=status][aria-live=polite]')!.textContent!.trim()).to.equal('Ana: My brakes squeak');

    await typeAndSubmit(adminEl, 'Bring it in on Monday');
    await waitFor(() => bubbles(ownerEl, 'other').length === 1, 'owner sees the answer');
    expect(bubbles(ownerEl, 'other')).to.deep.equal(['Bring it in on Monday']);
    expect(bubbles(ownerEl, 'own')).to.deep.equal(['My brakes squeak']);
    expect(($(ownerEl, 'textarea') as HTMLTextAreaElement).value).to.equal('');
  });

  it('shows "read" (two ticks) on the sender side once the other side has seen the message', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const { ownerEl, adminEl } = await sideBySide(p.owner, p.admin, p.room.id);
    const read = new Promise<CustomEvent>((resolve) =>
      ownerEl.addEventListener('motoreach-read', (e) => {
        if (!e.detail.own) resolve(e);
      }),
    );
    await typeAndSubmit(ownerEl, 'Is it ready?');
    await waitFor(() => $(ownerEl, '.msg.own')?.dataset['state'] === 'sent' || $(ownerEl, '.msg.own')?.dataset['state'] === 'read', 'sent');
    await waitFor(() => bubbles(adminEl, 'other').length === 1, 'admin got it');
    const e = await read;
    expect(e.detail.side).to.equal('workshop');
    expect(e.detail.lastReadSeq).to.equal(1);
    await waitFor(() => $(ownerEl, '.msg.own')!.dataset['state'] === 'read', 'read state shown');
    expect($(ownerEl, '.msg.own .state .sr-only')!.textContent!.trim()).to.equal('Read');
    expect($$(ownerEl, '.msg.own .state svg path').length).to.equal(2);
  });

  it('renders hostile text as text, and auto-links only http(s) with rel=noopener', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const payloads = [
      '<img src=x onerror="window.__xss=1">',
      '<script>window.__xss=2</script>',
      '"><svg onload=window.__xss=3>',
      'javascript:window.__xss=4 and https://example.com/a?b=1.',
    ];
    await seed(p.baseUrl, p.ownerToken, p.room.id, payloads.length, (i) => payloads[i - 1]!);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat linkify .client=${p.admin} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $$(el, '.msg').length === 4, 'four messages');
    expect(bubbles(el, 'other')).to.deep.equal(payloads);
    expect($$(el, '.bubble img, .bubble script, .bubble svg').length).to.equal(0);
    expect((window as unknown as { __xss?: number }).__xss).to.equal(undefined);
    const links = $$(el, '.bubble a') as HTMLAnchorElement[];
    expect(links.map((a) => [a.href, a.rel, a.textContent])).to.deep.equal([['https://example.com/a?b=1', 'noopener noreferrer', 'https://example.com/a?b=1']]);
  });

  it('does not link a URL with a user name, and shows a host that is not ASCII in punycode next to its link', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const payloads = [
      'log in at https://paypal.com@evil.example/login now',
      'https://user:pass@example.com/',
      'see https://раураl.com/login.',
      'https://bücher.example/a?b=1',
      'https://example.com/@user',
    ];
    await seed(p.baseUrl, p.ownerToken, p.room.id, payloads.length, (i) => payloads[i - 1]!);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat linkify .client=${p.admin} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $$(el, '.msg').length === payloads.length, 'the messages');
    const rows = $$(el, '.bubble').map((b) => [
      b.textContent!.trim(),
      [...b.querySelectorAll('a')].map((a) => [a.href, a.textContent]),
      [...b.querySelectorAll('[part="link-host"]')].map((h) => h.textContent),
    ]);
    expect(rows).to.deep.equal([
      ['log in at https://paypal.com@evil.example/login now', [], []],
      ['https://user:pass@example.com/', [], []],
      ['see https://раураl.com/login (xn--l-7sba6dbr.com).', [['https://xn--l-7sba6dbr.com/login', 'https://раураl.com/login']], ['(xn--l-7sba6dbr.com)']],
      ['https://bücher.example/a?b=1 (xn--bcher-kva.example)', [['https://xn--bcher-kva.example/a?b=1', 'https://bücher.example/a?b=1']], ['(xn--bcher-kva.example)']],
      ['https://example.com/@user', [['https://example.com/@user', 'https://example.com/@user']], []],
    ]);
  });

  it('sends with the keyboard only: Shift+Enter adds a line, Enter sends', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await open(el);
    const before = document.createElement('button');
    before.textContent = 'before';
    el.before(before);
    before.focus();
    await sendKeys({ press: 'Tab' });
    expect(el.shadowRoot!.activeElement?.className).to.equal('log');
    await sendKeys({ press: 'Tab' });
    expect(el.shadowRoot!.activeElement?.tagName).to.equal('TEXTAREA');
    await sendKeys({ type: 'first line' });
    await sendKeys({ down: 'Shift' });
    await sendKeys({ press: 'Enter' });
    await sendKeys({ up: 'Shift' });
    await sendKeys({ type: 'second line' });
    expect(($(el, '.counter')!.textContent ?? '').trim()).to.equal('');
    const sent = nextEvent<CustomEvent>(el, 'motoreach-message-sent');
    await sendKeys({ press: 'Enter' });
    expect((await sent).detail.message.body).to.equal('first line\nsecond line');
    expect(bubbles(el, 'own')).to.deep.equal(['first line\nsecond line']);
    expect(el.shadowRoot!.activeElement?.tagName).to.equal('TEXTAREA');
    before.remove();
  });

  it('counts characters and refuses to send over the limit', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat max-length="10" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await open(el);
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    area.value = '12345678901🚗';
    area.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect($(el, '.counter')!.textContent!.trim()).to.equal('2 characters too many');
    expect(($(el, '.send') as HTMLButtonElement).disabled).to.equal(true);
    expect(area.getAttribute('aria-invalid')).to.equal('true');
  });

  it('disables the composer with the reason when the room is refused (403)', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const stranger = new ChatClient({ baseUrl: p.baseUrl, token: await token({ sub: uid('x'), role: 'user', name: 'Eve' }) });
    clients.push(stranger);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${stranger} request-id=${p.room.id}></motoreach-chat>`);
    const error = await nextEvent<CustomEvent>(el, 'motoreach-error');
    expect(error.detail.error.code).to.equal('forbidden');
    await el.updateComplete;
    expect($(el, '.notice')!.textContent!.trim()).to.equal('You are not a participant of this conversation.');
    expect(($(el, 'textarea') as HTMLTextAreaElement).disabled).to.equal(true);
    expect(($(el, '.send') as HTMLButtonElement).disabled).to.equal(true);
  });

  it('switches rooms when request-id changes, and back', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const second = await p.owner.createRoom({ workshop_id: p.workshop, title: 'Oil change' });
    await seed(p.baseUrl, p.adminToken, p.room.id, 1, () => 'about the brakes');
    await seed(p.baseUrl, p.adminToken, second.id, 1, () => 'about the oil');
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => bubbles(el, 'other').join() === 'about the brakes', 'first room');
    el.requestId = second.id;
    await waitFor(() => bubbles(el, 'other').join() === 'about the oil', 'second room');
    await open(el);
    const sent = nextEvent<CustomEvent>(el, 'motoreach-message-sent');
    await typeAndSubmit(el, 'Synthetic please');
    expect((await sent).detail.requestId).to.equal(second.id);
    el.requestId = p.room.id;
    await waitFor(() => bubbles(el, 'other').join() === 'about the brakes' && bubbles(el, 'own').length === 0, 'first room again');
    await open(el);
  });

  it('disables the composer with the reason when the room does not exist (404)', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id="no-such-room"></motoreach-chat>`);
    const error = await nextEvent<CustomEvent>(el, 'motoreach-error');
    expect(error.detail.error.code).to.equal('not_found');
    await el.updateComplete;
    expect($(el, '.notice')!.textContent!.trim()).to.equal('This conversation does not exist.');
    expect(($(el, 'textarea') as HTMLTextAreaElement).disabled).to.equal(true);
  });

  it('works from attributes alone (base-url and token)', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.ownerToken, p.room.id, 1);
    const el = await fixture<MotoreachChat>(
      html`<motoreach-chat base-url=${p.baseUrl} token=${p.adminToken} request-id=${p.room.id}></motoreach-chat>`,
    );
    await waitFor(() => bubbles(el, 'other').length === 1, 'message rendered');
    expect(bubbles(el, 'other')).to.deep.equal(['message 1']);
  });

  it('passes an axe audit, light and dark', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.ownerToken, p.room.id, 2);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat linkify .client=${p.admin} request-id=${p.room.id}></motoreach-chat>`);
    await waitFor(() => $$(el, '.msg').length === 2, 'history');
    await expect(el).to.be.accessible();
    el.theme = 'dark';
    await el.updateComplete;
    expect(getComputedStyle($(el, '.base')!).backgroundColor).to.equal('rgb(22, 27, 34)');
    await expect(el).to.be.accessible();
  });

  it('lays out right-to-left under dir="rtl": own messages on the left', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const wrap = await fixture<HTMLElement>(html`<div dir="rtl" lang="ar">
      <motoreach-chat .client=${p.owner} request-id=${p.room.id} style="width:400px"></motoreach-chat>
    </div>`);
    const el = wrap.querySelector('motoreach-chat')!;
    await open(el);
    await typeAndSubmit(el, 'مرحبا');
    await waitFor(() => $$(el, '.msg.own').length === 1, 'own message');
    const log = $(el, '.log')!.getBoundingClientRect();
    const own = $(el, '.msg.own .bubble')!.getBoundingClientRect();
    expect(own.left - log.left).to.be.lessThan(20);
    expect(log.right - own.right).to.be.greaterThan(150);
    expect(getComputedStyle($(el, '.composer')!).direction).to.equal('rtl');
    const send = $(el, '.send')!.getBoundingClientRect();
    const area = $(el, 'textarea')!.getBoundingClientRect();
    expect(send.right).to.be.lessThan(area.left + 1);
  });

  it('shows the other side typing, and clears it when their message arrives', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const { ownerEl, adminEl } = await sideBySide(p.owner, p.admin, p.room.id);
    const area = $(adminEl, 'textarea') as HTMLTextAreaElement;
    area.value = 'We';
    area.dispatchEvent(new Event('input'));
    await waitFor(() => $(ownerEl, '.typing')!.textContent!.trim() === 'Bruno is typing…', 'typing shown');
    expect($(adminEl, '.typing')!.textContent!.trim()).to.equal('');
    await typeAndSubmit(adminEl, 'We are open until six');
    await waitFor(() => bubbles(ownerEl, 'other').length === 1, 'message');
    await waitFor(() => $(ownerEl, '.typing')!.textContent!.trim() === '', 'typing cleared');
  });

  it('throttles typing events: one "typing" for a burst of keystrokes, "stopped" on send', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const frames: Array<{ type: string; is_typing?: boolean }> = [];
    const Recording = class extends WebSocket {
      override send(data: string) {
        frames.push(JSON.parse(data));
        super.send(data);
      }
    } as unknown as WebSocketConstructorLike;
    const owner = new ChatClient({ baseUrl: p.baseUrl, token: p.ownerToken, WebSocket: Recording });
    clients.push(owner);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${owner} request-id=${p.room.id}></motoreach-chat>`);
    await open(el);
    el.focus();
    await sendKeys({ type: 'Hello there' });
    await sendKeys({ press: 'Enter' });
    await waitFor(() => $(el, '.msg.own')?.dataset['state'] === 'sent', 'sent');
    expect(frames.filter((f) => f.type === 'typing').map((f) => f.is_typing)).to.deep.equal([true, false]);
  });

  it('takes replacement strings and formats numbers and days for the locale', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 1);
    const el = await fixture<MotoreachChat>(
      html`<motoreach-chat locale="de-DE" max-length="1000" .strings=${{ send: 'Senden', composerLabel: 'Nachricht schreiben' }} .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`,
    );
    await waitFor(() => $$(el, '.msg').length === 1, 'history');
    expect($(el, '.send')!.textContent!.trim()).to.equal('Senden');
    expect($(el, 'label')!.textContent).to.equal('Nachricht schreiben');
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    area.value = 'x'.repeat(950);
    area.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect($(el, '.counter')!.textContent!.trim()).to.equal('950 / 1.000');
    expect($(el, '.day')!.textContent!.trim()).to.equal('Heute');
    expect($(el, '.msg time')!.textContent!.trim()).to.match(/^\d\d:\d\d$/);
  });

  it('follows prefers-color-scheme unless the theme attribute says otherwise, with styles kept inside', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const wrap = await fixture<HTMLElement>(html`<div>
      <style>
        .bubble, .log, button { color: rgb(255, 0, 0) !important; background: rgb(0, 255, 0) !important; }
        motoreach-chat::part(send-button) { text-transform: uppercase; }
        motoreach-chat { --motoreach-accent: rgb(128, 0, 64); }
      </style>
      <p class="bubble">page text</p>
      <motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>
    </div>`);
    const el = wrap.querySelector('motoreach-chat')!;
    await open(el);
    const bg = () => getComputedStyle($(el, '.base')!).backgroundColor;
    await emulateMedia({ colorScheme: 'dark' });
    try {
      expect(bg()).to.equal('rgb(22, 27, 34)');
      el.theme = 'light';
      await el.updateComplete;
      expect(bg()).to.equal('rgb(255, 255, 255)');
    } finally {
      await emulateMedia({ colorScheme: 'light' });
    }
    el.theme = 'auto';
    await el.updateComplete;
    expect(bg()).to.equal('rgb(255, 255, 255)');
    expect(getComputedStyle($(el, '.send')!).color).to.equal('rgb(255, 255, 255)');
    expect(getComputedStyle($(el, '.send')!).backgroundColor).to.equal('rgb(128, 0, 64)');
    expect(getComputedStyle($(el, '.send')!).textTransform).to.equal('uppercase');
    expect(getComputedStyle(wrap.querySelector('p.bubble')!).color).to.equal('rgb(255, 0, 0)');
    expect(getComputedStyle(wrap.querySelector('p.bubble')!).borderRadius).to.equal('0px');
    // Constructable stylesheets in the shadow root; nothing added to the document.
    expect(el.shadowRoot!.adoptedStyleSheets.length).to.be.greaterThan(0);
    expect(el.shadowRoot!.querySelectorAll('style').length).to.equal(0);
    expect(document.head.querySelectorAll('style').length).to.equal(0);
  });

  it('loads a second copy of the widgets (the single-file build) with warnings, not errors', async () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(String(args[0]));
    try {
      const standalone = '/packages/chat-widgets/dist/motoreach-chat.min.js';
      const copy = (await import(standalone)) as typeof import('../index.js');
      expect(copy.MotoreachChat).to.not.equal(MotoreachChat);
    } finally {
      console.warn = warn;
    }
    expect(customElements.get('motoreach-chat')).to.equal(MotoreachChat);
    // One per element: chat, badge and inbox.
    expect(warnings.filter((w) => w.includes('is already defined'))).to.have.length(3);
  });

  it('warns instead of throwing when a second copy registers the same tag', () => {
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args);
    try {
      define('motoreach-chat', class extends MotoreachChat {});
      define('motoreach-chat', MotoreachChat);
    } finally {
      console.warn = warn;
    }
    expect(customElements.get('motoreach-chat')).to.equal(MotoreachChat);
    expect(warnings.length).to.equal(1);
    expect(String(warnings[0]![0])).to.contain('<motoreach-chat> is already defined');
  });
});
