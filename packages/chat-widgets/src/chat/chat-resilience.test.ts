import { expect, fixture, html } from '@open-wc/testing';
import { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { networkBack, nextEvent, pair, startServer, stopServer, storedBodies, token, waitFor } from '../../test/helpers.js';
import type { ErrorDetail } from '../shared/events.js';
import { $, $$, bubbles, connected, typeAndSubmit } from '../../test/dom.js';

describe('<motoreach-chat> failures', () => {
  const clients: ChatClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await startServer();
  });

  it('shows a refused send as failed with a retry control, and the retry delivers it once', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await startServer({ maxBodyChars: 10 });
    await waitFor(() => el.connectionStatus !== 'open', 'socket dropped by the restart');
    await connected(el);

    const error = nextEvent<CustomEvent>(el, 'motoreach-error');
    await typeAndSubmit(el, 'a body longer than ten');
    expect((await error).detail.error.code).to.equal('invalid');
    await waitFor(() => $(el, '.msg.own.failed .retry'), 'retry control');
    expect($(el, '.msg.own .state')!.textContent!.trim()).to.equal('Not sent');

    await startServer();
    await connected(el);
    const sent = nextEvent<CustomEvent>(el, 'motoreach-message-sent');
    $(el, '.retry')!.click();
    expect((await sent).detail.message.seq).to.equal(1);
    await waitFor(() => $(el, '.msg.own')?.dataset['state'] === 'sent', 'sent after retry');
    expect($(el, '.retry')).to.equal(null);
    expect(bubbles(el, 'own')).to.deep.equal(['a body longer than ten']);
  });

  it('shows a banner while the server is away, with the waiting messages, and loses nothing when it returns', async () => {
    const p = await pair();
    clients.push(p.owner, p.admin);
    const wrap = await fixture<HTMLElement>(html`<div style="display:flex">
      <motoreach-chat id="o" .client=${p.owner} request-id=${p.room.id} style="width:380px;height:320px"></motoreach-chat>
      <motoreach-chat id="a" .client=${p.admin} request-id=${p.room.id} style="width:380px;height:320px"></motoreach-chat>
    </div>`);
    const owner = wrap.querySelector<MotoreachChat>('#o')!;
    const admin = wrap.querySelector<MotoreachChat>('#a')!;
    await connected(owner);
    await connected(admin);
    await typeAndSubmit(admin, 'before the outage');
    await waitFor(() => bubbles(owner, 'other').length === 1, 'first message');

    const statuses: string[] = [];
    owner.addEventListener('motoreach-connection-change', (e) => statuses.push(e.detail.status));
    await stopServer();
    await waitFor(() => $(owner, '.banner'), 'banner');
    // Whichever the banner shows first: a quick retry can have failed three times, and made it unreachable, already.
    expect($(owner, '.banner')!.textContent!.trim()).to.match(/^(Reconnecting…|You are offline\.|Can't reach the chat server at \S+\. Retrying…)$/);
    await typeAndSubmit(owner, 'sent during the outage');
    await waitFor(() => /1 message waits to be sent\.$/.test($(owner, '.banner')?.textContent?.trim() ?? ''), 'banner counts the outbox');
    expect($(owner, '.msg.own')!.dataset['state']).to.equal('pending');

    await startServer();
    await waitFor(() => !$(owner, '.banner') && !$(admin, '.banner'), 'banners gone', 20_000);
    await waitFor(() => bubbles(admin, 'other').length === 1, 'admin got the queued message', 15_000);
    expect(bubbles(admin, 'other')).to.deep.equal(['sent during the outage']);
    expect(bubbles(owner, 'other')).to.deep.equal(['before the outage']);
    await waitFor(() => $(owner, '.msg.own')!.dataset['state'] !== 'pending', 'acknowledged');
    expect($$(owner, '.msg').map((m) => m.dataset['seq'])).to.deep.equal(['1', '2']);
    expect(statuses).to.include('open');
    expect(statuses[0]).to.not.equal('open');
  });

  describe('what the user sees', () => {
    const banner = (el: MotoreachChat) => $(el, '.banner')?.textContent?.trim() ?? '';
    const shown = (el: MotoreachChat) => el.shadowRoot!.textContent ?? '';
    const errorsOf = (el: MotoreachChat) => {
      const seen: ErrorDetail[] = [];
      el.addEventListener('motoreach-error', (e) => seen.push(e.detail));
      return seen;
    };

    it("says it can't reach the chat server while the server stays away, keeps the composer, and delivers afterwards", async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
      await connected(el);
      const errors = errorsOf(el);

      await stopServer();
      await waitFor(() => banner(el).startsWith("Can't reach the chat server"), "can't reach");
      expect(banner(el)).to.equal(`Can't reach the chat server at ${p.baseUrl}. Retrying…`);
      expect($(el, '.banner')!.getAttribute('role')).to.equal('status');
      expect($(el, '.banner')!.dataset['state']).to.equal('unreachable');
      await typeAndSubmit(el, 'written while unreachable');
      await waitFor(() => banner(el).endsWith('1 message waits to be sent.'), 'the banner counts the waiting message');
      expect(banner(el)).to.equal(`Can't reach the chat server at ${p.baseUrl}. Retrying… 1 message waits to be sent.`);
      expect($(el, '.notice')).to.equal(null);
      expect(($(el, 'textarea') as HTMLTextAreaElement).disabled).to.equal(false);
      expect(shown(el)).to.not.match(/unauthori[sz]ed|sign in/i);
      expect(errors.filter((e) => e.final)).to.deep.equal([]);

      await startServer();
      networkBack();
      await waitFor(() => !$(el, '.banner') && $(el, '.msg.own')?.dataset['state'] === 'sent', 'back and delivered', 15_000);
      expect(await storedBodies(p.baseUrl, p.ownerToken, p.room.id)).to.deep.equal(['written while unreachable']);
    });

    it("opens on 'Connecting…' and turns to can't reach when the server is down from the start", async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      await stopServer();
      const el = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id}></motoreach-chat>`);
      expect(banner(el)).to.equal('Connecting…');
      await waitFor(() => $(el, '.banner')?.dataset['state'] === 'unreachable', "can't reach");
      expect(banner(el)).to.equal(`Can't reach the chat server at ${p.baseUrl}. Retrying…`);
      expect($(el, '.notice')).to.equal(null);
    });

    it('asks to sign in again only when the server refuses the token twice, and a fresh token for the same person resumes', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      // The owner's claims with a signature the server cannot verify.
      const [header, payload, signature] = p.ownerToken.split('.');
      const forged = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
      const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${forged} request-id=${p.room.id}></motoreach-chat>`);
      const errors = errorsOf(el);
      await waitFor(() => $(el, '.notice'), 'the refusal notice');
      expect($(el, '.notice')!.textContent!.trim()).to.equal('Your session has expired. Sign in again to chat.');
      expect(($(el, 'textarea') as HTMLTextAreaElement).disabled).to.equal(true);
      expect($(el, '.banner')).to.equal(null);
      // Refused where the socket's ticket is asked for (401), before any socket.
      expect(errors.map((e) => [e.error.code, e.error.status, e.final])).to.deep.include(['unauthorized', 401, true]);

      el.token = await token({ sub: p.ownerId, role: 'user', name: 'Ana' });
      await connected(el);
      expect($(el, '.notice')).to.equal(null);
      await typeAndSubmit(el, 'signed in again');
      await waitFor(() => $(el, '.msg.own')?.dataset['state'] === 'sent', 'sent');
      expect(await storedBodies(p.baseUrl, p.ownerToken, p.room.id)).to.deep.equal(['signed in again']);
    });

    it('never shows a refusal when the token provider fails on a network fault', async () => {
      const p = await pair();
      clients.push(p.owner, p.admin);
      const offline = new ChatClient({
        baseUrl: p.baseUrl,
        token: () => Promise.reject(new TypeError('Failed to fetch')),
        reconnect: { minDelayMs: 50, maxDelayMs: 300 },
      });
      clients.push(offline);
      const errors: ErrorDetail[] = [];
      const el = await fixture<MotoreachChat>(
        html`<motoreach-chat .client=${offline} request-id=${p.room.id} @motoreach-error=${(e: CustomEvent<ErrorDetail>) => errors.push(e.detail)}></motoreach-chat>`,
      );
      await waitFor(() => $(el, '.banner')?.dataset['state'] === 'unreachable', "can't reach");
      expect(banner(el)).to.equal(`Can't reach the chat server at ${p.baseUrl}. Retrying…`);
      expect($(el, '.notice')).to.equal(null);
      expect(($(el, 'textarea') as HTMLTextAreaElement).disabled).to.equal(false);
      expect(shown(el)).to.not.match(/unauthori[sz]ed|sign in|session/i);
      expect(errors.filter((e) => e.final)).to.deep.equal([]);
    });
  });
});
