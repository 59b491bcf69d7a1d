import type { UploadedAttachment } from '@motoreach/protocol';
import { Router, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { ChatError } from '../chat/errors.js';
import { bodyPending, type BodyDeadlines } from '../http/body-deadline.js';
import { parse } from '../chat/schemas.js';
import type { ChatService } from '../chat/service.js';
import type { Attachments } from './attachments.js';
import { screenHead, TYPE_HEAD_BYTES } from './content.js';
import type { Variant } from './urls.js';

const uploadQuery = z.object({
  name: z.string().max(1000).optional(),
  client_id: z.string().min(1).max(128).refine((value) => !/\p{Surrogate}/u.test(value), 'must be well-formed Unicode text').optional(),
});

const signedQuery = z.object({ expires: z.string().max(20).optional(), signature: z.string().max(100).optional() });

/** How long a refused upload's connection may stay open once the refusal is sent, unread. */
const REFUSED_LINGER_MS = 5000;

/**
 * The rest of a refused body is not read: the answer goes out with `Connection: close`, then the
 * socket stops reading (the sender's writes stall and it reads the answer) and is cut soon after.
 */
function refuseRest(req: Request, res: Response): void {
  res.setHeader('Connection', 'close');
  res.once('finish', () => {
    req.socket.pause();
    setTimeout(() => req.socket.destroy(), REFUSED_LINGER_MS).unref();
  });
}

/**
 * The raw body, refused as soon as it passes `max` bytes, or as soon as its first bytes are of no
 * accepted type (`screen`): a 10 MB page is refused after its first 4 KB.
 */
function readBody(req: Request, max: number, tooLarge: () => ChatError, screen: (head: Buffer) => Promise<void>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let screened = false;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const refuse = (error: unknown) => {
      stop();
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        refuse(tooLarge());
        return;
      }
      chunks.push(chunk);
      if (screened || size < TYPE_HEAD_BYTES) return;
      screened = true;
      req.pause();
      screen(Buffer.concat(chunks, size)).then(() => req.resume(), refuse);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function contentLength(req: Request): number | null {
  const raw = req.headers['content-length'];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : null;
}

/** `filename*` per RFC 8187 for any name, and a plain `filename` for old clients. */
function disposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/**
 * `POST /api/service-requests/{id}/attachments/`: the raw file as the body. Mounted before the JSON
 * body parser, after authentication: a refused caller's body is never read.
 */
export function uploadRoutes(service: ChatService, attachments: Attachments, deadlines: BodyDeadlines): Router {
  const router = Router();
  router.post('/service-requests/:id/attachments/', async (req, res) => {
    try {
      if (!req.identity) throw new ChatError('unauthorized', 'a valid bearer token is required');
      const identity = req.identity;
      const query = parse(uploadQuery, req.query);
      const room = await service.authorize(identity, req.params.id as string);
      if (room.status === 'closed') throw new ChatError('closed', 'this service request is closed; it takes no new files');
      const clientId = query.client_id ?? null;
      const repeated = clientId === null ? null : await attachments.repeated(identity, room, clientId);
      if (repeated) {
        if (bodyPending(req)) refuseRest(req, res);
        res.status(200).json({ attachment: repeated } satisfies UploadedAttachment);
        return;
      }
      // Until its answer is sent or its connection is gone: a body cut short (body-deadline.ts) ends no read.
      res.once('close', attachments.begin(identity));
      const declared = contentLength(req);
      await attachments.admit(identity, declared);
      deadlines.allowUpload(req, declared ?? attachments.maxBytes);
      const bytes = await readBody(req, attachments.maxBytes, () => attachments.tooLarge(), screenHead);
      if (bytes.length === 0) throw new ChatError('invalid', 'the upload is empty: send the file as the request body');
      const { attachment, created } = await attachments.upload(identity, room, bytes, query.name, clientId);
      res.status(created ? 201 : 200).json({ attachment } satisfies UploadedAttachment);
    } catch (error) {
      if (bodyPending(req)) refuseRest(req, res);
      throw error;
    }
  });
  return router;
}

/**
 * `GET /api/attachments/{id}/` and `.../thumbnail/`: the bytes behind a signed URL, with no
 * Authorization (an `<img src>`). Served so that nothing uploaded runs as a page of this origin.
 */
export function fileRoutes(attachments: Attachments): Router {
  const router = Router();
  const serve = (variant: Variant) => async (req: Request, res: Response) => {
    const query = parse(signedQuery, req.query);
    const { record, body } = await attachments.open(req.params.id as string, variant, query.expires, query.signature);
    res.setHeader('Content-Type', record.content_type);
    if (variant === 'file') res.setHeader('Content-Length', String(record.size));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Disposition', disposition(record.kind === 'image' ? 'inline' : 'attachment', record.name));
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    // The URL is its own permission: a shared cache must not keep it for others.
    res.setHeader('Cache-Control', 'private, max-age=300');
    await pipeline(body, res);
  };
  router.get('/attachments/:id/', serve('file'));
  router.get('/attachments/:id/thumbnail/', serve('thumbnail'));
  return router;
}
