import { css } from 'lit';
import { inheritedTextReset, themed } from '../shared/styles.js';

const light = css`
  --motoreach-bg: #ffffff;
  --motoreach-log-bg: #f0f2f5;
  --motoreach-fg: #1b1f24;
  --motoreach-muted: #57606a;
  --motoreach-border: #d0d7de;
  --motoreach-accent: #0a58ca;
  --motoreach-accent-fg: #ffffff;
  --motoreach-own-bg: #0a58ca;
  --motoreach-own-fg: #ffffff;
  --motoreach-other-bg: #ffffff;
  --motoreach-other-fg: #1b1f24;
  --motoreach-danger: #b3261e;
  --motoreach-online: #1a7f37;
  --motoreach-banner-bg: #fff4ce;
  --motoreach-banner-fg: #3d2e00;
  --motoreach-divider: #b3261e;
  --motoreach-focus: #0a58ca;
  --motoreach-link-own: #ffffff;
  --motoreach-link-other: #0a58ca;
`;

const dark = css`
  --motoreach-bg: #161b22;
  --motoreach-log-bg: #0d1117;
  --motoreach-fg: #e6edf3;
  --motoreach-muted: #9da7b3;
  --motoreach-border: #3d444d;
  --motoreach-accent: #1a5fd0;
  --motoreach-accent-fg: #ffffff;
  --motoreach-own-bg: #1a5fd0;
  --motoreach-own-fg: #ffffff;
  --motoreach-other-bg: #262c36;
  --motoreach-other-fg: #e6edf3;
  --motoreach-danger: #ff7b72;
  --motoreach-online: #3fb950;
  --motoreach-banner-bg: #3d2e00;
  --motoreach-banner-fg: #fff4ce;
  --motoreach-divider: #ff7b72;
  --motoreach-focus: #79b8ff;
  --motoreach-link-own: #ffffff;
  --motoreach-link-other: #79b8ff;
`;

