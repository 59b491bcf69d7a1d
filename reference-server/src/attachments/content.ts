import { ChatError } from '../chat/errors.js';
import { heifPixels, heicToJpeg } from './heic.js';

// Loaded on the first upload, not at start: sharp maps libvips (about 6 MB resident, more once it
// has run), which a server that only relays messages never uses. heic-convert loads in its own
// thread, at the first HEIC (heic.ts).
let sharpModule: Promise<typeof import('sharp')> | null = null;
const loadSharp = async () => (await (sharpModule ??= import('sharp'))).default;
let fileTypeModule: Promise<typeof import('file-type')> | null = null;
const fileTypeOf = async (bytes: Buffer) => (await (fileTypeModule ??= import('file-type'))).fileTypeFromBuffer(bytes);

/** An upload as it is stored: an image re-encoded without its metadata, or a PDF as sent. */
export interface ProcessedFile {
  kind: 'image' | 'file';
  content_type: string;
  bytes: Buffer;
  /** The name to store: the given one, with `.jpg` for a HEIC photo converted to JPEG. */
  name: string;
  width: number | null;
  height: number | null;
  /** Images only: at most THUMBNAIL_PX on each side, in the image's own format. */
  thumbnail: Buffer | null;
}

export const THUMBNAIL_PX = 320;

/** A decompression bomb (a small file of a huge picture) is refused before it is decoded: 64 megapixels covers every phone camera. */
const MAX_PIXELS = 2 ** 26;

const IMAGE_FORMATS = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp' } as const;
type ImageType = keyof typeof IMAGE_FORMATS;
const HEIF_TYPES = new Set(['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence']);

const ACCEPTED = 'JPEG, PNG, WebP, HEIC/HEIF or PDF';

/** A file name safe to store and to send back in Content-Disposition: one line, no path, at most 200 characters. */
export function cleanName(raw: string | undefined, fallback: string): string {
  const name = (raw ?? '')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .split(/[\\/]/)
    .pop()!
    .trim();
  return [...(name || fallback)].slice(0, 200).join('');
}

function withExtension(name: string, ext: string): string {
  const stem = name.replace(/\.[^.]*$/, '');
  return `${stem || 'photo'}.${ext}`;
}

async function reencode(input: Buffer, type: ImageType): Promise<Pick<ProcessedFile, 'bytes' | 'width' | 'height' | 'thumbnail'>> {
  const format = IMAGE_FORMATS[type];
  const sharp = await loadSharp();
  const decode = () => sharp(input, { limitInputPixels: MAX_PIXELS, failOn: 'error' }).rotate();
  // rotate() without an angle turns the pixels as EXIF's orientation says; sharp writes no metadata
  // unless asked, so EXIF (GPS with it), XMP and IPTC are left behind. The thumbnail is made from
  // the upload too, side by side: a JPEG is then decoded at a fraction of its size (shrink-on-load),
  // not read back whole from the re-encoded photo.
  const [{ data, info }, thumbnail] = await Promise.all([
    decode()
      .toFormat(format, format === 'png' ? {} : { quality: 85 })
      .toBuffer({ resolveWithObject: true }),
    decode()
      .resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true })
      .toFormat(format, format === 'png' ? {} : { quality: 75 })
      .toBuffer(),
  ]);
  return { bytes: data, width: info.width, height: info.height, thumbnail };
}

/** How many first bytes tell a file's type: what file-type reads at most for those accepted here. */
export const TYPE_HEAD_BYTES = 4100;

function refusedType(type: string | undefined): ChatError {
  return new ChatError('invalid', `this file type is not accepted${type ? ` (${type})` : ''}: send ${ACCEPTED}`);
}

/** Refuses an upload from its first bytes, before the rest is read, when they are of no accepted type. */
export async function screenHead(head: Buffer): Promise<void> {
  const type = (await fileTypeOf(head))?.mime as string | undefined;
  if (type === undefined || !(type in IMAGE_FORMATS || HEIF_TYPES.has(type) || type === 'application/pdf')) throw refusedType(type);
}

/**
 * Decides what an upload is from its bytes (the declared Content-Type is not trusted: an HTML page
 * declared image/jpeg would otherwise be served to browsers) and makes it what is stored.
 */
export async function processUpload(input: Buffer, rawName: string | undefined): Promise<ProcessedFile> {
  const detected = await fileTypeOf(input);
  const type = detected?.mime as string | undefined;
  const name = cleanName(rawName, detected ? `file.${detected.ext}` : 'file');
  try {
    if (type !== undefined && type in IMAGE_FORMATS) {
      return { kind: 'image', content_type: type, name, ...(await reencode(input, type as ImageType)) };
    }
    if (type !== undefined && HEIF_TYPES.has(type)) {
      // sharp's prebuilt libheif reads AVIF only (HEVC is left out for its patents): heic-convert decodes iPhone photos.
      const pixels = heifPixels(input);
      if (pixels === null || pixels > MAX_PIXELS) throw new Error(pixels === null ? 'no image size in the file' : `${pixels} pixels, over the limit of ${MAX_PIXELS}`);
      const jpeg = await heicToJpeg(input);
      return { kind: 'image', content_type: 'image/jpeg', name: withExtension(name, 'jpg'), ...(await reencode(jpeg, 'image/jpeg')) };
    }
  } catch (error) {
    throw new ChatError('invalid', `the image cannot be decoded (${(error as Error).message.split('\n')[0]}); send a JPEG, PNG, WebP or HEIC photo`);
  }
  if (type === 'application/pdf') {
    return { kind: 'file', content_type: type, name, bytes: input, width: null, height: null, thumbnail: null };
  }
  throw refusedType(type);
}
