import type { RequestHandler } from 'express';
import { ChatError } from '../chat/errors.js';

/** A list of origins, `'*'` for every origin, or `'localhost'` for pages served from this machine (any port). */
export type OriginRule = string[] | '*' | 'localhost';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLocalOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_HOSTS.has(url.hostname) && url.origin === origin;
}

export function isOriginAllowed(allowed: OriginRule, origin: string | undefined): boolean {
  // Servers and bots send no Origin; they still have to authenticate.
  if (origin === undefined) return true;
  if (allowed === 'localhost') return isLocalOrigin(origin);
  return allowed === '*' || allowed.includes(origin);
}

/**
 * The widgets run on host pages of other origins, so the REST routes answer
 * CORS for the allow-list and refuse any other browser origin outright.
 */
export function corsFor(allowed: OriginRule): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin');
    res.vary('Origin');
    if (!isOriginAllowed(allowed, origin)) {
      next(new ChatError('forbidden', 'origin not allowed'));
      return;
    }
    if (origin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      // Unless exposed, a page of another origin cannot read Retry-After (a 503's hint when to retry).
      res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id, Retry-After');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Request-Id');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
