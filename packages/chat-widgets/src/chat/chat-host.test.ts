// What the host's backend does to a conversation (contract v1.2), as <motoreach-chat> shows it: a
// closed room, the names the host gave the room, system messages with their data, erasure.
import { expect, fixture, html } from '@open-wc/testing';
import type { ChatClient, ChatMessage, RoomInfo } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import type { RoomChangeDetail } from '../shared/events.js';
import { asService, pair, waitFor } from '../../test/helpers.js';
import { $, $$, bubbles, connected, typeAndSubmit } from '../../test/dom.js';

const text = (el: Element | null) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();

type Pair = Awaited<ReturnType<typeof pair>>;
/** The host's backend puts the room (created by the owner) with these fields. */
const putRoom = (p: Pair, fields: Partial<Pick<RoomInfo, 'status' | 'user_name' | 'workshop_name'>>) =>
  asService('PUT', `/api/service-requests/${p.room.id}/`, { user_id: p.ownerId, workshop_id: p.workshop, title: p.room.title, ...fields }, 200);

/** The owner's chat and the admin's, side by side. */
async function bothSides(p: Pair): Promise<[MotoreachChat, MotoreachChat]> {
  const wrap = await fixture<HTMLElement>(html`<div>
    <motoreach-chat id="owner" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>
    <motoreach-chat id="admin" .client=${p.admin} request-id=${p.room.id}></motoreach-chat>
  </div>`);
  return [wrap.querySelector<MotoreachChat>('#owner')!, wrap.querySelector<MotoreachChat>('#admin')!];
}

