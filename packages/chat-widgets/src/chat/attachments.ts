import { html, nothing, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { Attachment, ChatMessage, OutboxFile } from '@motoreach/chat-client';
import type { ChatStrings } from '../shared/strings.js';

// What the attach button offers (the server decides by content; this only narrows the picker).
const ACCEPT = 'image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif,application/pdf';
// An image bubble's width; its height follows the image's ratio, reserved before it loads.
const IMAGE_WIDTH = 240;
const imageHeight = (width: number, height: number): number => Math.round((IMAGE_WIDTH * height) / width);

/** `1.2 MB`, `830 kB`, `12 B`, in the locale's digits. */
export function formatBytes(bytes: number, lang: string | undefined): string {
  const [unit, value] = bytes >= 1e6 ? ['megabyte', bytes / 1e6] : bytes >= 1e3 ? ['kilobyte', bytes / 1e3] : ['byte', bytes];
  return new Intl.NumberFormat(lang, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: 1 }).format(value);
}

/**
 * The files picked to go with the next message, under the composer: the attach button (and on
 * phones a camera button: `capture`), paste and drag-and-drop, and a chip per file to review and
 * remove it before sending. What the server would refuse is refused by the SDK at send; `error`
 * shows why, and the files stay for the writer to remove.
 */
export class AttachmentPicker {
  files: File[] = [];
  error = '';

  constructor(
    private readonly host: ReactiveControllerHost & { readonly renderRoot: HTMLElement | DocumentFragment },
    private readonly previews?: Previews,
  ) {}

  add(files: Iterable<File>): void {
    const added = [...files];
    if (!added.length) return;
    // Decoded while the writer is still writing: the message shows its photos at once when sent.
    for (const f of added) this.previews?.get(f);
    this.files = [...this.files, ...added];
    this.error = '';
    this.host.requestUpdate();
  }

  /** The files for a send: the picker is empty afterwards (`restore()` puts them back if the send was refused at once). */
  take(): File[] {
    const files = this.files;
    this.files = [];
    this.error = '';
    this.host.requestUpdate();
    return files;
  }

  restore(files: File[], error: string): void {
    this.files = files;
    this.error = error;
    this.host.requestUpdate();
  }

  private remove(file: File): void {
    this.files = this.files.filter((f) => f !== file);
    this.error = '';
    this.host.requestUpdate();
    (this.host.renderRoot.querySelector('#attach') as HTMLElement | null)?.focus();
  }

  /** A pasted image (a screenshot) joins the files; pasted text stays the textarea's. */
  readonly onPaste = (e: ClipboardEvent): void => {
    const files = e.clipboardData?.files;
    if (!files?.length) return;
    e.preventDefault();
    this.add(files);
  };

  readonly onDragOver = (e: DragEvent): void => {
    if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
  };

  readonly onDrop = (e: DragEvent): void => {
    const files = e.dataTransfer?.files;
    if (!files?.length) return;
    e.preventDefault();
    this.add(files);
  };

  private readonly onPick = (e: Event): void => {
    const input = e.target as HTMLInputElement;
    this.add(input.files ?? []);
    // The same file may be picked again after it was removed.
    input.value = '';
  };

  /** The buttons (a grid cell of the composer's form). */
  renderButtons(s: ChatStrings, disabled: boolean): TemplateResult {
    const pick = (id: string) => () => (this.host.renderRoot.querySelector(`#${id}`) as HTMLInputElement | null)?.click();
    return html`<div class="attach">
      <input id="file-input" type="file" accept=${ACCEPT} multiple hidden @change=${this.onPick} />
      <input id="camera-input" type="file" accept="image/*" capture="environment" hidden @change=${this.onPick} />
      <button id="attach" part="attach-button" type="button" ?disabled=${disabled} @click=${pick('file-input')}>
        <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6.5 8.6 14.4a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.6-5.6l-8 8a6 6 0 0 0 8.4 8.4l7.3-7.3" /></svg
        ><span class="sr-only">${s.attach}</span>
      </button>
      <button part="camera-button" class="camera" type="button" ?disabled=${disabled} @click=${pick('camera-input')}>
        <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 7h3l2-3h6l2 3h3v13H4z" /><circle cx="12" cy="13" r="3.5" /></svg
        ><span class="sr-only">${s.takePhoto}</span>
      </button>
    </div>`;
  }

  /** The chips of the picked files, and why a send was refused (above the text area). */
  renderChips(s: ChatStrings, lang: string | undefined): TemplateResult | typeof nothing {
    if (!this.files.length && !this.error) return nothing;
    return html`<div class="picked">
      <ul part="file-chips" class="chips" aria-label=${s.filesToSend}>
        ${this.files.map(
          (f) => html`<li part="file-chip" class="chip">
            ${this.previews?.get(f)
              ? html`<img class="thumb" src=${this.previews.get(f)!.url} alt="" width="24" height="24" @error=${() => this.previews!.failed(f)} />`
              : nothing}
            <span class="name">${f.name}</span> <span class="size">${formatBytes(f.size, lang)}</span>
            <button part="remove-file-button" type="button" aria-label=${s.removeFile(f.name)} @click=${() => this.remove(f)}>×</button>
          </li>`,
        )}
      </ul>
      ${this.error ? html`<p part="file-error" class="file-error" role="alert">${this.error}</p>` : nothing}
    </div>`;
  }
}

