// The layout docs/widgets.md shows ("The usual layout"), taken from the document itself so that the
// two cannot drift: the inbox and the chat side by side on a wide screen, one or the other under 40 rem.
import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { ChatClient } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachInbox } from './inbox.js';
import type { MotoreachChat } from '../chat/chat.js';
import { pair, waitFor } from '../../test/helpers.js';

/** The snippet's markup and style, without its script (which loads the standalone file): the test wires the same two events. */
async function documentedLayout(): Promise<string> {
  const doc = await (await fetch('/docs/widgets.md')).text();
  const snippet = /### The usual layout[^\n]*\n[\s\S]*?```html\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!snippet) throw new Error('docs/widgets.md: no layout snippet');
  return snippet.replace(/<script type="module">[\s\S]*?<\/script>/, '');
}

const shown = (el: Element) => el.getBoundingClientRect().width > 0;

describe('the inbox-and-chat layout of docs/widgets.md', () => {
  const clients: ChatClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await setViewport({ width: 800, height: 600 });
  });

  it('shows both side by side on a wide screen, and one or the other under 40 rem', async () => {
    const p = await pair('Fork seals');
    clients.push(p.owner, p.admin);
    const wrap = await fixture<HTMLElement>(html`<div></div>`);
    wrap.innerHTML = await documentedLayout();
    const layout = wrap.querySelector<HTMLElement>('.inbox-layout')!;
    const inbox = layout.querySelector<MotoreachInbox>('motoreach-inbox')!;
    const chat = layout.querySelector<MotoreachChat>('motoreach-chat')!;
    const back = layout.querySelector<HTMLButtonElement>('.back')!;
    inbox.client = chat.client = p.admin;
    inbox.addEventListener('motoreach-select', (e) => {
      chat.requestId = e.detail.requestId;
      layout.classList.add('reading');
    });
    back.addEventListener('click', () => layout.classList.remove('reading'));

    await setViewport({ width: 1280, height: 800 });
    await waitFor(() => inbox.rooms.length === 1, 'the request listed');
    const [a, b] = [inbox.getBoundingClientRect(), chat.getBoundingClientRect()];
    expect(a.right).to.be.below(b.left);
    expect([Math.round(a.top), Math.round(a.height)]).to.deep.equal([Math.round(layout.getBoundingClientRect().top), 576]);
    expect(shown(back)).to.equal(false);

    await setViewport({ width: 360, height: 740 });
    expect([shown(inbox), shown(chat)]).to.deep.equal([true, false]);
    inbox.shadowRoot!.querySelector<HTMLElement>('[role=option]')!.click();
    expect([shown(inbox), shown(chat), shown(back)]).to.deep.equal([false, true, true]);
    expect(chat.requestId).to.equal(p.room.id);
    back.click();
    expect([shown(inbox), shown(chat)]).to.deep.equal([true, false]);
  });
});
