import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { ServerOptions } from '../../src/config.js';
import type { StartOptions } from '../../src/server.js';
import { startTestServer, type TestServer } from './harness.js';

/** `whsec_` and base64 of 32 bytes, as an integrator's dashboard makes them. */
export const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
export const PREVIOUS_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

export interface Delivery {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The payload as `Webhook.verify` returned it: set only when the signature verified. */
  payload: { type: string; timestamp: string; data: any } | null;
  /** What the receiver answered (0: nothing, it hung). */
  status: number;
  /** When it arrived (ms since the epoch). */
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A host's webhook endpoint on 127.0.0.1: every request is verified with standardwebhooks'
 * Webhook.verify against `secret`, recorded, and answered by `answer` (200 by default; 'hang'
 * answers never).
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  answer: (delivery: Delivery) => Answer = () => ({ status: 200 });
  readonly #server: Server;
  readonly #webhook: Webhook;
  #waiters: Array<() => void> = [];
  url = '';

  private constructor(secret: string) {
    this.#webhook = new Webhook(secret);
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let payload: Delivery['payload'] = null;
        try {
          payload = this.#webhook.verify(body, req.headers as Record<string, string>) as Delivery['payload'];
        } catch {
          payload = null;
        }
        const delivery: Delivery = { id: String(req.headers['webhook-id']), headers: req.headers, body, payload, status: 0, at: Date.now() };
        const answer = this.answer(delivery);
        this.deliveries.push(delivery);
        if (answer !== 'hang') {
          delivery.status = answer.status;
          res.writeHead(answer.status, answer.headers).end();
        }
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  static async start(secret = WEBHOOK_SECRET, port = 0): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret);
    await receiver.#listen(port);
    return receiver;
  }

  /**
   * For a describe block: a receiver, and a server delivering to it (private addresses allowed),
   * both up before its tests and down after. The objects exist at once, so the block can set
   * `receiver.answer` before the server starts.
   */
  static suite(options: ServerOptions = {}, extras: StartOptions = {}): { receiver: WebhookReceiver; server: TestServer } {
    const receiver = new WebhookReceiver(WEBHOOK_SECRET);
    const server = {} as TestServer;
    before(async () => {
      await receiver.#listen(0);
      Object.assign(server, await startTestServer({ webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET, webhookAllowPrivate: true, ...options }, extras));
    });
    after(async () => {
      await server.stop();
      await receiver.close();
    });
    return { receiver, server };
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks`;
  }

  /** Deliveries answered 2xx, verified, in arrival order. */
  accepted(): Delivery[] {
    return this.deliveries.filter((d) => d.status >= 200 && d.status < 300);
  }

  /** Accepted payloads about one room, in arrival order. */
  acceptedFor(requestId: string): Array<{ type: string; data: any }> {
    return this.accepted()
      .map((d) => d.payload!)
      .filter((p) => (p.data.message?.request_id ?? p.data.room?.id ?? p.data.request_id) === requestId);
  }

  async until<T>(predicate: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = predicate();
      if (result) return result;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.deliveries.map((d) => [d.id, d.status, d.payload?.type])).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
