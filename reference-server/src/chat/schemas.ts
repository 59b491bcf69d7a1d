import { z } from 'zod';
import { ChatError } from './errors.js';

/** Inputs of the domain, shared by the REST routes and the WebSocket frames. */

/**
 * JSON can carry a lone UTF-16 surrogate (`"\ud800"`), which has no UTF-8
 * form: stored, it would come back as replacement characters, and two
 * client_ids differing only there would collapse into one. Refused instead.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;
const text = () =>
  z.string().refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode text (no lone surrogates)');

const clientId = text().min(1).max(128);

/** The most a message's `data` may take, in UTF-8 bytes of its JSON text (JSON.stringify's, without spaces). */
export const MAX_DATA_BYTES = 4096;

/**
 * Host-defined structured content (contract 1.2): a JSON object, kept as given, never rebuilt (a
 * zod record would copy it). Measured as JSON text, the form it is stored and sent in.
 */
const messageData = z
  .custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), 'must be a JSON object')
  .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_DATA_BYTES, `must be at most ${MAX_DATA_BYTES} bytes as JSON`);

export const messageInput = z.object({
  body: text(),
  client_id: clientId.nullish(),
  data: messageData.optional(),
  // Checked against the store by the attachments' claim: here only their shape, and at most 10.
  attachments: z.array(z.string().min(1).max(64)).max(10, 'at most 10 per message').optional(),
});

export const readInput = z.object({
  last_read_seq: z.number().int().nonnegative().nullish(),
});

export const typingInput = z.object({
  is_typing: z.boolean(),
});

export const roomInput = z.object({
  workshop_id: text().min(1).max(128),
  title: text(),
});

/** The host's own ids: what fits a URL path segment unescaped, and a log line. */
export const hostRoomId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 of A-Z a-z 0-9 . _ : -');

/** A person's id, as a token's `sub` or a room's `user_id` holds it (a `sub` may be longer than a `user_id`). */
export const userIdParam = text().min(1).max(1024);

const displayName = text().max(200);

export const roomPutInput = z.strictObject({
  user_id: text().min(1).max(128),
  workshop_id: text().min(1).max(128),
  title: text(),
  status: z.enum(['open', 'closed']).optional(),
  user_name: displayName.nullable().optional(),
  workshop_name: displayName.nullable().optional(),
});

export const devTokenInput = z.object({
  sub: z.string().min(1).max(128),
  role: z.enum(['user', 'workshop_admin']),
  workshop_id: z.string().min(1).max(128).optional(),
  name: z.string().max(200).optional(),
});

const nonNegativeInteger = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a non-negative integer')
  .transform(Number);

export const pageQuery = z.object({
  before: nonNegativeInteger.optional(),
  after: nonNegativeInteger.optional(),
  limit: nonNegativeInteger.optional(),
});

export const inboxQuery = z.object({
  limit: nonNegativeInteger.optional(),
  cursor: z.string().max(512).optional(),
  // Trimmed and bounded by the service; a line break would let it match across a room's title and name.
  q: text()
    .refine((value) => !/[\r\n]/.test(value), 'must be one line of text')
    .optional(),
  unread: z.enum(['0', '1'], { error: 'must be 1 or 0' }).optional(),
});

/** Parses `value` or throws `invalid` naming the first offending field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new ChatError('invalid', `${field}${issue?.message ?? 'invalid input'}`);
}

/** Trims and checks a text's length in Unicode code points. */
export function boundedText(value: string, field: string, max: number): string {
  const text = value.trim();
  // No more UTF-16 units than the limit is no more code points either: most texts need no walk.
  let length = text.length <= max ? text.length : 0;
  if (length === 0) for (const _ of text) if (++length > max) break;
  if (length === 0) throw new ChatError('invalid', `${field} must not be empty`);
  if (length > max) throw new ChatError('invalid', `${field} is longer than ${max} characters`);
  return text;
}
