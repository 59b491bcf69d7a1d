import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import type { ChatClient, RoomEvents } from '@motoreach/chat-client';
import '../index.js';
import type { MotoreachChat } from './chat.js';
import { pair, startServer, stopServer, storedBodies, token, uid, waitFor } from '../../test/helpers.js';
import { $, $$, connected } from '../../test/dom.js';

// A JPEG photo with EXIF orientation and GPS (the server's own fixture), served by the test runner.
const photoBytes = fetch('/reference-server/test/fixtures/gps-rotated.jpg').then((r) => r.arrayBuffer());
const photo = async (name = 'scratch.jpg') => new File([await photoBytes], name, { type: 'image/jpeg' });

function transfer(...files: File[]): DataTransfer {
  const dt = new DataTransfer();
  for (const f of files) dt.items.add(f);
  return dt;
}

// Files as the attach button's picker hands them over.
async function pick(el: MotoreachChat, ...files: File[]) {
  const input = $(el, '#file-input') as HTMLInputElement;
  input.files = transfer(...files).files;
  input.dispatchEvent(new Event('change'));
  await el.updateComplete;
}

const chips = (el: MotoreachChat) => $$(el, '.chip').map((c) => [c.querySelector('.name')!.textContent, c.querySelector('.size')!.textContent]);

type Shift = PerformanceEntry & { value: number; sources: { previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }[] };
const within = (r: DOMRectReadOnly, area: DOMRect) => r.width > 0 && r.left >= area.left && r.right <= area.right && r.top >= area.top && r.bottom <= area.bottom;

// The layout shifts from now on of what moved within `area` (the message log: the header, outside
// it, changes as the connection settles, which is not what is measured).
function layoutShifts(area: DOMRect): { total: () => number; stop: () => void } {
  let total = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as Shift[]) if (entry.sources.some((s) => within(s.previousRect, area) || within(s.currentRect, area))) total += entry.value;
  });
  observer.observe({ type: 'layout-shift' });
  return { total: () => total, stop: () => observer.disconnect() };
}

