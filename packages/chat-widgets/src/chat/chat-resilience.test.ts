import { expect, fixture, html } from '@open-wc/testing';
import { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { nextEvent, pair, startServer, stopServer, waitFor } from '../../test/helpers.js';
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
    expect(bubbles(el, 'own')).to.deep.equal(['You: a body longer than ten']);
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
    expect($(owner, '.banner')!.textContent!.trim()).to.match(/^(Reconnecting…|You are offline\.)$/);
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
});
