import { css } from 'lit';
import { inheritedTextReset } from '../shared/styles.js';

export const badgeStyles = css`
  :host {
    --motoreach-font-size: 15px;
    /* The widget's own rem: 16px at the default font size, and never the page's root font size. */
    --_rem: calc(var(--motoreach-font-size) / 15 * 16);
    --motoreach-badge-bg: #c3122f;
    --motoreach-badge-fg: #ffffff;
    --motoreach-badge-size: calc(1.25 * var(--_rem));
    --motoreach-badge-dot-size: calc(0.625 * var(--_rem));
    --motoreach-badge-font: 600 calc(0.75 * var(--_rem))/1 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    display: inline-flex;
    vertical-align: middle;
  }
  :host([hidden]) {
    display: none;
  }
  [part='base'] {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    box-sizing: border-box;
    min-inline-size: var(--motoreach-badge-size);
    block-size: var(--motoreach-badge-size);
    padding-inline: calc(0.375 * var(--_rem));
    border-radius: 999px;
    background: var(--motoreach-badge-bg);
    color: var(--motoreach-badge-fg);
    font: var(--motoreach-badge-font);
    font-variant-numeric: tabular-nums;
    ${inheritedTextReset}
  }
  :host([dot]) [part='base'] {
    min-inline-size: var(--motoreach-badge-dot-size);
    block-size: var(--motoreach-badge-dot-size);
    padding: 0;
  }
`;
