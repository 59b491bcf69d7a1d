import { expect, fixture, html } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import type { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import type { MotoreachBadge } from '../badge/badge.js';
import type { TokenErrorDetail } from '../shared/events.js';
import { type Identity, networkBack, pair, signedToken, startServer, stopServer, storedBodies, token, uid, waitFor } from '../../test/helpers.js';
import { $, bubbles, connected, typeAndSubmit } from '../../test/dom.js';

// Who signs in and out of the widgets configured by attributes: a token removed or naming another
// person signs the previous one out (nothing of theirs stays on the device or on screen), and a
// `token-url` gives a widget fresh tokens from the host.

const ownState = (el: MotoreachChat) => $(el, '.msg.own')?.dataset['state'];
const textarea = (el: MotoreachChat) => $(el, 'textarea') as HTMLTextAreaElement;
const typeDraft = async (el: MotoreachChat, text: string) => {
  textarea(el).value = text;
  textarea(el).dispatchEvent(new Event('input'));
  await el.updateComplete;
};
/** Every localStorage value that holds `text`. */
const stored = (text: string) => Object.keys(localStorage).filter((k) => localStorage.getItem(k)!.includes(text));
const outboxKeys = () => Object.keys(localStorage).filter((k) => k.startsWith('motoreach-outbox:'));

// The host's token endpoint (web-test-runner.config.mjs), under this page's host name so that its
// session cookie goes with `credentials: 'include'` to that other origin.
const tokenUrl = async () => `http://${location.hostname}:${await executeServerCommand<number, undefined>('token-port')}/chat-token`;
const signIn = async (claims: Identity) => {
  const session = uid('s');
  await executeServerCommand('session', { session, claims });
  document.cookie = `session=${session}; path=/`;
  return session;
};
const signOutOfHost = () => (document.cookie = 'session=; path=/; max-age=0');
const tokenRequests = async () => (await executeServerCommand<(string | null)[], undefined>('token-requests'))!;

describe('<motoreach-chat> and <motoreach-badge> signing in and out', () => {
  const clients: ChatClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    signOutOfHost();
    await startServer();
    await tokenRequests();
    for (const key of outboxKeys()) localStorage.removeItem(key);
  });

  it('a token of another person signs the previous one out: their unsent message and draft leave the device and the screen; the new person chats', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const cyToken = await token({ sub: uid('a-cy'), role: 'workshop_admin', workshop_id: p.workshop, name: 'Cy' });
    // The badge counts another room, which nobody reads here.
    const other = await p.owner.createRoom({ workshop_id: p.workshop, title: 'Tyres' });
    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-chat base-url=${p.baseUrl} token=${p.adminToken} request-id=${p.room.id}></motoreach-chat>
      <motoreach-badge base-url=${p.baseUrl} token=${p.adminToken} request-id=${other.id}></motoreach-badge>
    </div>`);
    const el = wrap.querySelector<MotoreachChat>('motoreach-chat')!;
    const badge = wrap.querySelector<MotoreachBadge>('motoreach-badge')!;
    await connected(el);
    await p.owner.room(p.room.id).send('from Ana');
    await p.owner.room(other.id).send('about the tyres');
    await waitFor(() => bubbles(el, 'other').length === 1 && badge.unread === 1, 'Bruno sees it');

    await stopServer();
    await waitFor(() => el.connectionStatus !== 'open', 'the socket is down');
    await typeAndSubmit(el, 'PRIVATE: my door code is 4711');
    await waitFor(() => ownState(el) === 'pending' && stored('4711').length === 1, 'pending, in localStorage');
    await typeDraft(el, 'half-written by Bruno');

    el.token = cyToken;
    badge.token = cyToken;
    await el.updateComplete;
    await badge.updateComplete;
    await waitFor(() => stored('4711').length === 0, "Bruno's outbox wiped");
    expect(outboxKeys().filter((k) => k.includes(p.adminId))).to.deep.equal([]);
    expect(bubbles(el, 'own')).to.deep.equal([]);
    expect(bubbles(el, 'other')).to.deep.equal([]);
    expect(textarea(el).value).to.equal('');
    expect(el.shadowRoot!.textContent).to.not.include('4711');
    expect(el.shadowRoot!.textContent).to.not.include('half-written');
    expect(badge.unread).to.equal(0);

    await startServer();
    networkBack();
    await connected(el);
    await waitFor(() => bubbles(el, 'other').length === 1, "Cy's history");
    expect(bubbles(el, 'other')).to.deep.equal(['from Ana']);
    expect(bubbles(el, 'own')).to.deep.equal([]);
    await typeAndSubmit(el, 'Cy here');
    await waitFor(() => ownState(el) === 'sent', "Cy's message stored");
    const res = await fetch(`${p.baseUrl}/api/service-requests/${p.room.id}/messages/`, { headers: { authorization: `Bearer ${p.ownerToken}` } });
    const onServer = ((await res.json()) as { messages: { body: string; sender: { name: string } }[] }).messages;
    expect(onServer.map((m) => [m.sender.name, m.body])).to.deep.equal([
      ['Ana', 'from Ana'],
      ['Cy', 'Cy here'],
    ]);
  });

  it('removing the token signs that person out: nothing of theirs stays stored or shown, the badge shows nothing', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const other = await p.owner.createRoom({ workshop_id: p.workshop, title: 'Tyres' });
    const wrap = await fixture<HTMLElement>(html`<div>
      <motoreach-chat base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>
      <motoreach-badge base-url=${p.baseUrl} token=${p.ownerToken} request-id=${other.id}></motoreach-badge>
    </div>`);
    const el = wrap.querySelector<MotoreachChat>('motoreach-chat')!;
    const badge = wrap.querySelector<MotoreachBadge>('motoreach-badge')!;
    await connected(el);
    await p.admin.room(p.room.id).send('quote: 120 EUR');
    await p.admin.room(other.id).send('tyres: 300 EUR');
    await waitFor(() => bubbles(el, 'other').length === 1 && badge.unread === 1, 'Ana sees it');
    await stopServer();
    await waitFor(() => el.connectionStatus !== 'open', 'the socket is down');
    await typeAndSubmit(el, 'PRIVATE: my door code is 4711');
    await waitFor(() => stored('4711').length === 1, 'in localStorage');

    el.removeAttribute('token');
    badge.removeAttribute('token');
    await el.updateComplete;
    await badge.updateComplete;
    await waitFor(() => stored('4711').length === 0, "Ana's outbox wiped");
    expect(outboxKeys()).to.deep.equal([]);
    expect(bubbles(el, 'own')).to.deep.equal([]);
    expect(bubbles(el, 'other')).to.deep.equal([]);
    expect(el.connectionStatus).to.equal('idle');
    expect(badge.unread).to.equal(0);
    expect(badge.hidden).to.equal(true);
  });

  it('a message left in localStorage for more than 7 days is not sent: it shows as not sent, with Retry, and leaves storage', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    // What a page closed eight days ago left (its tab's lock is long gone), under the documented key.
    const person = JSON.stringify(['user', p.ownerId]);
    const key = `motoreach-outbox:${JSON.stringify([p.baseUrl, person])}:${p.baseUrl}|user:${p.ownerId}|${p.room.id}#c_closed_long_ago`;
    const written = new Date(Date.now() - 8 * 864e5).toISOString();
    localStorage.setItem(key, JSON.stringify([{ client_id: 'c_old_draft', body: 'PRIVATE: my door code is 4711', created_at: written }]));

    const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await waitFor(() => ownState(el) === 'failed', 'shown as not sent');
    expect(bubbles(el, 'own')).to.deep.equal(['PRIVATE: my door code is 4711']);
    expect($(el, '.msg.own .state')!.textContent!.trim()).to.equal('Not sent');
    expect($(el, '.msg.own .retry')).to.not.equal(null);
    await waitFor(() => stored('4711').length === 0, 'gone from localStorage');
    expect(await storedBodies(p.baseUrl, p.ownerToken, p.room.id)).to.deep.equal([]);
  });

  it('token-url: a widget without a token fetches one with the page\'s cookies, and a fresh one when the server refuses it', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const session = await signIn({ sub: p.ownerId, role: 'user', name: 'Ana' });
    const url = await tokenUrl();
    const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token-url=${url} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    expect(await tokenRequests()).to.deep.equal([session]);
    await typeAndSubmit(el, 'with a token from the host');
    await waitFor(() => ownState(el) === 'sent', 'stored');

    // The server now verifies with another secret: the token in use is refused (4401), and the widget
    // asks the host's endpoint, which signs for the server's new secret.
    await startServer({ jwtSecret: 'rotated-widgets-secret' });
    networkBack();
    await connected(el);
    expect($(el, '.notice')).to.equal(null);
    expect((await tokenRequests()).length).to.be.at.least(1);
    await typeAndSubmit(el, 'after the refresh');
    await waitFor(() => [...el.shadowRoot!.querySelectorAll<HTMLElement>('.msg.own')].every((m) => m.dataset['state'] === 'sent'), 'stored');
    const renewed = await signedToken('rotated-widgets-secret', { sub: p.ownerId, role: 'user', name: 'Ana' });
    expect(await storedBodies(p.baseUrl, renewed, p.room.id)).to.deep.equal(['with a token from the host', 'after the refresh']);
  });

  it('token-url answering for another person (someone else signed in on the site): the previous person is signed out, the widget goes on as the new one', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    await signIn({ sub: p.ownerId, role: 'user', name: 'Ana' });
    const url = await tokenUrl();
    const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token-url=${url} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await stopServer();
    await waitFor(() => el.connectionStatus !== 'open', 'the socket is down');
    await typeAndSubmit(el, 'PRIVATE: my door code is 4711');
    await waitFor(() => stored('4711').length === 1, "in Ana's outbox");

    // Bruno signs in on the site; the chat server comes back verifying with another secret, so Ana's
    // token is refused and the widget asks the site, which now answers for Bruno.
    await signIn({ sub: p.adminId, role: 'workshop_admin', workshop_id: p.workshop, name: 'Bruno' });
    await startServer({ jwtSecret: 'rotated-widgets-secret' });
    networkBack();
    await waitFor(() => stored('4711').length === 0, "Ana's outbox wiped");
    await connected(el);
    expect(bubbles(el, 'own')).to.deep.equal([]);
    await typeAndSubmit(el, 'Bruno here');
    await waitFor(() => ownState(el) === 'sent', "Bruno's message stored");
    const renewed = await signedToken('rotated-widgets-secret', { sub: p.adminId, role: 'workshop_admin', workshop_id: p.workshop, name: 'Bruno' });
    expect(await storedBodies(p.baseUrl, renewed, p.room.id)).to.deep.equal(['Bruno here']);
  });

  it('token-url that gives no token (the host session is over): motoreach-token-error with the status, tried again, and it connects once the host answers', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const url = await tokenUrl();
    const el = document.createElement('motoreach-chat');
    const failures: TokenErrorDetail[] = [];
    el.addEventListener('motoreach-token-error', (e) => failures.push(e.detail));
    el.setAttribute('base-url', p.baseUrl);
    el.setAttribute('token-url', url);
    el.requestId = p.room.id;
    await fixture<HTMLElement>(html`<div></div>`).then((d) => d.append(el));
    await waitFor(() => failures.length === 1, 'the first failure');
    expect(failures).to.deep.equal([{ tokenUrl: url, status: 401 }]);
    expect(el.connectionStatus).to.equal('idle');

    await signIn({ sub: p.ownerId, role: 'user', name: 'Ana' });
    await connected(el);
    expect(failures).to.have.length(1);
    el.remove();
  });
});
