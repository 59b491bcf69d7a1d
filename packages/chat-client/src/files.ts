import { ChatError } from './errors.js';

/** A file to send with a message (contract 1.2), as the outbox keeps it: `id` is the server's once uploaded. */
export interface OutboxFile {
  // Makes the upload idempotent (`?client_id=`): a retried upload answers the attachment made before.
  client_id: string;
  name: string;
  size: number;
  // The bytes until uploaded. A storage that cannot keep a Blob (localStorage: JSON) loses it at a page
  // reload; the message then fails with `lost`, naming the file.
  blob?: Blob;
  id?: string;
}

// What the reference server accepts (it decides by content; this is the early refusal, by declared
// type or, when the browser declares none, as for some HEIC photos, by the name's extension).
const TYPES = /(image\/(jpeg|png|webp|hei[cf])|\/pdf|\.(jpe?g|png|webp|hei[cf]))$/i;

/** Refuses at once a file the server would refuse: a type it does not take, or over `maxBytes`. */
export function checkFiles(files: readonly Blob[], maxBytes: number): void {
  for (const f of files) {
    const name = fileName(f);
    if (!TYPES.test(f.type) && !TYPES.test(name)) throw new ChatError('invalid', `${name}: not JPEG, PNG, WebP, HEIC or PDF`);
    if (f.size > maxBytes) throw new ChatError('too_large', `${name}: over ${maxBytes >> 20} MB`);
  }
}

export const fileName = (f: Blob): string => (f as File).name || 'file';
