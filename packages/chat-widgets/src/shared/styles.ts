import { css, type CSSResult } from 'lit';

export const srOnly = css`
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
`;

/**
 * The inherited text properties a page may set (Vite's starter centres its body's text; some pages
 * have `* { text-align: center }`), put back to their defaults on a widget's outermost element inside
 * its shadow root: a page's rule on the host beats `:host`, but no page selector reaches in there.
 * Direction and language are kept: they are the page's to give.
 */
export const inheritedTextReset = css`
  text-align: start;
  text-indent: 0;
  text-transform: none;
  text-shadow: none;
  letter-spacing: normal;
  word-spacing: normal;
  white-space: normal;
  word-break: normal;
  overflow-wrap: normal;
  hyphens: manual;
  cursor: auto;
`;

/**
 * An element's theme: light unless the page prefers dark (and `theme` is not "light"), or
 * `theme="dark"`, each with its `dark` custom properties; `hidden` hides it; border-box inside.
 */
export const themed = (dark: CSSResult) => css`
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
`;