describe('<motoreach-chat> and the host', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('shows "This conversation is closed" instead of the composer while the host has closed the room, live both ways, and keeps the draft', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await waitFor(() => $(el, '.header .title'), 'the room known');
    expect($(el, '[part=closed]')).to.equal(null);
    const area = $(el, 'textarea') as HTMLTextAreaElement;
    area.value = 'half written';
    area.dispatchEvent(new Event('input'));
    const changes: RoomChangeDetail[] = [];
    el.addEventListener('motoreach-room-change', (e) => changes.push(e.detail));

    await putRoom(p, { status: 'closed' });
    await waitFor(() => $(el, '[part=closed]'), 'the closed state');
    expect(text($(el, '[part=closed]'))).to.equal('This conversation is closed');
    expect($(el, 'textarea')).to.equal(null);
    expect($(el, '[part=composer]')).to.equal(null);
    expect(text($(el, '[role=status][aria-live=polite]'))).to.equal('This conversation is closed');
    expect(changes.map((d) => [d.requestId, d.room.id, d.room.status])).to.deep.equal([[p.room.id, p.room.id, 'closed']]);

    await putRoom(p, { status: 'open' });
    await waitFor(() => $(el, 'textarea'), 'the composer back');
    expect($(el, '[part=closed]')).to.equal(null);
    expect(($(el, 'textarea') as HTMLTextAreaElement).value).to.equal('half written');
    expect(changes.map((d) => d.room.status)).to.deep.equal(['closed', 'open']);
    await typeAndSubmit(el, 'sent after the reopen');
    await waitFor(() => $(el, '.msg.own')?.dataset['state'] === 'sent', 'stored');
  });

  it('opens a closed room read-only, with the reason said once', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await putRoom(p, { status: 'closed' });
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.admin} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await waitFor(() => $(el, '[part=closed]'), 'the closed state');
    expect($(el, 'textarea')).to.equal(null);
    expect(text($(el, '[part=closed]'))).to.equal('This conversation is closed');
    expect(text($(el, '[role=status][aria-live=polite]'))).to.equal('This conversation is closed');
  });

  it("names the other side by the room's names before anyone has written: the workshop for the owner, the owner for the admin, and follows a rename", async () => {
    const p = await pair('Brakes squeak');
    clients.push(p.owner, p.admin);
    await putRoom(p, { user_name: 'Ana Sousa', workshop_name: 'MotoWerk Porto' });
    const [ownerEl, adminEl] = await bothSides(p);
    await waitFor(() => $(ownerEl, '.header .peer') && $(adminEl, '.header .peer'), 'both headers name the other side');
    expect($$(ownerEl, '.msg').length).to.equal(0);
    expect([text($(ownerEl, '.header .title')), text($(ownerEl, '.header .peer')), text($(ownerEl, '.header [part=avatar]'))]).to.deep.equal([
      'Brakes squeak',
      'MotoWerk Porto',
      'MP',
    ]);
    expect([text($(adminEl, '.header .peer')), text($(adminEl, '.header [part=avatar]'))]).to.deep.equal(['Ana Sousa', 'AS']);

    await putRoom(p, { user_name: 'Ana Sousa', workshop_name: 'MotoWerk Braga' });
    await waitFor(() => text($(ownerEl, '.header .peer')) === 'MotoWerk Braga', 'the rename');
    // The host's peer-name still wins.
    ownerEl.peerName = 'My mechanic';
    await ownerEl.updateComplete;
    expect(text($(ownerEl, '.header .peer'))).to.equal('My mechanic');
  });

  // Needs the server's system messages (service POST, contract v1.2) and `data`: passes once they are merged.
  it('renders a system message as a centred notice (part system), its text as text, and the data through renderData, once per message', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const rendered: ChatMessage[] = [];
    const renderData = (m: ChatMessage) => {
      rendered.push(m);
      const quote = document.createElement('span');
      quote.className = 'quote';
      quote.textContent = `Total: ${(m.data as { total: number }).total} EUR`;
      return quote;
    };
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} .renderData=${renderData}></motoreach-chat>`);
    await connected(el);
    await asService('POST', `/api/service-requests/${p.room.id}/messages/`, { body: 'Your <b>quote</b> is ready', data: { total: 120 } }, 201);
    await waitFor(() => $(el, '[part=system]'), 'the notice');
    const notice = $(el, '[part=system]')!;
    expect(text(notice)).to.equal('Your <b>quote</b> is readyTotal: 120 EUR');
    expect(notice.querySelector('b')).to.equal(null);
    expect(text(notice.querySelector('[part=data] .quote'))).to.equal('Total: 120 EUR');
    expect($$(el, '.msg').length).to.equal(0);
    expect(getComputedStyle(notice).textAlign).to.equal('center');
    expect(text($(el, '[role=status][aria-live=polite]'))).to.equal('Your <b>quote</b> is ready');
    // Renders of the log (a send, its ack) keep the host's node.
    await typeAndSubmit(el, 'thanks');
    await waitFor(() => $(el, '.msg.own')?.dataset['state'] === 'sent', 'stored');
    expect(rendered.map((m) => m.body)).to.deep.equal(['Your <b>quote</b> is ready']);
    expect($(el, '[part=system] .quote')).to.equal(notice.querySelector('.quote'));
  });

  // Needs the server's erasure (DELETE /api/users/{id}/messages/, contract v1.2): passes once it is merged.
  it('shows "Message removed" in place of an erased message, on both sides, live', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const [ownerEl, adminEl] = await bothSides(p);
    await connected(ownerEl);
    await connected(adminEl);
    await typeAndSubmit(ownerEl, 'my phone is 555 0100');
    await waitFor(() => bubbles(adminEl, 'other').length === 1, 'the admin has it');
    await typeAndSubmit(adminEl, 'noted');
    await waitFor(() => bubbles(ownerEl, 'other').length === 1, 'the owner has the answer');
    await asService('DELETE', `/api/users/${p.ownerId}/messages/`, undefined, 'ok');
    await waitFor(() => bubbles(adminEl, 'other')[0] === 'Message removed', 'removed on the admin side');
    await waitFor(() => bubbles(ownerEl, 'own')[0] === 'Message removed', 'removed on the owner side');
    expect(bubbles(adminEl, 'own')).to.deep.equal(['noted']);
    expect(text($(adminEl, '.msg.other .sender'))).to.equal('Unknown');
    expect($(adminEl, '.msg.other .bubble .removed')).to.not.equal(null);
  });
});
