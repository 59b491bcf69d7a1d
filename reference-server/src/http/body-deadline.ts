import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';

/**
 * The slowest upload still taken whole: 32 KiB/s (256 kbit/s, a poor mobile uplink), on top of
 * REQUEST_TIMEOUT_MS. A 10 MB photo from a 5 Mbit/s phone takes 16 s, which a fixed 10 s cut
 * would refuse on every retry: a fault that never passes.
 */
export const UPLOAD_MIN_BYTES_PER_S = 32 * 1024;

/** The longest an upload of `bytes` may take to arrive. */
export function uploadAllowanceMs(limitMs: number, bytes: number): number {
  return limitMs + Math.ceil((bytes / UPLOAD_MIN_BYTES_PER_S) * 1000);
}

/** A body was announced and has not arrived whole. */
export function bodyPending(req: IncomingMessage): boolean {
  const declared = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  return declared && !req.complete;
}

interface Pending {
  started: number;
  deadline: number;
  res: Response;
}

/**
 * Cuts a request whose body has not arrived whole in time, with `408` and the connection closed:
 * REQUEST_TIMEOUT_MS from its headers, or more for an upload (`allowUpload`). Node's own
 * `requestTimeout` is one value for every request, so the server sets it to the longest upload's
 * (a backstop) and this holds the others to the short one. One timer checks them all, as Node's
 * own check does, and only while a body is on its way.
 */
export class BodyDeadlines {
  readonly #pending = new Map<IncomingMessage, Pending>();
  readonly #checkEveryMs: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly limitMs: number) {
    this.#checkEveryMs = Math.min(1000, limitMs / 4);
  }

  readonly middleware: RequestHandler = (req, res, next) => {
    if (bodyPending(req)) {
      const started = performance.now();
      this.#pending.set(req, { started, deadline: started + this.limitMs, res });
      res.once('close', () => this.#pending.delete(req));
      this.#timer ??= setInterval(() => this.#check(), this.#checkEveryMs).unref();
    }
    next();
  };

  /** Gives an upload of `bytes` (its declared size, or the largest taken) the time it needs at the slowest rate taken. */
  allowUpload(req: Request, bytes: number): void {
    const pending = this.#pending.get(req);
    if (pending) pending.deadline = pending.started + uploadAllowanceMs(this.limitMs, bytes);
  }

  #check(): void {
    const now = performance.now();
    for (const [req, { deadline, res }] of this.#pending) {
      if (req.complete) this.#pending.delete(req);
      else if (now > deadline) this.#cut(req, res);
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#timer!);
      this.#timer = null;
    }
  }

  #cut(req: IncomingMessage, res: Response): void {
    this.#pending.delete(req);
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    res.once('finish', () => req.socket.destroy());
    res.writeHead(408, { Connection: 'close' }).end();
  }
}
