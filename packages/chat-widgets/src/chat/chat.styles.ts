import { css } from 'lit';
import { inheritedTextReset } from '../shared/styles.js';

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
// Inherited text properties are reset at the host (inheritedTextReset). The font comes from
// --motoreach-font.
export const chatStyles = css`
  :host {
    ${light}
    --motoreach-font: 0.9375rem/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --motoreach-radius: 1.125rem;
    --motoreach-chat-height: 30rem;
    display: block;
    block-size: var(--motoreach-chat-height);
    min-block-size: 12rem;
    contain: content;
    color-scheme: light;
    ${inheritedTextReset}
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'])) {
      ${dark}
      color-scheme: dark;
    }
  }
  :host([theme='dark']) {
    ${dark}
    color-scheme: dark;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  .base {
    position: relative;
    display: flex;
    flex-direction: column;
    block-size: 100%;
    background: var(--motoreach-bg);
    color: var(--motoreach-fg);
    font: var(--motoreach-font);
    border: 1px solid var(--motoreach-border);
    border-radius: 0.75rem;
    overflow: hidden;
  }
  .header {
    display: flex;
    align-items: center;
    gap: 0.625rem;
    min-block-size: 3.5rem;
    padding: 0.5rem 0.875rem;
    background: var(--motoreach-bg);
    border-block-end: 1px solid var(--motoreach-border);
  }
  .header .avatar {
    inline-size: 2.5rem;
    block-size: 2.5rem;
    font-size: 0.9375rem;
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
    column-gap: 0.375rem;
    color: var(--motoreach-muted);
    font-size: 0.8125rem;
  }
  .peer + .connection::before {
    content: '·' / '';
    margin-inline-end: 0.375rem;
  }
  .dot {
    display: inline-block;
    inline-size: 0.5rem;
    block-size: 0.5rem;
    margin-inline-end: 0.3125rem;
    border-radius: 50%;
    background: var(--motoreach-muted);
    vertical-align: 0.0625rem;
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
    inline-size: 1.75rem;
    block-size: 1.75rem;
    border-radius: 50%;
    color: #fff;
    background: #455a64;
    font-size: 0.6875rem;
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
    padding: 0.375rem 0.875rem;
    background: var(--motoreach-banner-bg);
    color: var(--motoreach-banner-fg);
    font-size: 0.875rem;
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
    padding-block: 0.5rem 0.75rem;
    padding-inline: 0.75rem;
    overscroll-behavior: contain;
  }
  .edge {
    text-align: center;
    color: var(--motoreach-muted);
    font-size: 0.8125rem;
    padding-block: 0.25rem;
  }
  .row {
    display: flex;
    flex-direction: column;
  }
  .day {
    align-self: center;
    margin-block: 0.75rem 0.375rem;
    padding: 0.1875rem 0.75rem;
    border-radius: 999px;
    background: var(--motoreach-bg);
    box-shadow: 0 1px 1px rgb(0 0 0 / 0.08);
    color: var(--motoreach-muted);
    font-size: 0.75rem;
    font-weight: 600;
  }
  .unread {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    margin-block: 0.5rem;
    color: var(--motoreach-divider);
    font-size: 0.8125rem;
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
    max-inline-size: min(80%, 36rem);
    margin-block-start: 0.125rem;
    align-self: start;
    align-items: start;
  }
  .msg.other {
    max-inline-size: min(calc(80% + 2.25rem), 38.25rem);
    padding-inline-start: 2.25rem;
  }
  .msg.first {
    margin-block-start: 0.625rem;
  }
  .msg.own {
    align-self: end;
    align-items: end;
  }
  .sender {
    margin-inline: 0.75rem;
    margin-block-end: 0.125rem;
    color: var(--motoreach-muted);
    font-size: 0.75rem;
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
    inset-inline-start: -2.25rem;
    inset-block-end: 0;
  }
  .bubble {
    max-inline-size: 100%;
    padding: 0.375rem 0.625rem 0.4375rem 0.75rem;
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
    margin-inline-start: 0.625rem;
    font-size: 0.6875rem;
    line-height: 1;
  }
  .own .bubble::after {
    padding-inline-end: 1.125rem;
  }
  .own .bubble {
    background: var(--motoreach-own-bg);
    color: var(--motoreach-own-fg);
  }
  .msg:not(.first) .bubble {
    border-start-start-radius: 0.3125rem;
  }
  .msg:not(.last) .bubble {
    border-end-start-radius: 0.3125rem;
  }
  .own.msg:not(.first) .bubble {
    border-start-start-radius: var(--motoreach-radius);
    border-start-end-radius: 0.3125rem;
  }
  .own.msg:not(.last) .bubble {
    border-end-start-radius: var(--motoreach-radius);
    border-end-end-radius: 0.3125rem;
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
    inset-inline-end: 0.625rem;
    inset-block-end: 0.3125rem;
    display: flex;
    gap: 0.1875rem;
    align-items: center;
    color: var(--motoreach-muted);
    font-size: 0.6875rem;
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
    inline-size: 1rem;
    block-size: 0.75rem;
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
    gap: 0.375rem;
    margin-block-start: 0.25rem;
    color: var(--motoreach-danger);
    font-size: 0.75rem;
  }
  .msg.pending .bubble {
    opacity: 0.85;
  }
  /* The host's backend, to both sides: across the log, in nobody's colours. */
  .system {
    align-self: center;
    max-inline-size: min(90%, 36rem);
    margin-block: 0.625rem;
    padding: 0.375rem 0.875rem;
    border: 1px solid var(--motoreach-border);
    border-radius: 0.75rem;
    background: var(--motoreach-bg);
    color: var(--motoreach-fg);
    font-size: 0.8125rem;
    text-align: center;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }
  .data {
    max-inline-size: 100%;
    margin-block-start: 0.25rem;
  }
  .removed {
    font-style: italic;
  }
  button {
    font: inherit;
    cursor: pointer;
  }
  .retry {
    border: 1px solid currentColor;
    border-radius: 999px;
    background: transparent;
    color: var(--motoreach-danger);
    padding: 0.125rem 0.5rem;
    font-size: 0.75rem;
  }
  .jump {
    position: absolute;
    inset-inline-end: 1rem;
    inset-block-end: 0.75rem;
    border: 0;
    border-radius: 999px;
    padding: 0.375rem 0.875rem;
    background: var(--motoreach-accent);
    color: var(--motoreach-accent-fg);
    box-shadow: 0 2px 6px rgb(0 0 0 / 0.25);
  }
  .typing {
    min-block-size: 1.25rem;
    background: var(--motoreach-log-bg);
    padding-inline: 0.875rem;
    color: var(--motoreach-muted);
    font-size: 0.8125rem;
    font-style: italic;
  }
  .dots {
    display: inline-flex;
    gap: 0.1875rem;
    margin-inline-end: 0.375rem;
    vertical-align: middle;
  }
  .dots span {
    inline-size: 0.3125rem;
    block-size: 0.3125rem;
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
    padding: 0.875rem;
    background: var(--motoreach-bg);
    border-block-start: 1px solid var(--motoreach-border);
    color: var(--motoreach-muted);
    font-size: 0.875rem;
    text-align: center;
  }
  .notice {
    margin: 0;
    padding: 0.5rem 0.875rem;
    background: var(--motoreach-bg);
    color: var(--motoreach-danger);
    font-size: 0.875rem;
  }
  .composer {
    display: grid;
    grid-template-columns: 1fr auto;
    grid-template-areas: 'input send' 'counter counter';
    align-items: end;
    gap: 0 0.5rem;
    padding: 0.5rem 0.625rem;
    background: var(--motoreach-bg);
    border-block-start: 1px solid var(--motoreach-border);
  }
  textarea {
    grid-area: input;
    display: block;
    inline-size: 100%;
    resize: none;
    min-block-size: 2.5rem;
    max-block-size: 8.5rem;
    padding: 0.5625rem 1rem;
    border: 1px solid var(--motoreach-border);
    border-radius: 1.25rem;
    background: var(--motoreach-log-bg);
    color: var(--motoreach-fg);
    font: inherit;
    line-height: 1.4;
    overflow-y: auto;
    field-sizing: content;
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
    inline-size: 2.5rem;
    block-size: 2.5rem;
    padding: 0;
    border: 0;
    border-radius: 50%;
    background: var(--motoreach-accent);
    color: var(--motoreach-accent-fg);
  }
  .send svg {
    inline-size: 1.25rem;
    block-size: 1.25rem;
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
    padding-block-start: 0.25rem;
    padding-inline-end: 3rem;
    color: var(--motoreach-muted);
    font-size: 0.75rem;
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
