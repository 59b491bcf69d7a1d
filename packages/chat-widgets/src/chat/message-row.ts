import { html, nothing, type TemplateResult } from 'lit';
import type { ChatMessage, Room } from '@motoreach/chat-client';
import type { DataRenderer } from '../shared/data.js';
import { renderAvatar } from '../shared/avatar.js';
import { renderBody } from '../shared/linkify.js';
import type { ChatStrings } from '../shared/strings.js';
import { samePerson } from '../shared/person.js';
import { dayKey, formatDay, formatFull, formatTime } from '../shared/time.js';
import { messageKey } from './message-window.js';
import { foldedText } from './read-more.js';
import { renderAttachments, type AttachmentContext } from './attachments.js';

/** Consecutive messages of one sender within this time form one group. */
const GROUP_MS = 5 * 60_000;

export interface RowContext extends AttachmentContext {
  strings: ChatStrings;
  lang: string | undefined;
  room: Room | null;
  /** The unread divider goes above the message with this seq. */
  dividerSeq: number | null;
  linkify: boolean;
  retry: (message: ChatMessage) => void;
  /** The host's view of a message's `data`, if it gave one. */
  renderData: DataRenderer | null;
  /** What `renderData` gave, per message: one widget's own, since a DOM node can be in one place only. */
  dataViews: WeakMap<ChatMessage, [DataRenderer, unknown]>;
  /** Keys of the long messages the reader unfolded. */
  unfolded: ReadonlySet<string>;
  unfold: (message: ChatMessage) => void;
}

interface MessageTime {
  lang: string | undefined;
  iso: string;
  date: Date;
  ms: number;
  day: string;
  time: string;
  full: string;
}

// Parsing and formatting dates is most of a row's cost; a message's time never changes.
const times = new WeakMap<ChatMessage, MessageTime>();

function timeOf(m: ChatMessage, lang: string | undefined): MessageTime {
  let t = times.get(m);
  if (!t || t.lang !== lang || t.iso !== m.created_at) {
    const date = new Date(m.created_at);
    t = { lang, iso: m.created_at, date, ms: date.getTime(), day: dayKey(date), time: formatTime(date, lang), full: formatFull(date, lang) };
    times.set(m, t);
  }
  return t;
}

/**
 * The row of message `m`: a day separator and the unread divider when they fall above it, then the message,
 * grouped with its neighbours `prev` and `next` when they are of the same sender, with its time, delivery
 * state and retry control.
 */