interface Preview {
  url: string;
  width: number;
  height: number;
}

/**
 * Pictures of photos still being sent, from their bytes: decoded once per file (when it is picked) to
 * learn its size and draw a copy at twice the bubble's width, shown at the size the stored image will
 * have, so that the bubble does not change when it is stored. A data URL, not an object URL: nothing
 * to revoke, it goes with the file.
 */
export class Previews {
  // null while decoding, false when there is none to show (not decodable, or refused by the page's CSP).
  private readonly known = new WeakMap<Blob, Preview | null | false>();

  constructor(private readonly host: ReactiveControllerHost) {}

  get(blob: Blob | undefined): Preview | null {
    // A file restored from storage that could not keep its bytes has none.
    if (!(blob instanceof Blob) || !blob.type.startsWith('image/')) return null;
    const known = this.known.get(blob);
    if (known !== undefined) return known || null;
    this.known.set(blob, null);
    // HEIC, which Chromium cannot decode, stays a file chip until the server has made it a JPEG.
    createImageBitmap(blob).then(
      (bitmap) => {
        const canvas = document.createElement('canvas');
        canvas.width = IMAGE_WIDTH * 2;
        canvas.height = imageHeight(bitmap.width, bitmap.height) * 2;
        canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        this.known.set(blob, { url: canvas.toDataURL('image/jpeg', 0.8), width: bitmap.width, height: bitmap.height });
        bitmap.close();
        this.host.requestUpdate();
      },
      () => this.known.set(blob, false),
    );
    return null;
  }

  /** The page would not show it (a Content-Security-Policy without `img-src data:`): the file's name instead. */
  readonly failed = (blob: Blob | undefined): void => {
    if (!blob) return;
    this.known.set(blob, false);
    this.host.requestUpdate();
  };
}

export interface AttachmentContext {
  strings: ChatStrings;
  lang: string | undefined;
  /** Bytes sent of a pending message's file being uploaded, by the message's client_id. */
  progress: ReadonlyMap<string, { file: OutboxFile; sent: number }>;
  /** An attachment's URL as the page can load it (the server may give paths on itself). */
  url: (path: string) => string;
  open: (image: Attachment, opener: HTMLElement) => void;
  previews: Previews;
}

/**
 * A message's files, in its bubble: images at their final size from the start (the width and height
 * the server measured reserve the box, so nothing moves when they load), links to the full-size
 * image that open it in the dialog instead (a new tab with a modifier key, or without script); other
 * files as chips with name and size, linking to the file. A pending message shows its photos from
 * their bytes at the same size (`Previews`) and its other files by name, with the upload's progress.
 */
export function renderAttachments(m: ChatMessage, ctx: AttachmentContext): TemplateResult | typeof nothing {
  const { strings: s, lang } = ctx;
  if (m.state !== 'sent' && m.files?.length) {
    const now = m.client_id ? ctx.progress.get(m.client_id) : undefined;
    return html`<ul class="files">
      ${m.files.map((f) => {
        const sent = f.id ? f.size : now?.file.client_id === f.client_id ? now.sent : 0;
        const bar = m.state === 'pending' ? html`<progress part="upload-progress" max=${f.size} .value=${sent} aria-label=${s.uploading(f.name)}></progress>` : nothing;
        const preview = ctx.previews.get(f.blob);
        return preview
          ? html`<li part="image" class="image">
              <img
                src=${preview.url}
                alt=${f.name}
                width=${IMAGE_WIDTH}
                height=${imageHeight(preview.width, preview.height)}
                @error=${() => ctx.previews.failed(f.blob)}
              />${bar}
            </li>`
          : html`<li part="file" class="file"><span class="name">${f.name}</span> <span class="size">${formatBytes(f.size, lang)}</span> ${bar}</li>`;
      })}
    </ul>`;
  }
  if (!m.attachments?.length) return nothing;
  return html`<div class="attachments">
    ${m.attachments.map((a) =>
      a.kind === 'image' && a.width && a.height
        ? html`<a
            part="image"
            class="image"
            href=${ctx.url(a.url)}
            aria-label=${s.openImage(a.name)}
            @click=${(e: MouseEvent) => {
              if (e.ctrlKey || e.metaKey || e.shiftKey) return;
              e.preventDefault();
              ctx.open(a, e.currentTarget as HTMLElement);
            }}
          >
            <img
              src=${ctx.url(a.thumbnail_url ?? a.url)}
              alt=${a.name}
              width=${IMAGE_WIDTH}
              height=${imageHeight(a.width, a.height)}
              loading="lazy"
              decoding="async"
            />
          </a>`
        : html`<a part="file" class="file" href=${ctx.url(a.url)} target="_blank" rel="noopener noreferrer" download=${a.name}>
            <span class="name">${a.name}</span> <span class="size">${formatBytes(a.size, lang)}</span>
          </a>`,
    )}
  </div>`;
}
