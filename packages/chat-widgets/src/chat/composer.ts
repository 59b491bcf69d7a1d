import { html, nothing, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { ChatError, Room } from '@motoreach/chat-client';
import type { ChatStrings } from '../shared/strings.js';
import type { AttachmentPicker } from './attachments.js';
import { formatNumber } from '../shared/time.js';

/** At most one `typing: true` per interval; `typing: false` after this much idle time. */
const TYPING_THROTTLE_MS = 3000;
const TYPING_IDLE_MS = 4000;
/** The counter shows from this share of the limit on: below it, it is noise. */
const COUNTER_FROM = 0.9;

// The server limits bodies in code points, so an emoji counts once, as the reader sees it.
const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export interface ComposerHost extends ReactiveControllerHost {
  readonly renderRoot: HTMLElement | DocumentFragment;
  /** Character limit (Unicode code points). */
  readonly maxLength: number;
}

export interface ComposerOptions {
  /** The room typing signals and messages go to. */
  room: () => Room | null;
  /** Why the room does not take messages, if it does not. */
  refusal: () => ChatError | null;
  /** Hands over a trimmed message within the limit; the draft is already cleared. */
  send: (room: Room, text: string) => void;
  /** Files to go with the message: with some, the text may be empty. */
  attachments?: AttachmentPicker;
}

/**
 * The text area under the message list: the draft and its counter, Enter to send (Shift+Enter for a
 * new line), throttled typing signals, and the notice that says why sending is not possible.
 */
export class Composer {
  private draftText = '';
  private typingSentAt = 0;
  private typingIdle: ReturnType<typeof setTimeout> | undefined;
  private composing = false;

  constructor(
    private readonly host: ComposerHost,
    private readonly options: ComposerOptions,
  ) {}

  private get draft(): string {
    return this.draftText;
  }

  private set draft(value: string) {
    if (value === this.draftText) return;
    this.draftText = value;
    this.host.requestUpdate();
  }

  private get textarea(): HTMLTextAreaElement | null {
    // No render root before the host first connects, and `focus()` may be called before that.
    return this.host.renderRoot?.querySelector('textarea') ?? null;
  }

  private get refused(): boolean {
    return this.options.refusal() !== null || !this.options.room();
  }

  focus(options?: FocusOptions): void {
    this.textarea?.focus(options);
  }

  /** The notice (when the room refuses messages) and the form; ids are shared with the element's shadow root. */
  render(s: ChatStrings, lang: string | undefined): TemplateResult {
    const refused = this.refused;
    const files = this.options.attachments;
    const used = codePoints(this.draft);
    const maxLength = this.host.maxLength;
    const over = used - maxLength;
    // The attach buttons come last: the grid shows them before the text area, and the tab order
    // reaches the text first (from the list), then sending, then attaching.
    const counter = over > 0 ? s.tooLong(over, formatNumber(over, lang)) : used >= maxLength * COUNTER_FROM ? s.charactersUsed(formatNumber(used, lang), formatNumber(maxLength, lang)) : '';
    return html`
      ${refused ? html`<p part="notice" class="notice" id="notice">${refusalText(this.options.refusal(), s)}</p>` : nothing}
      <form part="composer" class="composer" @submit=${this.onSubmit} @dragover=${files?.onDragOver} @drop=${files?.onDrop}>
        ${files?.renderChips(s, lang) ?? nothing}
        <label class="sr-only" for="input">${s.composerLabel}</label>
        <textarea
          id="input"
          part="textarea"
          rows="1"
          .value=${this.draft}
          placeholder=${s.composerPlaceholder}
          dir=${this.draft ? 'auto' : nothing}
          aria-describedby=${refused ? 'notice counter' : 'counter'}
          aria-invalid=${over > 0 ? 'true' : 'false'}
          ?disabled=${refused}
          @input=${this.onInput}
          @keydown=${this.onKeyDown}
          @compositionstart=${this.onComposition}
          @compositionend=${this.onComposition}
          @paste=${files?.onPaste}
        ></textarea>
        <button part="send-button" class="send" type="submit" ?disabled=${refused || over > 0 || (this.draft.trim() === '' && !files?.files.length)}>
          <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z" /></svg
          ><span class="sr-only">${s.send}</span>
        </button>
        <span part="counter" class="counter ${over > 0 ? 'over' : ''}" id="counter">${counter}</span>
        ${files?.renderButtons(s, refused) ?? nothing}
      </form>
    `;
  }

  /** Empties the text area (a send, or its writer signed out). */
  clear(): void {
    this.draft = '';
    const textarea = this.textarea;
    if (textarea) textarea.value = '';
    this.fit();
  }

  /** Tells the room the user stopped typing, if it was told they started. */
  stopTyping(): void {
    clearTimeout(this.typingIdle);
    this.typingIdle = undefined;
    if (this.typingSentAt !== 0) {
      this.typingSentAt = 0;
      this.options.room()?.setTyping(false);
    }
  }

  private onInput = (e: Event): void => {
    this.draft = (e.target as HTMLTextAreaElement).value;
    this.fit();
    const room = this.options.room();
    if (!room || this.options.refusal()) return;
    clearTimeout(this.typingIdle);
    if (this.draft === '') {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSentAt >= TYPING_THROTTLE_MS) {
      this.typingSentAt = now;
      room.setTyping(true);
    }
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  };

  // An input method (Japanese, Chinese, Korean…) confirms a candidate with Enter: that Enter is not
  // a send. Safari reports it after compositionend, with only keyCode 229 to tell it.
  private onComposition = (e: CompositionEvent): void => {
    this.composing = e.type === 'compositionstart';
  };

  private onKeyDown = (e: KeyboardEvent): void => {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || this.composing || e.keyCode === 229) return;
    e.preventDefault();
    this.send();
  };

  private onSubmit = (e: Event): void => {
    e.preventDefault();
    this.send();
    this.textarea?.focus();
  };

  private send(): void {
    const room = this.options.room();
    const text = this.draft.trim();
    if (!room || this.options.refusal() || (text === '' && !this.options.attachments?.files.length) || codePoints(text) > this.host.maxLength) return;
    this.clear();
    this.stopTyping();
    this.options.send(room, text);
  }

  /** Grows the text area with its lines, up to its max-height (the styles'), where `field-sizing` does not. */
  private fit(): void {
    const textarea = this.textarea;
    if (!textarea || CSS.supports('field-sizing', 'content')) return;
    textarea.style.height = 'auto';
    textarea.style.height = `${textarea.scrollHeight + textarea.offsetHeight - textarea.clientHeight}px`;
  }
}

function refusalText(refusal: ChatError | null, s: ChatStrings): string {
  switch (refusal?.code) {
    case 'forbidden':
      return s.forbidden;
    case 'not_found':
      return s.notFound;
    case 'unauthorized':
      return s.unauthorized;
    default:
      return s.notConfigured;
  }
}
