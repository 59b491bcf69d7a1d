import { expect, fixture, html } from '@open-wc/testing';
import { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { pair, seed, waitFor } from '../../test/helpers.js';
import { $, $$, connected } from '../../test/dom.js';

const rowTop = (el: MotoreachChat, text: string) => {
  const log = $(el, '.log')!;
  const bubble = $$(el, '.bubble').find((b) => b.textContent!.trim() === text);
  if (!bubble) throw new Error(`no bubble "${text}"`);
  return bubble.getBoundingClientRect().top - log.getBoundingClientRect().top;
};
const texts = (el: MotoreachChat) => $$(el, '.bubble').map((b) => b.textContent!.trim());

async function readCursor(baseUrl: string, token: string, requestId: string, side: 'user' | 'workshop') {
  const res = await fetch(`${baseUrl}/api/service-requests/${requestId}/`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { read_cursors: Record<string, number> }).read_cursors[side];
}

describe('<motoreach-chat> scrolling', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('loads older messages on scroll-up and keeps the reader exactly where they were', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 120);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} style="height:320px"></motoreach-chat>`);
    await connected(el);
    await waitFor(() => texts(el).includes('message 120'), 'newest page');
    const log = $(el, '.log')!;
    await waitFor(() => log.scrollHeight - log.scrollTop - log.clientHeight < 2, 'at the bottom');
    const first = texts(el)[0]!;
    expect(first).to.equal('message 71');

    log.scrollTop = 0;
    const before = rowTop(el, 'message 71');
    await waitFor(() => texts(el).includes('message 21'), 'older page loaded');
    await el.updateComplete;
    expect(rowTop(el, 'message 71')).to.be.closeTo(before, 1);
    expect(log.scrollTop).to.be.greaterThan(1000);
  });

  it('keeps a bounded window of rows while scrolling through a long history, and jumps back to the latest', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 260);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} style="height:320px"></motoreach-chat>`);
    await connected(el);
    await waitFor(() => texts(el).includes('message 260'), 'newest page');
    const log = $(el, '.log')!;
    let maxRows = 0;
    await waitFor(() => {
      maxRows = Math.max(maxRows, $$(el, '.row').length);
      if (log.scrollTop !== 0) log.scrollTop = 0;
      return texts(el)[0] === 'message 1' && !!$(el, '.edge') && $(el, '.edge')!.textContent!.trim() === 'Start of the conversation';
    }, 'scrolled to the first message', 20_000);
    expect(maxRows).to.be.at.most(150);
    expect(texts(el)).to.not.include('message 260');

    // Back down by scrolling: the window moves forward and reaches the newest message again.
    await waitFor(() => {
      maxRows = Math.max(maxRows, $$(el, '.row').length);
      log.scrollTop = log.scrollHeight;
      return texts(el).at(-1) === 'message 260';
    }, 'scrolled down to the newest', 20_000);
    expect(maxRows).to.be.at.most(150);
    await waitFor(() => !$(el, '.jump'), 'no jump button at the bottom');

    log.scrollTop = 0;
    await waitFor(() => $(el, '.jump'), 'jump button');
    expect($(el, '.jump')!.textContent!.trim()).to.equal('Jump to latest');
    $(el, '.jump')!.click();
    await waitFor(() => texts(el).at(-1) === 'message 260' && log.scrollHeight - log.scrollTop - log.clientHeight < 2, 'back at the latest');
    expect($(el, '.jump')).to.equal(null);
  });

  it('does not pull a reader who scrolled up; counts new messages on a jump button; marks read only when they are seen', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await seed(p.baseUrl, p.adminToken, p.room.id, 30);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} style="height:320px"></motoreach-chat>`);
    await connected(el);
    await waitFor(() => texts(el).includes('message 30'), 'history');
    await waitFor(() => el.shadowRoot && $(el, '.log')!.scrollTop > 0, 'scrolled to the bottom');
    const log = $(el, '.log')!;
    await waitFor(() => log.scrollHeight - log.scrollTop - log.clientHeight < 2, 'at the bottom');
    let cursor = 0;
    const pollCursor = async () => (cursor = (await readCursor(p.baseUrl, p.ownerToken, p.room.id, 'user'))!);
    await pollCursor();
    for (let i = 0; i < 50 && cursor !== 30; i++) await pollCursor();
    expect(cursor).to.equal(30);

    log.scrollTop = 100;
    await waitFor(() => !!$(el, '.jump') || log.scrollTop === 100, 'scrolled up');
    const top = log.scrollTop;
    await seed(p.baseUrl, p.adminToken, p.room.id, 2, (i) => `late ${i}`);
    await waitFor(() => $(el, '.jump')?.textContent?.trim() === '2 new messages', 'jump button counts two');
    expect(log.scrollTop).to.equal(top);
    expect(await readCursor(p.baseUrl, p.ownerToken, p.room.id, 'user')).to.equal(30);

    $(el, '.jump')!.click();
    await waitFor(() => log.scrollHeight - log.scrollTop - log.clientHeight < 2, 'back at the bottom');
    for (let i = 0; i < 50 && cursor !== 32; i++) await pollCursor();
    expect(cursor).to.equal(32);
    expect($(el, '.jump')).to.equal(null);
  });
});
