// <motoreach-inbox> against the real reference server: rows for both sides, live updates from the
// notifications socket, search and the Unread filter, paging, the keyboard, states, axe.
import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { render, type ReactiveControllerHost } from 'lit';
import { ChatClient, type Message, type RoomSummary } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachInbox } from './inbox.js';
import type { MotoreachChat } from '../chat/chat.js';
import type { SelectDetail } from '../shared/events.js';
import { defaultInboxStrings } from '../shared/strings.js';
import { renderRow } from './inbox-row.js';
import { InboxList } from './inbox-list.js';
import { formatAgo } from '../shared/time.js';
import { asService, seed, serverUrl, token, uid, waitFor } from '../../test/helpers.js';
import { $, $$ } from '../../test/dom.js';

const text = (el: Element | null) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
/** Each row as [title, peer, preview, count shown]. */
const rows = (el: MotoreachInbox) =>
  $$(el, '[role=option]').map((r) => [
    text(r.querySelector('.title')),
    text(r.querySelector('.peer')),
    text(r.querySelector('.preview')),
    text(r.querySelector('.count [aria-hidden]')),
  ]);
const titles = (el: MotoreachInbox) => $$(el, '[role=option] .title').map((t) => text(t));
const loaded = (el: MotoreachInbox) => waitFor(() => !el.loading && $(el, '[role=listbox]')?.getAttribute('aria-busy') === 'false', 'the first page');