export function renderRow(m: ChatMessage, prev: ChatMessage | undefined, next: ChatMessage | undefined, ctx: RowContext): TemplateResult {
  const { strings: s, lang, room } = ctx;
  const t = timeOf(m, lang);
  const prevT = prev && timeOf(prev, lang);
  const nextT = next && timeOf(next, lang);
  const newDay = !prevT || prevT.day !== t.day;
  // Only this viewer's own messages are ever local (pending or failed): others' arrive stored. A draft
  // restored before the server has said who the viewer is still belongs on their side.
  const own = m.state !== 'sent' || samePerson(m.sender, room?.me);
  const first = newDay || !prev || !samePerson(prev.sender, m.sender) || t.ms - prevT.ms > GROUP_MS;
  const last = !next || !nextT || !samePerson(next.sender, m.sender) || nextT.day !== t.day || nextT.ms - t.ms > GROUP_MS;
  const divider = ctx.dividerSeq !== null && m.seq === ctx.dividerSeq;
  const above = html`${newDay ? html`<div part="day-separator" class="day">${formatDay(t.date, lang)}</div>` : nothing}
  ${divider ? html`<div part="unread-divider" class="unread">${s.unreadDivider}</div>` : nothing}`;
  // An erased message keeps its place and says so; its content is gone from the server too.
  const body = m.redacted ? html`<span class="removed">${s.messageRemoved}</span>` : renderFoldable(m, ctx);
  const data = m.data && ctx.renderData ? html`<div part="data" class="data">${hostView(m, ctx.renderData, ctx.dataViews)}</div>` : nothing;
  // The host's backend speaks to both sides: a notice across the log, nobody's bubble.
  if (m.sender.role === 'system') {
    return html`<div class="row" data-key=${messageKey(m)}>
      ${above}
      <div part="system" class="system" role="article" aria-label=${t.full} dir="auto" data-key=${messageKey(m)} data-seq=${m.seq ?? ''} title=${t.full}>${body}${data}</div>
    </div>`;
  }
  let state: string = m.state;
  if (own && m.state === 'sent' && room?.isReadByOtherSide(m)) state = 'read';
  const name = own ? s.you : (m.sender.name ?? s.unknownSender);
  // One unit for a screen reader, named by who, when and (for one's own) its state; the ticks' words are inside it.
  const label = s.messageLabel(name, t.full, own ? stateText(state, s) : undefined);
  // The bubble reserves room for the time (and ticks) on its last line, through `data-meta`, so the
  // meta can sit inside it as in a messenger; a failed message keeps its meta and retry control below.
  // `dir="auto"`: a Hebrew message on an English page (or English on an Arabic one) in its own direction.
  return html`<div class="row" data-key=${messageKey(m)}>
    ${above}
    <div
      part="message ${own ? 'message-own' : 'message-other'}"
      class="msg ${own ? 'own' : 'other'} ${first ? 'first' : ''} ${last ? 'last' : ''} ${m.state}"
      role="article"
      aria-label=${label}
      data-state=${state}
      data-seq=${m.seq ?? ''}
    >
      ${first && !own ? html`<div part="sender" class="sender" aria-hidden="true">${name}</div>` : nothing}
      <div class="content">
        ${last && !own ? renderAvatar(m.sender) : nothing}
        <div part="bubble" class="bubble" dir="auto" data-key=${messageKey(m)} data-meta=${t.time}>${body}${renderAttachments(m, ctx)}</div>
        <div part="meta" class="meta">
          <time datetime=${m.created_at} title=${t.full}>${t.time}</time>
          ${own ? renderState(state, s, m.error?.code) : nothing}
          ${m.state === 'failed'
            ? html`<button part="retry-button" class="retry" type="button" @click=${() => ctx.retry(m)}>${s.retry}</button>`
            : nothing}
        </div>
      </div>
      ${data}
    </div>
  </div>`;
}

// What the host rendered for a message, once per message object (and renderer): a message that does
// not change keeps its view, and whatever state the host's element holds, through every render of the log.
function hostView(m: ChatMessage, render: DataRenderer, views: RowContext['dataViews']): unknown {
  let view = views.get(m);
  if (view?.[0] !== render) views.set(m, (view = [render, render(m) ?? nothing]));
  return view[1];
}

// One tick: stored by the server; two: read by the other side; a clock while waiting. The glyphs are
// decorative, the words are for screen readers; a failure stays spelled out, next to its retry.
const tick = 'M1.5 6.5l3 3L11 2.5';
const glyphs: Record<string, TemplateResult> = {
  pending: html`<svg viewBox="0 0 16 12" aria-hidden="true"><circle cx="8" cy="6" r="4.75" /><path d="M8 3.5V6l1.75 1.25" /></svg>`,
  sent: html`<svg viewBox="0 0 16 12" aria-hidden="true"><path d=${tick} /></svg>`,
  read: html`<svg viewBox="0 0 16 12" aria-hidden="true"><path d=${tick} /><path d="M7.5 9.5L14 2.5" /></svg>`,
};

const stateText = (state: string, s: ChatStrings): string =>
  state === 'failed' ? s.stateFailed : state === 'pending' ? s.statePending : state === 'read' ? s.stateRead : s.stateSent;

function renderState(state: string, s: ChatStrings, failure: string | undefined): TemplateResult {
  if (state === 'failed') return html`<span class="state">${s.stateFailed}</span><span part="failure" class="failure">${s.failedBecause(failure)}</span>`;
  return html`<span class="state" data-ticks=${state}>${glyphs[state] ?? glyphs['sent']}<span class="sr-only">${stateText(state, s)}</span></span>`;
}

/** A body over `FOLD_OVER` characters shows its start and a "Read more" that unfolds it (for good, in this widget). */
function renderFoldable(m: ChatMessage, ctx: RowContext): TemplateResult | string {
  const folded = ctx.unfolded.has(messageKey(m)) ? null : foldedText(m.body);
  if (!folded) return renderBody(m.body, ctx.linkify);
  // On one line: the bubble keeps white space as written.
  const more = html`<button part="read-more" class="more" type="button" @click=${() => ctx.unfold(m)}>${ctx.strings.readMore}</button>`;
  return html`${renderBody(folded.shown, ctx.linkify && folded.whole)}…${more}`;
}