describe('<motoreach-chat> attachments', () => {
  const clients: ChatClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  async function chats() {
    const p = await pair('Paint');
    clients.push(p.owner, p.admin);
    const wrap = await fixture<HTMLElement>(html`<div style="display:flex;gap:8px">
      <motoreach-chat id="owner" .client=${p.owner} request-id=${p.room.id} style="width:380px;height:480px"></motoreach-chat>
      <motoreach-chat id="admin" .client=${p.admin} request-id=${p.room.id} style="width:380px;height:480px"></motoreach-chat>
    </div>`);
    const owner = wrap.querySelector<MotoreachChat>('#owner')!;
    const admin = wrap.querySelector<MotoreachChat>('#admin')!;
    await connected(owner);
    await connected(admin);
    return { p, owner, admin };
  }

  it('offers an attach button for photos and PDFs, and on phones a camera (accept and capture)', async () => {
    const { owner } = await chats();
    const input = $(owner, '#file-input') as HTMLInputElement;
    expect(input.accept).to.equal('image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif,application/pdf');
    expect(input.multiple).to.equal(true);
    const camera = $(owner, '#camera-input') as HTMLInputElement;
    expect([camera.accept, camera.getAttribute('capture')]).to.deep.equal(['image/*', 'environment']);
    expect($(owner, '#attach')!.textContent!.trim()).to.equal('Attach a photo or file');
  });

  it('picked, pasted and dropped files show as chips with name and size, and can be removed before sending', async () => {
    const { owner } = await chats();
    await pick(owner, await photo('a.jpg'));
    const pasted = new ClipboardEvent('paste', { clipboardData: transfer(await photo('b.jpg')), bubbles: true, cancelable: true });
    $(owner, 'textarea')!.dispatchEvent(pasted);
    expect(pasted.defaultPrevented).to.equal(true);
    const dropped = new DragEvent('drop', { dataTransfer: transfer(new File(['%PDF-1.4'], 'quote.pdf', { type: 'application/pdf' })), bubbles: true, cancelable: true });
    $(owner, 'form')!.dispatchEvent(dropped);
    await owner.updateComplete;
    const size = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'byte', unitDisplay: 'short' }).format((await photoBytes).byteLength);
    expect(chips(owner)).to.deep.equal([['a.jpg', size], ['b.jpg', size], ['quote.pdf', new Intl.NumberFormat(undefined, { style: 'unit', unit: 'byte', unitDisplay: 'short' }).format(8)]]);
    expect(($(owner, '.send') as HTMLButtonElement).disabled, 'files alone can be sent').to.equal(false);
    ($$(owner, '.chip button')[1] as HTMLButtonElement).click();
    await owner.updateComplete;
    expect(chips(owner).map(([name]) => name)).to.deep.equal(['a.jpg', 'quote.pdf']);
    expect($$(owner, '.chip button')[0]!.getAttribute('aria-label')).to.equal('Remove a.jpg');
  });

  it('a file the server would refuse is refused at send with the reason; the files stay to be removed', async () => {
    const { owner } = await chats();
    await pick(owner, new File(['GIF89a'], 'funny.gif', { type: 'image/gif' }));
    ($(owner, '.send') as HTMLButtonElement).click();
    await waitFor(() => $(owner, '.file-error'), 'the reason');
    expect($(owner, '.file-error')!.textContent).to.equal('funny.gif: not JPEG, PNG, WebP, HEIC or PDF');
    expect(chips(owner).map(([name]) => name)).to.deep.equal(['funny.gif']);
    expect($$(owner, '.msg').length).to.equal(0);
  });

  it('a photo is sent with a progress bar and reaches the other side', async () => {
    const { p, owner, admin } = await chats();
    const progress: RoomEvents['progress'][] = [];
    p.owner.room(p.room.id).on('progress', (e) => progress.push(e));
    await pick(owner, await photo('scratch.jpg'));
    ($(owner, '.send') as HTMLButtonElement).click();
    await owner.updateComplete;
    expect($(owner, '.msg.pending progress'), 'a progress bar while uploading').to.exist;
    expect($(owner, '.msg.pending progress')!.getAttribute('aria-label')).to.equal('Uploading scratch.jpg');
    expect(chips(owner)).to.deep.equal([]);
    await waitFor(() => $(admin, '.msg img') && $(owner, '.msg.sent img'), 'the photo on both sides');
    expect(progress.at(-1)?.sent, 'the upload progress reached the whole file').to.equal((await photoBytes).byteLength);
    expect(($(admin, '.msg img') as HTMLImageElement).alt).to.equal('scratch.jpg');
  });

  it('an image bubble has its final size before the image loads: no layout shift when it arrives and loads', async () => {
    const p = await pair('Paint');
    clients.push(p.owner, p.admin);
    // Named from the start: the header does not change when the first message names the other side.
    const admin = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.admin} request-id=${p.room.id} peer-name="Ana" style="width:380px;height:480px"></motoreach-chat>`);
    await connected(admin);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const shifts = layoutShifts($(admin, '.log')!.getBoundingClientRect());
    await p.owner.room(p.room.id).send({ body: 'Here', files: [await photo('scratch.jpg')] });
    await waitFor(() => ($(admin, '.msg img') as HTMLImageElement | null)?.complete, 'the photo loaded');
    const img = $(admin, '.msg img') as HTMLImageElement;
    expect(img.naturalWidth).to.be.greaterThan(0);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    expect(shifts.total(), 'cumulative layout shift').to.equal(0);
    shifts.stop();
    // The box comes from the size the server measured, not from the loaded bytes: without them it stays.
    const { width, height } = img.getBoundingClientRect();
    const [stored] = p.owner.room(p.room.id).messages.at(-1)!.attachments!;
    expect(Math.round(height)).to.equal(Math.round((width * stored!.height!) / stored!.width!));
    img.removeAttribute('src');
    expect(img.getBoundingClientRect().height).to.equal(height);
  });

  it("on the sender's side the photo shows at once from its bytes, at the size it keeps once stored: no layout shift", async () => {
    const p = await pair('Paint');
    clients.push(p.owner, p.admin);
    const owner = await fixture<MotoreachChat>(html`<motoreach-chat .client=${p.owner} request-id=${p.room.id} peer-name="Bruno" style="width:380px;height:480px"></motoreach-chat>`);
    await connected(owner);
    await pick(owner, await photo('scratch.jpg'));
    // Decoded when picked: the chip shows it.
    await waitFor(() => $(owner, '.chip img'), "the chip's picture");
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const shifts = layoutShifts($(owner, '.log')!.getBoundingClientRect());
    ($(owner, '.send') as HTMLButtonElement).click();
    await owner.updateComplete;
    const pending = $(owner, '.msg.pending .image img') as HTMLImageElement;
    expect(pending.alt).to.equal('scratch.jpg');
    expect($(owner, '.msg.pending .image progress')).to.exist;
    const before = pending.getBoundingClientRect();
    await waitFor(() => ($(owner, '.msg.sent .image img') as HTMLImageElement | null)?.complete, 'stored, its thumbnail loaded');
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const after = $(owner, '.msg.sent .image img')!.getBoundingClientRect();
    expect([after.width, after.height]).to.deep.equal([before.width, before.height]);
    expect(shifts.total(), 'cumulative layout shift').to.equal(0);
    shifts.stop();
  });

  it('an image opens full size in a modal dialog: alt text from the file name, focus kept inside, Escape closes and focus goes back', async () => {
    const { p, admin } = await chats();
    await p.owner.room(p.room.id).send({ files: [await photo('scratch.jpg')] });
    await waitFor(() => $(admin, '.msg img'), 'the photo');
    const opener = $(admin, '.msg .image') as HTMLAnchorElement;
    expect(opener.href, 'a link to the full-size image').to.match(/\/api\/attachments\/[^/]+\/\?expires=/);
    expect(opener.getAttribute('aria-label')).to.equal('Open scratch.jpg full size');
    opener.focus();
    opener.click();
    await waitFor(() => ($(admin, 'dialog') as HTMLDialogElement | null)?.open, 'the dialog open');
    const dialog = $(admin, 'dialog') as HTMLDialogElement;
    expect(dialog.matches(':modal'), 'modal: the page behind is inert').to.equal(true);
    expect(dialog.getAttribute('aria-label')).to.equal('scratch.jpg');
    expect(dialog.querySelector('img')!.alt).to.equal('scratch.jpg');
    expect(admin.shadowRoot!.activeElement).to.equal(dialog.querySelector('.close-image'));
    await sendKeys({ press: 'Tab' });
    await sendKeys({ press: 'Tab' });
    expect(dialog.contains(admin.shadowRoot!.activeElement) || document.activeElement === document.body, 'focus stays in the dialog').to.equal(true);
    await sendKeys({ press: 'Escape' });
    await waitFor(() => !$(admin, 'dialog'), 'closed by Escape');
    expect(admin.shadowRoot!.activeElement, 'focus back on the image').to.equal(opener);
  });

  it('a PDF shows as a file chip with name and size; an upload the server refuses fails with Retry', async () => {
    const { owner, admin } = await chats();
    // A real PDF header is enough for the server's content check.
    const pdf = new File(['%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'], 'quote.pdf', { type: 'application/pdf' });
    await pick(owner, pdf);
    ($(owner, '.send') as HTMLButtonElement).click();
    await waitFor(() => $(admin, '.msg a.file'), 'the PDF on the other side');
    const link = $(admin, '.msg a.file') as HTMLAnchorElement;
    expect(link.querySelector('.name')!.textContent).to.equal('quote.pdf');
    expect(link.querySelector('.size')!.textContent).to.not.equal('');
    expect(link.download).to.equal('quote.pdf');

    // HTML declared as a JPEG: the client lets it through (the declared type), the server refuses it by its content.
    await pick(owner, new File(['<html><script>alert(1)</script></html>'], 'evil.jpg', { type: 'image/jpeg' }));
    ($(owner, '.send') as HTMLButtonElement).click();
    await waitFor(() => $(owner, '.msg.failed .retry'), 'failed with Retry');
    expect($(owner, '.msg.failed .files .name')!.textContent).to.equal('evil.jpg');
  });

  it('another person signing in takes the files the previous one picked off the screen: they are never sent as the new person', async () => {
    const p = await pair('Paint');
    clients.push(p.owner, p.admin);
    const cyToken = await token({ sub: uid('a-cy'), role: 'workshop_admin', workshop_id: p.workshop, name: 'Cy' });
    const el = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${p.adminToken} request-id=${p.room.id}></motoreach-chat>`);
    await connected(el);
    await pick(el, await photo('private.jpg'));
    expect(chips(el).map(([name]) => name)).to.deep.equal(['private.jpg']);
    el.token = cyToken;
    await el.updateComplete;
    await waitFor(() => chips(el).length === 0, 'the chips gone');
    expect(($(el, '.send') as HTMLButtonElement).disabled).to.equal(true);
  });

  it('a photo not yet uploaded when the page goes away is not lost silently: the next page shows it failed, by its name', async () => {
    const p = await pair('Paint');
    clients.push(p.owner, p.admin);
    const page = await fixture<HTMLElement>(html`<div><motoreach-chat base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat></div>`);
    const first = page.querySelector<MotoreachChat>('motoreach-chat')!;
    await connected(first);
    await stopServer();
    try {
      await waitFor(() => first.connectionStatus !== 'open', 'the server away');
      await pick(first, await photo('leak.jpg'));
      ($(first, '.send') as HTMLButtonElement).click();
      const saved = () => Object.keys(localStorage).filter((k) => k.startsWith('motoreach-outbox:') && localStorage.getItem(k)!.includes('leak.jpg'));
      await waitFor(() => saved().length === 1, 'the message in localStorage');
      // The page goes away (its widget and client with it); localStorage keeps the message, not the photo's bytes.
      first.remove();
    } finally {
      await startServer();
    }
    const next = await fixture<MotoreachChat>(html`<motoreach-chat base-url=${p.baseUrl} token=${p.ownerToken} request-id=${p.room.id}></motoreach-chat>`);
    await connected(next);
    await waitFor(() => $(next, '.msg.failed'), 'shown as not sent');
    expect($(next, '.msg.failed .files .name')!.textContent).to.equal('leak.jpg');
    expect($(next, '.msg.failed .retry')).to.exist;
    expect(await storedBodies(p.baseUrl, p.ownerToken, p.room.id)).to.deep.equal([]);
  });
});