/** A workshop with its admin, an owner, and rooms the host's backend put under its own ids (with names). */
async function workshop() {
  const baseUrl = await serverUrl();
  const workshopId = uid('w');
  const ownerId = uid('u');
  const adminToken = await token({ sub: uid('a'), role: 'workshop_admin', workshop_id: workshopId, name: 'Bruno' });
  const ownerToken = await token({ sub: ownerId, role: 'user', name: 'Ana' });
  const admin = new ChatClient({ baseUrl, token: adminToken, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
  const owner = new ChatClient({ baseUrl, token: ownerToken, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
  const put = async (title: string, fields: Record<string, unknown> = {}) => {
    const id = uid('r');
    await asService('PUT', `/api/service-requests/${id}/`, { user_id: ownerId, workshop_id: workshopId, title, ...fields }, 'ok');
    return id;
  };
  return { baseUrl, workshopId, ownerId, adminToken, ownerToken, admin, owner, put };
}

describe('<motoreach-inbox>', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it("shows each request with the other side's name, the last message, a relative time and the unread count, for both sides", async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    const named = await w.put('Oil change', { user_name: 'Ana Sousa', workshop_name: 'Moto Porto' });
    const unnamed = await w.put('Chain noise');
    const quiet = await w.put('Mirror loose', { workshop_name: 'Moto Porto' });
    await seed(w.baseUrl, w.ownerToken, unnamed, 1, () => 'the chain rattles');
    await seed(w.baseUrl, w.ownerToken, named, 2, (i) => (i === 1 ? 'hello' : 'when can I   bring\nit in?'));
    await asService('POST', `/api/service-requests/${quiet}/messages/`, { body: 'Parts ordered' }, 'ok');

    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-inbox id="admin" .client=${w.admin}></motoreach-inbox>
      <motoreach-inbox id="owner" .client=${w.owner}></motoreach-inbox>
    </div>`);
    const admin = wrap.querySelector<MotoreachInbox>('#admin')!;
    const owner = wrap.querySelector<MotoreachInbox>('#owner')!;
    await loaded(admin);
    await loaded(owner);
    expect(rows(admin)).to.deep.equal([
      ['Mirror loose', '', 'Parts ordered', '1'],
      ['Oil change', 'Ana Sousa', 'when can I bring it in?', '2'],
      ['Chain noise', 'Ana', 'the chain rattles', '1'],
    ]);
    expect(rows(owner)).to.deep.equal([
      ['Mirror loose', 'Moto Porto', 'Parts ordered', '1'],
      ['Oil change', 'Moto Porto', 'You: when can I bring it in?', ''],
      ['Chain noise', '', 'You: the chain rattles', ''],
    ]);
    const [system, own, read] = [0, 1, 2].map((i) => $$(owner, '[role=option]')[i]!);
    expect(system!.querySelector('.preview')!.getAttribute('part')).to.equal('preview preview-system');
    expect(getComputedStyle(system!.querySelector('.preview')!).fontStyle).to.equal('italic');
    const adminRow = $$(admin, '[role=option]')[1]!;
    expect(getComputedStyle(adminRow.querySelector('.title')!).fontWeight).to.equal('700');
    expect(getComputedStyle(read!.querySelector('.title')!).fontWeight).to.equal('500');
    expect(own!.getAttribute('part')).to.equal('row');
    expect(adminRow.getAttribute('part')).to.equal('row row-unread');
    expect(text(adminRow.querySelector('.count .sr-only'))).to.equal('2 unread messages');
    expect(text(adminRow.querySelector('time'))).to.equal('now');
    expect(adminRow.querySelector('.preview')!.getAttribute('dir')).to.equal('auto');
    expect(adminRow.querySelector('.title')!.getAttribute('dir')).to.equal('auto');
  });

  it('moves a room with a new message to the top with its new count, drops the count when a chat on the client reads it, and follows a closed room', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    const first = await w.put('First');
    const second = await w.put('Second');
    await seed(w.baseUrl, w.ownerToken, first, 1);
    await seed(w.baseUrl, w.ownerToken, second, 1);
    const el = await fixture<MotoreachInbox>(html`<motoreach-inbox .client=${w.admin}></motoreach-inbox>`);
    await loaded(el);
    expect(titles(el)).to.deep.equal(['Second', 'First']);

    await seed(w.baseUrl, w.ownerToken, first, 2, (i) => `again ${i}`);
    await waitFor(() => rows(el)[0]?.[3] === '3', 'First on top with 3 unread');
    expect(rows(el)).to.deep.equal([
      ['First', 'Ana', 'again 2', '3'],
      ['Second', 'Ana', 'message 1', '1'],
    ]);

    const chat = document.createElement('motoreach-chat') as MotoreachChat;
    chat.client = w.admin;
    chat.requestId = first;
    // Above the inbox, in view: a chat marks read only what is on screen.
    el.before(chat);
    await waitFor(() => rows(el)[0]?.[3] === '', 'read in the chat');
    expect(el.rooms.map((r) => [r.id, r.unread])).to.deep.equal([
      [first, 0],
      [second, 1],
    ]);

    // One's own answer from the chat reaches no notifications socket of one's own: the chat's event moves the row.
    const area = chat.shadowRoot!.querySelector('textarea')!;
    area.value = 'Bring it Monday';
    area.dispatchEvent(new Event('input'));
    await chat.updateComplete;
    chat.shadowRoot!.querySelector<HTMLButtonElement>('.send')!.click();
    await waitFor(() => rows(el)[0]?.[2] === 'You: Bring it Monday', 'own answer previewed');

    // The owner's chat on the same page (a demo's two people): its message is the other side's, with its count
    // (the admin's chat gone first, so that nobody reads it).
    chat.remove();
    const ownerChat = document.createElement('motoreach-chat') as MotoreachChat;
    ownerChat.client = w.owner;
    ownerChat.requestId = first;
    el.before(ownerChat);
    await waitFor(() => ownerChat.shadowRoot!.querySelector('textarea'), 'the owner\'s composer');
    const ownerArea = ownerChat.shadowRoot!.querySelector('textarea')!;
    ownerArea.value = 'Monday is fine';
    ownerArea.dispatchEvent(new Event('input'));
    await ownerChat.updateComplete;
    ownerChat.shadowRoot!.querySelector<HTMLButtonElement>('.send')!.click();
    await waitFor(() => rows(el)[0]?.[3] === '1', 'counted as the other side\'s');
    expect(rows(el)[0]).to.deep.equal(['First', 'Ana', 'Monday is fine', '1']);
    ownerChat.remove();

    await asService('PUT', `/api/service-requests/${second}/`, { user_id: w.ownerId, workshop_id: w.workshopId, title: 'Second, renamed', status: 'closed' }, 200);
    await waitFor(() => titles(el)[1] === 'Second, renamed', 'renamed live');
    expect(text($$(el, '[role=option]')[1]!.querySelector('[part=status]'))).to.equal('Closed');
  });

  it('keeps a message sent while a re-read was on its way: the older answer does not put the row back', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    const first = await w.put('First');
    const second = await w.put('Second');
    await seed(w.baseUrl, w.ownerToken, first, 1);
    await seed(w.baseUrl, w.ownerToken, second, 1);
    const list = new InboxList({ requestUpdate: () => {} } as unknown as ReactiveControllerHost, () => 20, () => {});
    list.use(w.admin, { q: '', unread: false });
    await waitFor(() => !list.loading, 'the first page');
    expect(list.rows.map((r) => r.id)).to.deep.equal([second, first]);

    // A re-read the server answers now, whose answer reaches the list only after the admin's send.
    const rooms = w.admin.rooms.bind(w.admin);
    let answered!: () => void;
    let release!: () => void;
    const serverAnswered = new Promise<void>((resolve) => (answered = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    w.admin.rooms = (query) => {
      const answer = rooms(query);
      void answer.then(answered);
      return held.then(() => answer);
    };
    const reread = list.reload();
    await serverAnswered;
    const res = await fetch(`${w.baseUrl}/api/service-requests/${first}/messages/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${w.adminToken}` },
      body: JSON.stringify({ body: 'Bring it Monday' }),
    });
    const sent = ((await res.json()) as { message: Message }).message;
    list.arrived(first, sent);
    release();
    await reread;
    expect(list.rows.map((r) => [r.id, r.last_message?.body, r.last_seq])).to.deep.equal([
      [first, 'Bring it Monday', 2],
      [second, 'message 1', 1],
    ]);
    list.release();
  });

  it('drops a room reassigned to another workshop and shows it in that workshop, live', async () => {
    const w = await workshop();
    const otherWorkshop = uid('w');
    const otherAdmin = new ChatClient({ baseUrl: w.baseUrl, token: await token({ sub: uid('a'), role: 'workshop_admin', workshop_id: otherWorkshop, name: 'Carla' }) });
    clients.push(w.admin, w.owner, otherAdmin);
    const stays = await w.put('Stays');
    const moves = await w.put('Moves', { user_name: 'Ana Sousa' });
    await seed(w.baseUrl, w.ownerToken, moves, 1);
    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-inbox id="old" .client=${w.admin}></motoreach-inbox>
      <motoreach-inbox id="new" .client=${otherAdmin}></motoreach-inbox>
    </div>`);
    const old = wrap.querySelector<MotoreachInbox>('#old')!;
    const fresh = wrap.querySelector<MotoreachInbox>('#new')!;
    await loaded(old);
    await loaded(fresh);
    expect(titles(old)).to.deep.equal(['Moves', 'Stays']);
    expect(titles(fresh)).to.deep.equal([]);

    await asService('PUT', `/api/service-requests/${moves}/`, { user_id: w.ownerId, workshop_id: otherWorkshop, title: 'Moves', user_name: 'Ana Sousa' }, 200);
    await waitFor(() => titles(old).length === 1 && titles(fresh).length === 1, 'moved');
    expect(titles(old)).to.deep.equal(['Stays']);
    expect(rows(fresh)).to.deep.equal([['Moves', 'Ana Sousa', 'message 1', '1']]);
    expect(stays).to.be.a('string');
  });

  it('searches (q) and filters to unread (unread=1) on the server, with the same paging', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    await w.put('Brake pads', { user_name: 'Ana Sousa' });
    const chain = await w.put('Chain', { user_name: 'Rui Brakeman' });
    await w.put('Tyres', { user_name: 'Eva' });
    await seed(w.baseUrl, w.ownerToken, chain, 1);
    const el = await fixture<MotoreachInbox>(html`<motoreach-inbox .client=${w.admin}></motoreach-inbox>`);
    await loaded(el);
    expect(titles(el)).to.deep.equal(['Chain', 'Tyres', 'Brake pads']);

    const search = $(el, 'input[type=search]') as HTMLInputElement;
    expect(search.getAttribute('aria-label')).to.equal('Search requests');
    search.focus();
    await sendKeys({ type: 'brake' });
    await waitFor(() => el.q === 'brake' && !el.loading && titles(el).length === 2, 'searched');
    expect(titles(el)).to.deep.equal(['Chain', 'Brake pads']);

    const filter = $(el, '[part=filter-button]') as HTMLButtonElement;
    expect(filter.getAttribute('aria-pressed')).to.equal('false');
    filter.click();
    await waitFor(() => !el.loading && titles(el).length === 1, 'filtered');
    expect(filter.getAttribute('aria-pressed')).to.equal('true');
    expect(el.unreadOnly).to.equal(true);
    expect(titles(el)).to.deep.equal(['Chain']);

    el.q = 'nothing like it';
    await waitFor(() => !el.loading && $(el, '[part=empty]'), 'no match');
    expect(text($(el, '[part=empty]'))).to.equal('No request matches.');
    expect($(el, '[role=listbox]')!.hidden).to.equal(true);
  });

  it('loads the next page when "Load more" scrolls into view', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    for (let i = 1; i <= 5; i++) await w.put(`Request ${i}`);
    const el = await fixture<MotoreachInbox>(html`<motoreach-inbox page-size="2" style="height: 400px" .client=${w.admin}></motoreach-inbox>`);
    await waitFor(() => titles(el).length === 5, 'all pages, by scrolling');
    expect(titles(el)).to.deep.equal(['Request 5', 'Request 4', 'Request 3', 'Request 2', 'Request 1']);
    expect($(el, '[part=more-button]')).to.equal(null);

    const small = await fixture<MotoreachInbox>(html`<motoreach-inbox page-size="2" style="height: 150px" .client=${w.admin}></motoreach-inbox>`);
    await waitFor(() => titles(small).length >= 2 && !small.loading, 'first page');
    const before = titles(small).length;
    expect(text($(small, '[part=more-button]'))).to.equal('Load more');
    $(small, '.scroller')!.scrollTop = 10_000;
    await waitFor(() => titles(small).length > before, 'the next page on scroll');
  });

  it('is a listbox: arrows, Home and End move the active option, Enter picks it and fires motoreach-select', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    const ids = [];
    for (const t of ['A', 'B', 'C']) ids.push(await w.put(t));
    const picked: SelectDetail[] = [];
    const el = await fixture<MotoreachInbox>(html`<motoreach-inbox .client=${w.admin} @motoreach-select=${(e: CustomEvent<SelectDetail>) => picked.push(e.detail)}></motoreach-inbox>`);
    await loaded(el);
    const list = $(el, '[role=listbox]')!;
    expect(list.getAttribute('aria-label')).to.equal('Service requests');
    const active = () => text(el.shadowRoot!.getElementById(list.getAttribute('aria-activedescendant') ?? '')?.querySelector('.title') ?? null);
    el.focus();
    expect(el.shadowRoot!.activeElement).to.equal(list);
    await el.updateComplete;
    expect(active()).to.equal('C');
    await sendKeys({ press: 'ArrowDown' });
    await el.updateComplete;
    expect(active()).to.equal('B');
    await sendKeys({ press: 'End' });
    await el.updateComplete;
    expect(active()).to.equal('A');
    await sendKeys({ press: 'ArrowDown' });
    await el.updateComplete;
    expect(active()).to.equal('A');
    await sendKeys({ press: 'Home' });
    await sendKeys({ press: 'ArrowDown' });
    await sendKeys({ press: 'ArrowUp' });
    await sendKeys({ press: 'ArrowDown' });
    await el.updateComplete;
    expect(active()).to.equal('B');
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    expect(picked.map((d) => [d.requestId, d.room.title])).to.deep.equal([[ids[1], 'B']]);
    expect(el.selected).to.equal(ids[1]);
    expect($$(el, '[role=option]').map((o) => o.getAttribute('aria-selected'))).to.deep.equal(['false', 'true', 'false']);
    ($$(el, '[role=option]')[2] as HTMLElement).click();
    expect(picked.map((d) => d.requestId)).to.deep.equal([ids[1], ids[0]]);
  });

  it('is busy while loading, then empty with the host\'s text in the slot; axe finds nothing in light and dark', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    const el = await fixture<MotoreachInbox>(html`<motoreach-inbox .client=${w.admin}><span slot="empty">Nothing yet, Bruno.</span></motoreach-inbox>`);
    expect($(el, '[role=listbox]')!.getAttribute('aria-busy')).to.equal('true');
    expect($$(el, '[part=skeleton]').length).to.equal(3);
    await expect(el).to.be.accessible();
    await waitFor(() => !el.loading, 'loaded');
    await el.updateComplete;
    expect($(el, '[role=listbox]')!.getAttribute('aria-busy')).to.equal('false');
    expect((el.shadowRoot!.querySelector('slot[name=empty]') as HTMLSlotElement).assignedNodes().map((n) => n.textContent)).to.deep.equal(['Nothing yet, Bruno.']);
    expect($$(el, '[part=skeleton]').length).to.equal(0);
    await expect(el).to.be.accessible();

    const id = await w.put('Exhaust', { user_name: 'Ana Sousa' });
    await seed(w.baseUrl, w.ownerToken, id, 2);
    await waitFor(() => titles(el).length === 1, 'the new request appears');
    for (const theme of ['light', 'dark'] as const) {
      el.theme = theme;
      el.selected = id;
      await el.updateComplete;
      await expect(el).to.be.accessible();
    }
  });

  it('says why the first page failed, as a passing fault, and loads it on Retry', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    await w.put('Clutch slips');
    // The network fails the first request for the list only (the device was offline a moment).
    let failures = 1;
    const flaky = new ChatClient({
      baseUrl: w.baseUrl,
      token: w.adminToken,
      fetch: (input, init) =>
        String(input).includes('/api/service-requests/?') && failures-- > 0 ? Promise.reject(new TypeError('Failed to fetch')) : fetch(input, init),
    });
    clients.push(flaky);
    const errors: Array<[string, boolean]> = [];
    const el = await fixture<MotoreachInbox>(html`<motoreach-inbox .client=${flaky} @motoreach-error=${(e: CustomEvent) => errors.push([e.detail.error.code, e.detail.final])}></motoreach-inbox>`);
    await waitFor(() => $(el, '[part=error]'), 'the failure');
    expect(text($(el, '[part=error] [role=alert]'))).to.equal("The requests couldn't be loaded.");
    expect(text($(el, '[part=error] button'))).to.equal('Retry');
    await expect(el).to.be.accessible();
    expect(errors).to.deep.equal([['network', false]]);
    expect($(el, '[role=listbox]')!.hidden).to.equal(true);
    ($(el, '.retry') as HTMLButtonElement).click();
    await waitFor(() => titles(el).length === 1, 'loaded on Retry');
    expect(titles(el)).to.deep.equal(['Clutch slips']);
    expect($(el, '[part=error]')).to.equal(null);
    await waitFor(() => el.shadowRoot!.activeElement === $(el, '[role=listbox]'), 'focus on the list, not lost with the button');
  });

  it("keeps its sizes in px whatever the page's root font size and hostile rules", async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    const id = await w.put('Squeak', { user_name: 'Ana Sousa' });
    await seed(w.baseUrl, w.ownerToken, id, 1);
    const style = document.createElement('style');
    style.textContent = 'html { font-size: 62.5% } * { box-sizing: content-box; text-align: center } button { all: unset }';
    document.head.append(style);
    try {
      const el = await fixture<MotoreachInbox>(html`<motoreach-inbox .client=${w.admin}></motoreach-inbox>`);
      await waitFor(() => titles(el).length === 1, 'row');
      const title = getComputedStyle($(el, '.title')!);
      expect([title.fontSize, title.textAlign]).to.deep.equal(['15px', 'start']);
      expect(getComputedStyle($(el, '.search')!).fontSize).to.equal('15px');
      el.style.setProperty('--motoreach-font-size', '20px');
      expect(getComputedStyle($(el, '.title')!).fontSize).to.equal('20px');
    } finally {
      style.remove();
    }
  });

  it('works from base-url and token alone, and shows nothing of the person once the token is removed', async () => {
    const w = await workshop();
    clients.push(w.admin, w.owner);
    const id = await w.put('Headlight flickers', { user_name: 'Ana Sousa' });
    await seed(w.baseUrl, w.ownerToken, id, 1, () => 'only at night');
    const el = await fixture<MotoreachInbox>(html`<motoreach-inbox base-url=${w.baseUrl} token=${w.adminToken}></motoreach-inbox>`);
    await waitFor(() => titles(el).length === 1, 'rows');
    expect(rows(el)).to.deep.equal([['Headlight flickers', 'Ana Sousa', 'only at night', '1']]);
    el.removeAttribute('token');
    await waitFor(() => titles(el).length === 0, 'signed out');
    expect(el.rooms).to.deep.equal([]);
  });

  it('previews attachments, erased messages and rooms without messages as such', () => {
    const base: RoomSummary = {
      id: 'r1', user_id: 'u', workshop_id: 'w', title: 'T', created_at: new Date().toISOString(), status: 'open',
      user_name: null, workshop_name: null, read_cursors: { user: 0, workshop: 0 }, last_seq: 1, unread: 0, last_message: null,
    };
    const message = (fields: Partial<Message> & Record<string, unknown>): Message => ({
      id: 'm', request_id: 'r1', seq: 1, sender: { id: 'u', role: 'user', name: 'Ana' }, body: '', client_id: null, created_at: base.created_at, ...fields,
    });
    const image = { id: 'a1', kind: 'image' as const, name: 'p.jpg', content_type: 'image/jpeg', size: 1, url: 'x' };
    const file = { ...image, id: 'a2', kind: 'file' as const, name: 'q.pdf' };
    const previewOf = (last: Message | null) => {
      const host = document.createElement('div');
      render(
        renderRow({ ...base, last_message: last }, 0, {
          strings: defaultInboxStrings, lang: 'en', me: { id: 'a', role: 'workshop_admin', name: 'Bruno' }, selected: null, active: null, now: new Date(), select: () => {},
        }),
        host,
      );
      return text(host.querySelector('.preview'));
    };
    expect([
      previewOf(message({ attachments: [image] })),
      previewOf(message({ attachments: [image, image] })),
      previewOf(message({ attachments: [image, file], body: 'both' })),
      previewOf(message({ attachments: [file] })),
      previewOf(message({ redacted: true })),
      previewOf(null),
    ]).to.deep.equal(['Photo', '2 photos', '2 files · both', 'File', 'Message removed', 'No messages yet']);
  });

  it('says how long ago: now, minutes, hours, days within a week, then the date', () => {
    const now = new Date(2026, 11, 7, 15, 0, 0);
    const ago = (ms: number) => formatAgo(new Date(now.getTime() - ms), 'now', 'en', now);
    expect([
      ago(59_000),
      ago(5 * 60_000),
      ago(3 * 3600_000),
      formatAgo(new Date(2026, 11, 6, 9, 0), 'now', 'en', now),
      formatAgo(new Date(2026, 11, 3, 9, 0), 'now', 'en', now),
      formatAgo(new Date(2026, 10, 20, 9, 0), 'now', 'en', now),
      formatAgo(new Date(2025, 10, 20, 9, 0), 'now', 'en', now),
      formatAgo(new Date(2026, 11, 6, 9, 0), 'now', 'de', now),
    ]).to.deep.equal(['now', '5 min. ago', '3 hr. ago', 'yesterday', '4 days ago', 'Nov 20', 'Nov 20, 2025', 'gestern']);
  });
});
