import { css } from 'lit';

// The attach controls, the picked files, files in bubbles and the full-size image view (attachments.ts,
// image-dialog.ts). The composer's grid gains a row for the chips and a column for the buttons.
export const attachmentStyles = css`
  .composer {
    grid-template-columns: auto 1fr auto;
    grid-template-areas: 'picked picked picked' 'attach input send' 'counter counter counter';
  }
  .attach {
    grid-area: attach;
    display: flex;
  }
  .attach button {
    display: grid;
    place-items: center;
    inline-size: 2.5rem;
    block-size: 2.5rem;
    padding: 0;
    border: 0;
    border-radius: 50%;
    background: none;
    color: var(--motoreach-muted);
  }
  .attach svg {
    inline-size: 1.375rem;
    block-size: 1.375rem;
    fill: none;
    stroke: currentColor;
    stroke-width: 1.75;
    stroke-linecap: round;
    stroke-linejoin: round;
  }
  .attach button:disabled {
    opacity: 0.5;
  }
  /* The camera is offered where there is one to point: phones and tablets. */
  .camera {
    display: none !important;
  }
  @media (pointer: coarse) {
    .camera {
      display: grid !important;
    }
  }
  .picked {
    grid-area: picked;
    padding-block-end: 0.375rem;
  }
  .chips {
    display: flex;
    flex-wrap: wrap;
    gap: 0.375rem;
    margin: 0;
    padding: 0;
    list-style: none;
  }
  .chip,
  .file {
    display: inline-flex;
    align-items: center;
    gap: 0.375rem;
    max-inline-size: 100%;
    padding: 0.25rem 0.5rem;
    border: 1px solid var(--motoreach-border);
    border-radius: 0.5rem;
    background: var(--motoreach-log-bg);
    color: var(--motoreach-fg);
    font-size: 0.8125rem;
  }
  .chip .name,
  .file .name {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .chip .size,
  .file .size {
    flex: none;
    color: var(--motoreach-muted);
  }
  .chip .thumb {
    flex: none;
    border-radius: 0.25rem;
    object-fit: cover;
  }
  .chip button {
    min-inline-size: 1.5rem;
    min-block-size: 1.5rem;
    padding: 0;
    border: 0;
    background: none;
    color: inherit;
    font-size: 1rem;
  }
  .file-error {
    margin: 0.25rem 0 0;
    color: var(--motoreach-danger);
    font-size: 0.8125rem;
  }
  /* Inside a bubble, whose text keeps its line breaks: the markup's own white space must not show. */
  .files,
  .attachments {
    white-space: normal;
  }
  .files {
    display: grid;
    gap: 0.25rem;
    margin: 0.25rem 0 0;
    padding: 0;
    list-style: none;
  }
  .files progress {
    inline-size: 5rem;
  }
  .attachments {
    display: grid;
    gap: 0.25rem;
    margin-block-start: 0.25rem;
  }
  .attachments .file {
    text-decoration: none;
  }
  .image {
    position: relative;
    display: block;
    text-decoration: none;
    inline-size: 240px;
    max-inline-size: 100%;
    border-radius: 0.75rem;
    overflow: hidden;
    background: var(--motoreach-border);
    cursor: zoom-in;
  }
  /* Over a photo being sent, so that the bubble keeps its size when it is stored. */
  .image progress {
    position: absolute;
    inset-inline: 0.75rem;
    inset-block-end: 0.75rem;
    inline-size: auto;
  }
  .image img {
    display: block;
    inline-size: 100%;
    block-size: auto;
  }
  .image-dialog {
    max-inline-size: 95vw;
    max-block-size: 95vh;
    padding: 0;
    border: 0;
    background: transparent;
  }
  .image-dialog::backdrop {
    background: rgb(0 0 0 / 0.8);
  }
  .image-dialog img {
    display: block;
    max-inline-size: 95vw;
    max-block-size: calc(95vh - 3rem);
    object-fit: contain;
  }
  .image-dialog form {
    display: flex;
    justify-content: flex-end;
  }
  .close-image {
    min-block-size: 2.75rem;
    padding: 0 1rem;
    border: 0;
    border-radius: 0.5rem;
    background: var(--motoreach-bg);
    color: var(--motoreach-fg);
    font: inherit;
  }
`;
