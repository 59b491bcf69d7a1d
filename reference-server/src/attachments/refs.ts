import type { Attachment } from '@motoreach/protocol';

/** The stored form of an attachment in a message: the wire's, without its URLs, which are signed on the way out. */
export type AttachmentRef = Omit<Attachment, 'url' | 'thumbnail_url'>;

/** What a store keeps of a message's attachments: their JSON text, without the URLs. */
export function storedAttachments(attachments: Attachment[]): string {
  return JSON.stringify(attachments.map(({ url: _url, thumbnail_url: _thumbnail, ...ref }) => ref satisfies AttachmentRef));
}
