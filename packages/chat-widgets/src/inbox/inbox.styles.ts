import { css } from 'lit';
import { inheritedTextReset, themed } from '../shared/styles.js';

const light = css`
  --motoreach-bg: #ffffff;
  --motoreach-fg: #1b1f24;
  --motoreach-muted: #57606a;
  --motoreach-border: #d0d7de;
  --motoreach-accent: #0a58ca;
  --motoreach-accent-fg: #ffffff;
  --motoreach-hover-bg: #f0f2f5;
  --motoreach-selected-bg: #dbe7fb;
  --motoreach-count-bg: #c3122f;
  --motoreach-count-fg: #ffffff;
  --motoreach-danger: #b3261e;
  --motoreach-focus: #0a58ca;
`;

const dark = css`
  --motoreach-bg: #161b22;
  --motoreach-fg: #e6edf3;
  --motoreach-muted: #9da7b3;
  --motoreach-border: #3d444d;
  --motoreach-accent: #1a5fd0;
  --motoreach-accent-fg: #ffffff;
  --motoreach-hover-bg: #21262d;
  --motoreach-selected-bg: #1c2d4a;
  --motoreach-count-bg: #c3122f;
  --motoreach-count-fg: #ffffff;
  --motoreach-danger: #ff7b72;
  --motoreach-focus: #79b8ff;
`;

// As the chat's: defaults on :host, where a page's rule on the element overrides them. Every size is
// in em of --motoreach-font-size (pixels), set inside, so a page's root font size (62.5% is common)
// changes nothing.
export const inboxStyles = css`
  :host {
    ${light}
    --motoreach-font-size: 15px;
    --motoreach-font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    --motoreach-inbox-height: 32em;
    display: block;
    block-size: var(--motoreach-inbox-height);
    font-size: var(--motoreach-font-size);
    color-scheme: light;
    contain: content;
  }
  ${themed(dark)}
  .base {
    display: flex;
    flex-direction: column;
    block-size: 100%;
    overflow: hidden;
    background: var(--motoreach-bg);
    color: var(--motoreach-fg);
    font: 400 var(--motoreach-font-size)/1.4 var(--motoreach-font-family);
    border: 1px solid var(--motoreach-border);
    border-radius: 0.75em;
    /* Here, not on the host, where a page's * rule (text-align: center, say) would win. */
    ${inheritedTextReset}
  }
  .toolbar {
    display: flex;
    gap: 0.5em;
    padding: 0.625em;
    border-block-end: 1px solid var(--motoreach-border);
  }
  input,
  button {
    font: inherit;
    color: inherit;
    letter-spacing: inherit;
    text-align: start;
  }
  .search {
    flex: 1;
    min-inline-size: 0;
    min-block-size: 2.25em;
    padding: 0.25em 0.625em;
    background: var(--motoreach-bg);
    border: 1px solid var(--motoreach-border);
    border-radius: 0.5em;
  }
  /* Under 16px, iOS Safari zooms the page when the box gets focus. */
  @media (pointer: coarse) {
    .search {
      font-size: max(16px, 1em);
    }
  }
  .filter,
  .more,
  .retry {
    min-block-size: 2.25em;
    padding: 0.25em 0.75em;
    background: var(--motoreach-bg);
    border: 1px solid var(--motoreach-border);
    border-radius: 0.5em;
    cursor: pointer;
  }
  .filter[aria-pressed='true'] {
    background: var(--motoreach-accent);
    border-color: var(--motoreach-accent);
    color: var(--motoreach-accent-fg);
  }
  :focus-visible {
    outline: 2px solid var(--motoreach-focus);
    outline-offset: 1px;
  }
  .scroller {
    flex: 1;
    min-block-size: 0;
    overflow-y: auto;
    overscroll-behavior: contain;
  }
  .list:focus-visible {
    outline: none;
  }
  .row {
    display: grid;
    gap: 0.125em;
    padding: 0.625em 0.875em;
    border-block-end: 1px solid var(--motoreach-border);
    cursor: pointer;
  }
  .row:hover {
    background: var(--motoreach-hover-bg);
  }
  .row[aria-selected='true'] {
    background: var(--motoreach-selected-bg);
  }
  .list:focus-visible .row[data-active] {
    outline: 2px solid var(--motoreach-focus);
    outline-offset: -2px;
  }
  .line {
    display: flex;
    align-items: baseline;
    gap: 0.5em;
    min-inline-size: 0;
  }
  .title,
  .peer,
  .preview {
    flex: 1;
    min-inline-size: 0;
    overflow: hidden;
    white-space: nowrap;
    text-overflow: ellipsis;
  }
  .title {
    font-weight: 500;
  }
  .row[data-unread] .title,
  .row[data-unread] .preview {
    font-weight: 700;
  }
  .peer,
  .time,
  .status {
    color: var(--motoreach-muted);
    font-size: 0.8667em;
  }
  .preview {
    color: var(--motoreach-muted);
    font-size: 0.9333em;
  }
  .row[data-unread] .preview {
    color: var(--motoreach-fg);
  }
  .preview[data-system] {
    font-style: italic;
  }
  .time {
    flex: none;
    font-variant-numeric: tabular-nums;
  }
  .status {
    flex: none;
    padding: 0 0.5em;
    border: 1px solid var(--motoreach-border);
    border-radius: 999px;
  }
  .count {
    flex: none;
    min-inline-size: 1.5em;
    padding: 0.0625em 0.4375em;
    border-radius: 999px;
    background: var(--motoreach-count-bg);
    color: var(--motoreach-count-fg);
    font-size: 0.8em;
    font-weight: 700;
    text-align: center;
    font-variant-numeric: tabular-nums;
  }
  .skeleton {
    display: grid;
    gap: 0.5em;
    padding: 0.875em;
    border-block-end: 1px solid var(--motoreach-border);
  }
  .skeleton span {
    block-size: 0.75em;
    border-radius: 0.25em;
    background: var(--motoreach-hover-bg);
  }
  .skeleton span + span {
    inline-size: 60%;
  }
  .empty,
  .failed {
    padding: 1.5em 1em;
    color: var(--motoreach-muted);
    text-align: center;
  }
  .failed p {
    margin: 0;
    color: var(--motoreach-danger);
  }
  .retry {
    display: block;
    margin: 0.5em auto 0;
  }
  .more {
    display: block;
    margin: 0.625em auto;
  }
  @media (prefers-reduced-motion: no-preference) {
    .skeleton span {
      animation: pulse 1.2s ease-in-out infinite alternate;
    }
  }
  @keyframes pulse {
    to {
      opacity: 0.4;
    }
  }
`;
