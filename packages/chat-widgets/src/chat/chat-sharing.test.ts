import { expect, fixture, html } from '@open-wc/testing';
import type { ChatClient, ChatMessage } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { networkBack, pair, signedToken, startServer, stopServer, storedBodies, token, waitFor } from '../../test/helpers.js';
import { $, bubbles, connected, typeAndSubmit } from '../../test/dom.js';

// A widget removed from the page tears down in a microtask (so that a move within the page keeps
// its room): awaiting one more lets it run.
const removed = async (...els: Element[]) => {
  for (const el of els) el.remove();
  await Promise.resolve();
};

const ownState = (el: MotoreachChat) => $(el, '.msg.own')?.dataset['state'];

function clearDrafts() {
  for (const key of Object.keys(localStorage)) if (key.startsWith('motoreach-outbox:')) localStorage.removeItem(key);
}

describe('<motoreach-chat> sharing rooms and clients', () => {
  const clients: ChatClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await startServer();
    clearDrafts();
  });

  describe('rooms', () => {
    it('keeps chatting in one widget after another one on the same request (same base-url and token) is removed', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const wrap = await fixture<HTMLElement>(html`<div>
        <motoreach-chat id="one" base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>
        <motoreach-chat id="two" base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>
        <motoreach-chat id="admin" .client=${p.admin} request-id=${p.room.id}></motoreach-chat>
      </div>`);
      const [one, two, admin] = (['#one', '#two', '#admin'] as const).map((id) => wrap.querySelector<MotoreachChat>(id)!);
      await connected(one!);
      await connected(two!);
      await connected(admin!);

      await removed(one!);
      expect(two!.connectionStatus).to.equal('open');

      await typeAndSubmit(admin!, 'from the workshop, after the removal');
      await waitFor(() => bubbles(two!, 'other').length === 1, 'the remaining widget receives');
      expect(bubbles(two!, 'other')).to.deep.equal(['from the workshop, after the removal']);
      await typeAndSubmit(two!, 'from the owner, after the removal');
      await waitFor(() => bubbles(admin!, 'other').length === 1, 'the remaining widget sends');
      expect(bubbles(admin!, 'other')).to.deep.equal(['from the owner, after the removal']);
      expect(await storedBodies(p.baseUrl, p.adminToken, p.room.id)).to.deep.equal([
        'from the workshop, after the removal',
        'from the owner, after the removal',
      ]);
    });

    it('never closes a room the host connected itself', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const room = p.owner.room(p.room.id);
      await room.connect();
      const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
      await connected(el);

      await removed(el);
      expect(room.status).to.equal('open');
      const arrived = new Promise<ChatMessage>((resolve) => room.on('message', (e) => resolve(e.message)));
      const adminRoom = p.admin.room(p.room.id);
      await adminRoom.connect();
      await adminRoom.send('the host still listens');
      expect((await arrived).body).to.equal('the host still listens');
      expect(room.status).to.equal('open');
    });

    it('closes a room the widgets opened when the last of them leaves, not before', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const wrap = await fixture<HTMLElement>(html`<div>
        <motoreach-chat id="one" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>
        <motoreach-chat id="two" .client=${p.owner} request-id=${p.room.id}></motoreach-chat>
      </div>`);
      const one = wrap.querySelector<MotoreachChat>('#one')!;
      const two = wrap.querySelector<MotoreachChat>('#two')!;
      await connected(one);
      await connected(two);
      const room = p.owner.room(p.room.id);

      await removed(one);
      expect(room.status).to.equal('open');
      await removed(two);
      expect(room.status).to.equal('closed');
    });
  });

  describe('clients and the outbox', () => {
    it('keeps a message written while the server is away through a token change, and delivers it once', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const refreshed = await token({ sub: p.ownerId, role: 'user', name: 'Ana (refreshed)' });
      expect(refreshed).to.not.equal(p.ownerToken);
      const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>`);
      await connected(el);
      const sent: string[] = [];
      el.addEventListener('motoreach-message-sent', (e) => sent.push(e.detail.message.body));

      await stopServer();
      await waitFor(() => el.connectionStatus !== 'open', 'the socket is down');
      await typeAndSubmit(el, 'written while the server was away');
      await waitFor(() => ownState(el) === 'pending', 'pending');

      el.token = refreshed;
      await el.updateComplete;
      expect(bubbles(el, 'own')).to.deep.equal(['written while the server was away']);

      await startServer();
      networkBack();
      await waitFor(() => ownState(el) === 'sent', 'the message is stored', 15_000);
      expect(sent).to.deep.equal(['written while the server was away']);
      expect(await storedBodies(p.baseUrl, p.adminToken, p.room.id)).to.deep.equal(['written while the server was away']);
    });

    it('renews a refused socket with the newest token of the same person, and the offline message arrives once', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>`);
      await connected(el);
      const sent: string[] = [];
      el.addEventListener('motoreach-message-sent', (e) => sent.push(e.detail.message.body));

      await stopServer();
      await waitFor(() => el.connectionStatus !== 'open', 'the socket is down');
      await typeAndSubmit(el, 'sent with the renewed token');
      await waitFor(() => ownState(el) === 'pending', 'pending');
      // The server comes back with another secret: the token in use is refused (4401), and the SDK
      // asks the widgets' token provider, which answers the token set last.
      const rotated = 'rotated-widgets-secret';
      const renewed = await signedToken(rotated, { sub: p.ownerId, role: 'user', name: 'Ana' });
      el.token = renewed;
      await el.updateComplete;
      await startServer({ jwtSecret: rotated });
      networkBack();

      await waitFor(() => ownState(el) === 'sent', 'the message is stored', 15_000);
      await connected(el);
      expect($(el, '.notice')).to.equal(null);
      expect(sent).to.deep.equal(['sent with the renewed token']);
      expect(await storedBodies(p.baseUrl, renewed, p.room.id)).to.deep.equal(['sent with the renewed token']);
    });

    it("does not let a widget still holding the old token undo another widget's newer one", async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const other = await p.owner.createRoom({ workshop_id: p.workshop, title: 'Oil change' });
      const wrap = await fixture<HTMLElement>(html`<div>
        <motoreach-chat id="refreshed" base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>
        <motoreach-chat id="stale" base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>
      </div>`);
      const refreshed = wrap.querySelector<MotoreachChat>('#refreshed')!;
      const stale = wrap.querySelector<MotoreachChat>('#stale')!;
      await connected(refreshed);
      await connected(stale);

      await stopServer();
      const rotated = 'rotated-widgets-secret';
      const renewed = await signedToken(rotated, { sub: p.ownerId, role: 'user', name: 'Ana' });
      refreshed.token = renewed;
      await refreshed.updateComplete;
      // The other widget re-resolves its client (here for another room) with the token it still has.
      stale.requestId = other.id;
      await stale.updateComplete;
      await startServer({ jwtSecret: rotated });
      networkBack();

      await connected(refreshed);
      await connected(stale);
      expect($(refreshed, '.notice')).to.equal(null);
      expect($(stale, '.notice')).to.equal(null);
    });

    it('picks up a pending message in a new widget of the same person, as after a reload', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const later = await token({ sub: p.ownerId, role: 'user', name: 'Ana (next visit)' });
      const first = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>`);
      await connected(first);
      await stopServer();
      await waitFor(() => first.connectionStatus !== 'open', 'the socket is down');
      await typeAndSubmit(first, 'left in the outbox');
      await waitFor(() => ownState(first) === 'pending', 'pending');
      await removed(first);
      const stored = Object.keys(localStorage).filter((k) => localStorage.getItem(k)?.includes('left in the outbox'));
      expect(stored).to.have.length(1);

      const second = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${later} request-id=${p.room.id}></motoreach-chat>`);
      await waitFor(() => bubbles(second, 'own').length === 1, 'the pending message is back');
      expect(bubbles(second, 'own')).to.deep.equal(['left in the outbox']);
      expect(ownState(second)).to.equal('pending');

      await startServer();
      networkBack();
      await waitFor(() => ownState(second) === 'sent', 'the message is stored', 15_000);
      expect(await storedBodies(p.baseUrl, p.adminToken, p.room.id)).to.deep.equal(['left in the outbox']);
      await waitFor(() => !Object.keys(localStorage).some((k) => localStorage.getItem(k)?.includes('left in the outbox')), 'the draft leaves storage');
    });

    it('keeps the pending messages of two people on one device apart', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const view = (ownerToken: string, adminToken: string) =>
        fixture<HTMLElement>(html`<div>
          <motoreach-chat id="owner" base-url=${p.baseUrl} token=${ownerToken} request-id=${p.room.id}></motoreach-chat>
          <motoreach-chat id="admin" base-url=${p.baseUrl} token=${adminToken} request-id=${p.room.id}></motoreach-chat>
        </div>`);
      const ownerAgain = await token({ sub: p.ownerId, role: 'user', name: 'Ana' + ' again' });
      const adminAgain = await token({ sub: p.adminId, role: 'workshop_admin', workshop_id: p.workshop, name: 'Bruno again' });

      let wrap = await view(p.ownerToken, p.adminToken);
      let owner = wrap.querySelector<MotoreachChat>('#owner')!;
      let admin = wrap.querySelector<MotoreachChat>('#admin')!;
      await connected(owner);
      await connected(admin);
      await stopServer();
      await waitFor(() => owner.connectionStatus !== 'open' && admin.connectionStatus !== 'open', 'both sockets down');
      await typeAndSubmit(owner, 'draft of the owner');
      await typeAndSubmit(admin, 'draft of the admin');
      await waitFor(() => ownState(owner) === 'pending' && ownState(admin) === 'pending', 'both pending');
      await removed(wrap);

      wrap = await view(ownerAgain, adminAgain);
      owner = wrap.querySelector<MotoreachChat>('#owner')!;
      admin = wrap.querySelector<MotoreachChat>('#admin')!;
      await waitFor(() => bubbles(owner, 'own').length === 1 && bubbles(admin, 'own').length === 1, 'each draft back');
      expect(bubbles(owner, 'own')).to.deep.equal(['draft of the owner']);
      expect(bubbles(owner, 'other')).to.deep.equal([]);
      expect(bubbles(admin, 'own')).to.deep.equal(['draft of the admin']);
      expect(bubbles(admin, 'other')).to.deep.equal([]);

      await startServer();
      networkBack();
      await waitFor(() => ownState(owner) === 'sent' && ownState(admin) === 'sent', 'both stored', 15_000);
      expect((await storedBodies(p.baseUrl, p.adminToken, p.room.id)).sort()).to.deep.equal(['draft of the admin', 'draft of the owner']);
    });
  });
});
