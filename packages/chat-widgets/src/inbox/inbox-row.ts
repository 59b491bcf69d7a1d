import { html, nothing, type TemplateResult } from 'lit';
import type { Me, Message, RoomSummary } from '@motoreach/chat-client';
import type { InboxStrings } from '../shared/strings.js';
import { formatAgo, formatFull, formatNumber } from '../shared/time.js';

export interface RowContext {
  strings: InboxStrings;
  lang: string | undefined;
  /** Who is looking (null before the first page tells): decides which side is "the other". */
  me: Me | null;
  selected: string | null;
  active: string | null;
  now: Date;
  select: (room: RoomSummary) => void;
}

/** The option's id, for `aria-activedescendant`: room ids are opaque, so the position names it. */
export const optionId = (index: number): string => `option-${index}`;

/**
 * Who the row is with: the name the host's backend gave the other side, else the name of the
 * other side's last writer (a system message has no side).
 */
function peerName(room: RoomSummary, me: Me | null): string | null {
  const owner = me?.role === 'user';
  const named = owner ? room.workshop_name : room.user_name;
  if (named) return named;
  const sender = room.last_message?.sender;
  if (!me || !sender || sender.role === 'system' || sender.role === me.role) return null;
  return sender.name;
}

/** One line of the last message: its text, or what it carried; one's own prefixed "You:". */
function preview(message: Message | null, me: Me | null, s: InboxStrings, lang: string | undefined): string {
  if (!message) return s.noMessages;
  if (message.redacted) return s.messageRemoved;
  const files = message.attachments ?? [];
  const images = files.filter((a) => a.kind === 'image').length;
  // Text first: a photo with a caption reads as its caption, with the clip in front.
  const attached = files.length ? s.attachments(files.length, images, formatNumber(files.length, lang)) : '';
  const text = message.body.replace(/\s+/g, ' ').trim();
  const line = attached && text ? `${attached} · ${text}` : attached || text;
  const own = me && message.sender.role === me.role && message.sender.id === me.id;
  return own ? s.ownPreview(s.you, line) : line;
}

export function renderRow(room: RoomSummary, index: number, ctx: RowContext): TemplateResult {
  const s = ctx.strings;
  const unread = room.unread > 0;
  const selected = room.id === ctx.selected;
  const message = room.last_message;
  const when = new Date(message?.created_at ?? room.created_at);
  const peer = peerName(room, ctx.me);
  const system = message?.sender.role === 'system';
  const parts = ['row', unread && 'row-unread', selected && 'row-selected'].filter(Boolean).join(' ');
  return html`<div
    role="option"
    id=${optionId(index)}
    part=${parts}
    class="row"
    aria-selected=${selected ? 'true' : 'false'}
    ?data-active=${room.id === ctx.active}
    ?data-unread=${unread}
    data-id=${room.id}
    @click=${() => ctx.select(room)}
  >
    <span class="line">
      <span part="title" class="title" dir="auto">${room.title}</span>
      <time part="time" class="time" datetime=${when.toISOString()} title=${formatFull(when, ctx.lang)}>${formatAgo(when, s.justNow, ctx.lang, ctx.now)}</time>
    </span>
    <span class="line">
      <span part="peer" class="peer" dir="auto">${peer ?? nothing}</span>
      ${room.status === 'closed' ? html`<span part="status" class="status">${s.closed}</span>` : nothing}
    </span>
    <span class="line">
      <span part=${system ? 'preview preview-system' : 'preview'} class="preview" ?data-system=${system} dir="auto">${preview(message, ctx.me, s, ctx.lang)}</span>
      ${unread
        ? html`<span part="count" class="count"
            ><span aria-hidden="true">${formatNumber(room.unread, ctx.lang)}</span
            ><span class="sr-only">${s.unread(room.unread, formatNumber(room.unread, ctx.lang))}</span></span
          >`
        : nothing}
    </span>
  </div>`;
}
