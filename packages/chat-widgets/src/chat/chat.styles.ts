import { css } from 'lit';

const light = css`
  --motoreach-bg: #ffffff;
  --motoreach-fg: #1b1f24;
  --motoreach-muted: #57606a;
  --motoreach-border: #d0d7de;
  --motoreach-accent: #0a58ca;
  --motoreach-accent-fg: #ffffff;
  --motoreach-own-bg: #0a58ca;
  --motoreach-own-fg: #ffffff;
  --motoreach-other-bg: #eef1f4;
  --motoreach-other-fg: #1b1f24;
  --motoreach-danger: #b3261e;
  --motoreach-banner-bg: #fff4ce;
  --motoreach-banner-fg: #3d2e00;
  --motoreach-divider: #b3261e;
  --motoreach-focus: #0a58ca;
  --motoreach-link-own: #ffffff;
  --motoreach-link-other: #0a58ca;
`;

const dark = css`
  --motoreach-bg: #0d1117;
  --motoreach-fg: #e6edf3;
  --motoreach-muted: #9da7b3;
  --motoreach-border: #3d444d;
  --motoreach-accent: #1a5fd0;
  --motoreach-accent-fg: #ffffff;
  --motoreach-own-bg: #1a5fd0;
  --motoreach-own-fg: #ffffff;
  --motoreach-other-bg: #21262d;
  --motoreach-other-fg: #e6edf3;
  --motoreach-danger: #ff7b72;
  --motoreach-banner-bg: #3d2e00;
  --motoreach-banner-fg: #fff4ce;
  --motoreach-divider: #ff7b72;
  --motoreach-focus: #79b8ff;
  --motoreach-link-own: #ffffff;
  --motoreach-link-other: #79b8ff;
`;

// Defaults live on :host so a page overrides any of them with a plain rule on the element;
// nothing here reaches the page, and nothing of the page's CSS but inherited properties reaches in.
export const chatStyles = css`
  :host {
    ${light}
    --motoreach-font: 0.9375rem/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --motoreach-radius: 1rem;
    --motoreach-chat-height: 30rem;
    display: block;
    block-size: var(--motoreach-chat-height);
    min-block-size: 12rem;
    contain: content;
    color-scheme: light;
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
    border-radius: 0.5rem;
    overflow: hidden;
  }
  .banner {
    padding: 0.375rem 0.75rem;
    background: var(--motoreach-banner-bg);
    color: var(--motoreach-banner-fg);
    font-size: 0.875rem;
  }
  .log-area {
    position: relative;
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
    padding-block: 0.5rem;
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
    margin-block: 0.75rem 0.25rem;
    padding: 0.125rem 0.625rem;
    border-radius: 999px;
    color: var(--motoreach-muted);
    font-size: 0.8125rem;
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
  .msg.first {
    margin-block-start: 0.625rem;
  }
  .msg.own {
    align-self: end;
    align-items: end;
  }
  .sender {
    margin-inline: 0.75rem;
    color: var(--motoreach-muted);
    font-size: 0.8125rem;
    font-weight: 600;
  }
  .bubble {
    padding: 0.4375rem 0.75rem;
    border-radius: var(--motoreach-radius);
    background: var(--motoreach-other-bg);
    color: var(--motoreach-other-fg);
    white-space: pre-wrap;
    overflow-wrap: anywhere;
    word-break: normal;
  }
  .own .bubble {
    background: var(--motoreach-own-bg);
    color: var(--motoreach-own-fg);
  }
  .msg:not(.first) .bubble {
    border-start-start-radius: 0.25rem;
  }
  .msg:not(.last) .bubble {
    border-end-start-radius: 0.25rem;
  }
  .own.msg:not(.first) .bubble {
    border-start-start-radius: var(--motoreach-radius);
    border-start-end-radius: 0.25rem;
  }
  .own.msg:not(.last) .bubble {
    border-end-start-radius: var(--motoreach-radius);
    border-end-end-radius: 0.25rem;
  }
  .bubble a {
    color: var(--motoreach-link-other);
    text-decoration: underline;
  }
  .own .bubble a {
    color: var(--motoreach-link-own);
  }
  .meta {
    display: flex;
    gap: 0.375rem;
    align-items: center;
    margin-inline: 0.5rem;
    color: var(--motoreach-muted);
    font-size: 0.75rem;
  }
  .msg.failed .meta {
    color: var(--motoreach-danger);
  }
  .msg.pending .bubble {
    opacity: 0.85;
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
    padding: 0 0.5rem;
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
    padding-inline: 0.875rem;
    color: var(--motoreach-muted);
    font-size: 0.8125rem;
    font-style: italic;
  }
  .notice {
    margin: 0;
    padding: 0.5rem 0.75rem;
    color: var(--motoreach-danger);
    font-size: 0.875rem;
  }
  .composer {
    display: grid;
    grid-template-columns: 1fr auto;
    grid-template-areas: 'input send' 'counter counter';
    gap: 0.25rem 0.5rem;
    padding: 0.5rem 0.75rem;
    border-block-start: 1px solid var(--motoreach-border);
  }
  textarea {
    grid-area: input;
    resize: none;
    min-block-size: 2.5rem;
    max-block-size: 8rem;
    padding: 0.5rem 0.75rem;
    border: 1px solid var(--motoreach-border);
    border-radius: 0.75rem;
    background: var(--motoreach-bg);
    color: var(--motoreach-fg);
    font: inherit;
    field-sizing: content;
  }
  textarea:disabled {
    opacity: 0.6;
  }
  .send {
    grid-area: send;
    align-self: end;
    min-block-size: 2.5rem;
    padding-inline: 1rem;
    border: 0;
    border-radius: 0.75rem;
    background: var(--motoreach-accent);
    color: var(--motoreach-accent-fg);
    font-weight: 600;
  }
  .send:disabled {
    cursor: not-allowed;
    opacity: 0.6;
  }
  .counter {
    grid-area: counter;
    justify-self: end;
    color: var(--motoreach-muted);
    font-size: 0.75rem;
    font-variant-numeric: tabular-nums;
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