// Defaults live on :host so a page overrides any of them with a plain rule on the element;
// nothing here reaches the page, and nothing of the page's CSS but inherited properties reaches in.
// Inherited text properties are reset inside the shadow root (inheritedTextReset on .base), where a
// page's `* {}` rule, which beats :host, does not reach. The font comes from --motoreach-font, sizes
// from --motoreach-font-size (through --_rem), never from the page's root font size.
export const chatStyles = css`
  :host {
    ${light}
    --motoreach-font-size: 15px;
    /* The widget's own rem: 16px at the default font size, and never the page's root font size. */
    --_rem: calc(var(--motoreach-font-size) / 15 * 16);
    --motoreach-font: var(--motoreach-font-size)/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --motoreach-radius: calc(1.125 * var(--_rem));
    --motoreach-chat-height: calc(30 * var(--_rem));
    display: block;
    block-size: var(--motoreach-chat-height);
    min-block-size: calc(12 * var(--_rem));
    contain: content;
    color-scheme: light;
  }
  ${themed(dark)}
  .base {
    position: relative;
    display: flex;
    flex-direction: column;
    block-size: 100%;
    background: var(--motoreach-bg);
    color: var(--motoreach-fg);
    font: var(--motoreach-font);
    ${inheritedTextReset}
    border: 1px solid var(--motoreach-border);
    border-radius: calc(0.75 * var(--_rem));
    overflow: hidden;
  }
  .header {
    display: flex;
    align-items: center;
    gap: calc(0.625 * var(--_rem));
    min-block-size: calc(3.5 * var(--_rem));
    padding: max(calc(0.5 * var(--_rem)), env(safe-area-inset-top)) max(calc(0.875 * var(--_rem)), env(safe-area-inset-right))
      calc(0.5 * var(--_rem)) max(calc(0.875 * var(--_rem)), env(safe-area-inset-left));
    background: var(--motoreach-bg);
    border-block-end: 1px solid var(--motoreach-border);
  }
  .header .avatar {
    inline-size: calc(2.5 * var(--_rem));
    block-size: calc(2.5 * var(--_rem));
    font-size: calc(0.9375 * var(--_rem));
  }
  .heading {
    min-inline-size: 0;
    line-height: 1.3;
  }
  .title {
    overflow: hidden;
    font-weight: 600;
    white-space: nowrap;
    text-overflow: ellipsis;
  }
  .subtitle {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    column-gap: calc(0.375 * var(--_rem));
    color: var(--motoreach-muted);
    font-size: calc(0.8125 * var(--_rem));
  }
  .peer + .connection::before {
    content: '·' / '';
    margin-inline-end: calc(0.375 * var(--_rem));
  }
  .dot {
    display: inline-block;
    inline-size: calc(0.5 * var(--_rem));
    block-size: calc(0.5 * var(--_rem));
    margin-inline-end: calc(0.3125 * var(--_rem));
    border-radius: 50%;
    background: var(--motoreach-muted);
    vertical-align: calc(0.0625 * var(--_rem));
  }
  .connection[data-state='open'] .dot {
    background: var(--motoreach-online);
  }
  .connection[data-state='closed'] .dot,
  .connection[data-state='unreachable'] .dot,
  .connection[data-state='offline'] .dot {
    background: var(--motoreach-danger);
  }
  .avatar {
    display: inline-grid;
    place-items: center;
    flex: none;
    inline-size: calc(1.75 * var(--_rem));
    block-size: calc(1.75 * var(--_rem));
    border-radius: 50%;
    color: #fff;
    background: #455a64;
    font-size: calc(0.6875 * var(--_rem));
    font-weight: 600;
    line-height: 1;
    user-select: none;
  }
  .avatar[data-color='0'] {
    background: #b3261e;
  }
  .avatar[data-color='1'] {
    background: #8a4b00;
  }
  .avatar[data-color='2'] {
    background: #2b7a30;
  }
  .avatar[data-color='3'] {
    background: #00695c;
  }
  .avatar[data-color='4'] {
    background: #0a58ca;
  }
  .avatar[data-color='5'] {
    background: #5e35b1;
  }
  .avatar[data-color='6'] {
    background: #ad1457;
  }
  .banner {
    padding: calc(0.375 * var(--_rem)) calc(0.875 * var(--_rem));
    background: var(--motoreach-banner-bg);
    color: var(--motoreach-banner-fg);
    font-size: calc(0.875 * var(--_rem));
  }
  .log-area {
    position: relative;
    background: var(--motoreach-log-bg);
    display: flex;
    flex: 1 1 auto;
    min-block-size: 0;
  }
  .log {
    position: relative;
    flex: 1 1 auto;
    min-block-size: 0;
    overflow-y: auto;
    overflow-anchor: none;
    padding-block: calc(0.5 * var(--_rem)) calc(0.75 * var(--_rem));
    padding-inline: calc(0.75 * var(--_rem));
    overscroll-behavior: contain;
  }
  .edge {
    text-align: center;
    color: var(--motoreach-muted);
    font-size: calc(0.8125 * var(--_rem));
    padding-block: calc(0.25 * var(--_rem));
  }
  .row {
    display: flex;
    flex-direction: column;
  }
  .day {
    align-self: center;
    margin-block: calc(0.75 * var(--_rem)) calc(0.375 * var(--_rem));
    padding: calc(0.1875 * var(--_rem)) calc(0.75 * var(--_rem));
    border-radius: 999px;
    background: var(--motoreach-bg);
    box-shadow: 0 1px 1px rgb(0 0 0 / 0.08);
    color: var(--motoreach-muted);
    font-size: calc(0.75 * var(--_rem));
    font-weight: 600;
  }
  .unread {
    display: flex;
    align-items: center;
    gap: calc(0.5 * var(--_rem));
    margin-block: calc(0.5 * var(--_rem));
    color: var(--motoreach-divider);
    font-size: calc(0.8125 * var(--_rem));
    font-weight: 600;
  }
  .unread::before,
  .unread::after {
    content: '';
    flex: 1;
    border-block-start: 1px solid currentColor;
  }
  .msg {
    display: flex;
    flex-direction: column;
    max-inline-size: min(80%, calc(36 * var(--_rem)));
    margin-block-start: calc(0.125 * var(--_rem));
    align-self: start;
    align-items: start;
  }
  .msg.other {
    max-inline-size: min(calc(80% + calc(2.25 * var(--_rem))), calc(38.25 * var(--_rem)));
    padding-inline-start: calc(2.25 * var(--_rem));
  }
  .msg.first {
    margin-block-start: calc(0.625 * var(--_rem));
  }
  .msg.own {
    align-self: end;
    align-items: end;
  }
  .sender {
    margin-inline: calc(0.75 * var(--_rem));
    margin-block-end: calc(0.125 * var(--_rem));
    color: var(--motoreach-muted);
    font-size: calc(0.75 * var(--_rem));
    font-weight: 600;
  }
  .content {
    position: relative;
    display: flex;
    flex-direction: column;
    align-items: inherit;
    max-inline-size: 100%;
  }
  .content > .avatar {
    position: absolute;
    inset-inline-start: calc(-2.25 * var(--_rem));
    inset-block-end: 0;
  }
  .bubble {
    max-inline-size: 100%;
    padding: calc(0.375 * var(--_rem)) calc(0.625 * var(--_rem)) calc(0.4375 * var(--_rem)) calc(0.75 * var(--_rem));
    border-radius: var(--motoreach-radius);
    background: var(--motoreach-other-bg);
    color: var(--motoreach-other-fg);
    box-shadow: 0 1px 1px rgb(0 0 0 / 0.08);
    white-space: pre-wrap;
    overflow-wrap: anywhere;
    word-break: normal;
  }
  /* Room on the last line for the time and ticks that .meta lays over it. */
  .bubble::after {
    content: attr(data-meta);
    display: inline-block;
    visibility: hidden;
    margin-inline-start: calc(0.625 * var(--_rem));
    font-size: calc(0.6875 * var(--_rem));
    line-height: 1;
  }
  .own .bubble::after {
    padding-inline-end: calc(1.125 * var(--_rem));
  }
  .own .bubble {
    background: var(--motoreach-own-bg);
    color: var(--motoreach-own-fg);
  }
  .msg:not(.first) .bubble {
    border-start-start-radius: calc(0.3125 * var(--_rem));
  }
  .msg:not(.last) .bubble {
    border-end-start-radius: calc(0.3125 * var(--_rem));
  }
  .own.msg:not(.first) .bubble {
    border-start-start-radius: var(--motoreach-radius);
    border-start-end-radius: calc(0.3125 * var(--_rem));
  }
  .own.msg:not(.last) .bubble {
    border-end-start-radius: var(--motoreach-radius);
    border-end-end-radius: calc(0.3125 * var(--_rem));
  }
  .bubble a {
    color: var(--motoreach-link-other);
    text-decoration: underline;
  }
  .own .bubble a {
    color: var(--motoreach-link-own);
  }
  .meta {
    position: absolute;
    inset-inline-end: calc(0.625 * var(--_rem));
    inset-block-end: calc(0.3125 * var(--_rem));
    display: flex;
    gap: calc(0.1875 * var(--_rem));
    align-items: center;
    color: var(--motoreach-muted);
    font-size: calc(0.6875 * var(--_rem));
    line-height: 1;
    white-space: nowrap;
  }
  .own .meta {
    color: var(--motoreach-own-fg);
  }
  .own .meta time {
    opacity: 0.85;
  }
  .state {
    display: inline-flex;
  }
  .state svg {
    inline-size: calc(1 * var(--_rem));
    block-size: calc(0.75 * var(--_rem));
    fill: none;
    stroke: currentColor;
    stroke-width: 1.5;
    stroke-linecap: round;
    stroke-linejoin: round;
  }
  .msg.failed .bubble::after {
    content: none;
  }
  .msg.failed .meta {
    position: static;
    gap: calc(0.375 * var(--_rem));
    margin-block-start: calc(0.25 * var(--_rem));
    color: var(--motoreach-danger);
    font-size: calc(0.75 * var(--_rem));
  }
  .msg.pending .bubble {
    opacity: 0.85;
  }
  /* The host's backend, to both sides: across the log, in nobody's colours. */
  .system {
    align-self: center;
    max-inline-size: min(90%, calc(36 * var(--_rem)));
    margin-block: calc(0.625 * var(--_rem));
    padding: calc(0.375 * var(--_rem)) calc(0.875 * var(--_rem));
    border: 1px solid var(--motoreach-border);
    border-radius: calc(0.75 * var(--_rem));
    background: var(--motoreach-bg);
    color: var(--motoreach-fg);
    font-size: calc(0.8125 * var(--_rem));
    text-align: center;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  /* A bubble in the other direction than the widget: its time goes on a line of its own, not over the text. */
  :host(:dir(ltr)) .bubble:dir(rtl)::after,
  :host(:dir(rtl)) .bubble:dir(ltr)::after {
    display: block;
  }
  .more {
    display: block;
    margin-block-start: calc(0.25 * var(--_rem));
    min-block-size: max(32px, calc(2 * var(--_rem)));
    padding: 0;
    border: 0;
    background: none;
    color: inherit;
    font-weight: 600;
    text-decoration: underline;
  }
  .skeleton {
    display: flex;
    flex-direction: column;
    justify-content: end;
    gap: calc(0.5 * var(--_rem));
    min-block-size: 100%;
  }
  .bone {
    inline-size: 55%;
    block-size: calc(2.25 * var(--_rem));
    border-radius: var(--motoreach-radius);
    background: var(--motoreach-border);
    opacity: 0.6;
  }
  .bone.own {
    align-self: end;
    inline-size: 40%;
  }
  .empty {
    display: grid;
    place-items: center;
    min-block-size: 100%;
    padding: calc(1 * var(--_rem));
    color: var(--motoreach-muted);
    text-align: center;
  }
  .data {
    max-inline-size: 100%;
    margin-block-start: calc(0.25 * var(--_rem));
  }
  .removed {
    font-style: italic;
  }
  button {
    font: inherit;
    cursor: pointer;
  }
  .failure::before {
    content: '·' / '';
    margin-inline-end: calc(0.375 * var(--_rem));
  }
  /* A target a finger can hit, whatever the font size. */
  .retry {
    min-block-size: max(32px, calc(2 * var(--_rem)));
    border: 1px solid currentColor;
    border-radius: 999px;
    background: transparent;
    color: var(--motoreach-danger);
    padding: calc(0.125 * var(--_rem)) calc(0.5 * var(--_rem));
    font-size: calc(0.75 * var(--_rem));
  }
  .jump {
    position: absolute;
    inset-inline-end: calc(1 * var(--_rem));
    inset-block-end: calc(0.75 * var(--_rem));
    border: 0;
    border-radius: 999px;
    padding: calc(0.375 * var(--_rem)) calc(0.875 * var(--_rem));
    background: var(--motoreach-accent);
    color: var(--motoreach-accent-fg);
    box-shadow: 0 2px 6px rgb(0 0 0 / 0.25);
  }
  .typing {
    min-block-size: calc(1.25 * var(--_rem));
    background: var(--motoreach-log-bg);
    padding-inline: calc(0.875 * var(--_rem));
    color: var(--motoreach-muted);
    font-size: calc(0.8125 * var(--_rem));
    font-style: italic;
  }
  .dots {
    display: inline-flex;
    gap: calc(0.1875 * var(--_rem));
    margin-inline-end: calc(0.375 * var(--_rem));
    vertical-align: middle;
  }
  .dots span {
    inline-size: calc(0.3125 * var(--_rem));
    block-size: calc(0.3125 * var(--_rem));
    border-radius: 50%;
    background: currentColor;
    animation: dot 1.2s infinite ease-in-out;
  }
  .dots span:nth-child(2) {
    animation-delay: 0.2s;
  }
  .dots span:nth-child(3) {
    animation-delay: 0.4s;
  }
  @keyframes dot {
    0%,
    60%,
    100% {
      opacity: 0.3;
    }
    30% {
      opacity: 1;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .dots span {
      animation: none;
    }
  }
  .closed {
    margin: 0;
    padding: calc(0.875 * var(--_rem));
    padding-block-end: max(calc(0.875 * var(--_rem)), env(safe-area-inset-bottom));
    background: var(--motoreach-bg);
    border-block-start: 1px solid var(--motoreach-border);
    color: var(--motoreach-muted);
    font-size: calc(0.875 * var(--_rem));
    text-align: center;
  }
  .notice {
    margin: 0;
    padding: calc(0.5 * var(--_rem)) calc(0.875 * var(--_rem));
    background: var(--motoreach-bg);
    color: var(--motoreach-danger);
    font-size: calc(0.875 * var(--_rem));
  }
  .composer {
    display: grid;
    grid-template-columns: 1fr auto;
    grid-template-areas: 'input send' 'counter counter';
    align-items: end;
    gap: 0 calc(0.5 * var(--_rem));
    /* On a phone with a notch or a home indicator, the page's viewport-fit=cover puts the edges under them. */
    padding: calc(0.5 * var(--_rem)) max(calc(0.625 * var(--_rem)), env(safe-area-inset-right))
      max(calc(0.5 * var(--_rem)), env(safe-area-inset-bottom)) max(calc(0.625 * var(--_rem)), env(safe-area-inset-left));
    background: var(--motoreach-bg);
    border-block-start: 1px solid var(--motoreach-border);
  }
  textarea {
    grid-area: input;
    display: block;
    inline-size: 100%;
    resize: none;
    min-block-size: calc(2.5 * var(--_rem));
    max-block-size: calc(8.5 * var(--_rem));
    padding: calc(0.5625 * var(--_rem)) calc(1 * var(--_rem));
    border: 1px solid var(--motoreach-border);
    border-radius: calc(1.25 * var(--_rem));
    background: var(--motoreach-log-bg);
    color: var(--motoreach-fg);
    font: inherit;
    line-height: 1.4;
    overflow-y: auto;
    field-sizing: content;
  }
  /* Below 16px, iOS Safari zooms the page into a focused field. */
  @media (pointer: coarse) {
    textarea {
      font-size: max(16px, 1em);
    }
  }
  textarea::placeholder {
    color: var(--motoreach-muted);
    opacity: 1;
  }
  textarea:disabled {
    opacity: 0.6;
  }
  .send {
    grid-area: send;
    display: grid;
    place-items: center;
    inline-size: calc(2.5 * var(--_rem));
    block-size: calc(2.5 * var(--_rem));
    padding: 0;
    border: 0;
    border-radius: 50%;
    background: var(--motoreach-accent);
    color: var(--motoreach-accent-fg);
  }
  .send svg {
    inline-size: calc(1.25 * var(--_rem));
    block-size: calc(1.25 * var(--_rem));
    fill: currentColor;
  }
  :host(:dir(rtl)) .send svg {
    transform: scaleX(-1);
  }
  .send:disabled {
    cursor: not-allowed;
    opacity: 0.5;
  }
  .counter {
    grid-area: counter;
    justify-self: end;
    padding-block-start: calc(0.25 * var(--_rem));
    padding-inline-end: calc(3 * var(--_rem));
    color: var(--motoreach-muted);
    font-size: calc(0.75 * var(--_rem));
    font-variant-numeric: tabular-nums;
  }
  .counter:empty {
    display: none;
  }
  .counter.over {
    color: var(--motoreach-danger);
    font-weight: 600;
  }
  :focus-visible,
  .log:focus-visible {
    outline: 2px solid var(--motoreach-focus);
    outline-offset: 2px;
  }
  textarea:focus-visible {
    outline-offset: 0;
  }
  .log:focus-visible {
    outline-offset: -2px;
  }
`;
