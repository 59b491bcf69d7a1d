import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks 1.0 headers of one attempt: `webhook-id` is the event's (the same on every
 * attempt), `webhook-signature` one `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per secret,
 * space-separated, so that a receiver holding either secret verifies it during a rotation.
 */
export class WebhookSigner {
  readonly #webhooks: Webhook[];

  constructor(secrets: string[]) {
    this.#webhooks = secrets.map((secret) => new Webhook(secret));
  }

  headers(id: string, at: Date, body: string): Record<string, string> {
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.#webhooks.map((webhook) => webhook.sign(id, at, body)).join(' '),
    };
  }
}
