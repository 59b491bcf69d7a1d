// POST /chat-webhooks: the chat server's events, verified with the Standard Webhooks library
// (`webhook-id`, `webhook-timestamp`, `webhook-signature`: an HMAC-SHA256 of `id.timestamp.body`
// with the shared `whsec_` secret), kept in the inbox, answered 204 at once, acted on after.
import express, { type Request, type Response } from 'express';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { isChatEvent } from './chat-events.js';
import type { WebhookInbox } from './webhook-inbox.js';

export interface WebhookSettings {
  /** The chat server's WEBHOOK_SECRET, `whsec_` and base64. */
  secret: string;
  /** During a rotation, the secret before it: a delivery signed with either is accepted. */
  previousSecret?: string;
  /** The directory of the inbox (the webhook ids seen, the work pending) and the e-mail outbox. */
  dataDir: string;
}

const HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

/** The route's handlers: the raw body first, since the signature is over the bytes as sent, not over re-serialised JSON. */
export function webhookRoute(settings: WebhookSettings, inbox: WebhookInbox, log: (line: string) => void) {
  const verifiers = [settings.secret, settings.previousSecret].filter((secret) => secret !== undefined).map((secret) => new Webhook(secret));

  // #region verify
  // The library checks the timestamp (5 minutes either way: a replay of an old delivery fails) and
  // every signature in the header against the secret, in constant time. Null when one secret accepts.
  const refusal = (body: Buffer, headers: Record<string, string>): string | null => {
    let failure = 'no secret';
    for (const verifier of verifiers) {
      try {
        verifier.verify(body, headers, { jsonParse: false });
        return null;
      } catch (error) {
        if (!(error instanceof WebhookVerificationError)) throw error;
        failure = error.message;
      }
    }
    return failure;
  };

  const refuse = (res: Response, status: number, code: string, message: string) => void res.status(status).json({ error: { code, message } });

  const receive = (req: Request, res: Response) => {
    const headers = Object.fromEntries(HEADERS.map((name) => [name, req.get(name) ?? '']));
    if (HEADERS.some((name) => !headers[name])) return refuse(res, 400, 'invalid', `${HEADERS.join(', ')} are required`);
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const failure = refusal(body, headers);
    if (failure) {
      // The id only: a refused body is not the chat's, and may be anyone's.
      log(`webhook ${headers['webhook-id']} refused: ${failure}`);
      return refuse(res, 401, 'unauthorized', 'the signature or the timestamp is not valid');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      payload = undefined;
    }
    if (!isChatEvent(payload)) return refuse(res, 400, 'invalid', 'the body is not an event {type, timestamp, data}');
    // Accepted or already seen, the answer is the same: the chat stops sending it either way.
    inbox.accept(headers['webhook-id']!, payload);
    res.status(204).end();
  };
  // #endregion verify

  return [express.raw({ type: () => true, limit: '1mb' }), receive] as const;
}
