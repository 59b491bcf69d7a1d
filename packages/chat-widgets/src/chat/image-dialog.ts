import { html, nothing, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { Attachment } from '@motoreach/chat-client';
import type { ChatStrings } from '../shared/strings.js';

/**
 * An image at full size in a modal `<dialog>`: the page behind it is inert, so focus stays in it;
 * Escape (the dialog's own cancel) and the close button close it, and focus goes back to the
 * image that opened it. Its alt text is the file's name.
 */
export class ImageDialog {
  private image: { src: string; alt: string } | null = null;
  private opener: HTMLElement | null = null;

  constructor(private readonly host: ReactiveControllerHost & { readonly renderRoot: HTMLElement | DocumentFragment; updateComplete: Promise<boolean> }) {}

  private get dialog(): HTMLDialogElement | null {
    return this.host.renderRoot.querySelector('dialog.image-dialog');
  }

  async open(image: Attachment, src: string, opener: HTMLElement): Promise<void> {
    this.image = { src, alt: image.name };
    this.opener = opener;
    this.host.requestUpdate();
    await this.host.updateComplete;
    this.dialog?.showModal();
  }

  private readonly onClose = (): void => {
    this.image = null;
    this.host.requestUpdate();
    this.opener?.focus();
    this.opener = null;
  };

  render(s: ChatStrings): TemplateResult | typeof nothing {
    const image = this.image;
    if (!image) return nothing;
    return html`<dialog part="image-dialog" class="image-dialog" aria-label=${image.alt} @close=${this.onClose}>
      <form method="dialog">
        <button part="close-image-button" class="close-image" autofocus>${s.closeImage}</button>
      </form>
      <img src=${image.src} alt=${image.alt} />
    </dialog>`;
  }
}
