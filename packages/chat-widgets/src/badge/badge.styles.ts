import { css } from 'lit';
import { inheritedTextReset } from '../shared/styles.js';

export const badgeStyles = css`
  :host {
    --motoreach-badge-bg: #c3122f;
    --motoreach-badge-fg: #ffffff;
    --motoreach-badge-size: 1.25rem;
    --motoreach-badge-dot-size: 0.625rem;
    --motoreach-badge-font: 600 0.75rem/1 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    display: inline-flex;
    vertical-align: middle;
    ${inheritedTextReset}
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
    padding-inline: 0.375rem;
    border-radius: 999px;
    background: var(--motoreach-badge-bg);
    color: var(--motoreach-badge-fg);
    font: var(--motoreach-badge-font);
    font-variant-numeric: tabular-nums;
  }
  :host([dot]) [part='base'] {
    min-inline-size: var(--motoreach-badge-dot-size);
    block-size: var(--motoreach-badge-dot-size);
    padding: 0;
  }
`;
