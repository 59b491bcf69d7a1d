// A repair marketplace's backend, as its platform team writes it, driving the MotoReach chat: every
// service request gets a chat room under the marketplace's own id; a workshop's quote appears in
// the chat as a system message carrying the quote as data; operations reassign a request to another
// workshop, close and reopen it, and answer a person's export and erasure requests. The browsers get
// their chat tokens from GET /chat-token (the widgets' `token-url`). The chat's webhooks come to
// POST /chat-webhooks: a workshop's answer moves the request on, a room's change goes into the
// dispute log, an unread reminder is e-mailed. Run with `npm start` (README.md).
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ChatApi, ChatApiError, type RoomPut } from './chat-api.js';
import { actOnChatEvent } from './chat-events.js';
import { ChatTokens, type TokenSettings } from './chat-tokens.js';
import { Marketplace, type ServiceRequest, type User } from './marketplace.js';
import { Outbox } from './outbox.js';
import { WebhookInbox } from './webhook-inbox.js';
import { webhookRoute, type WebhookSettings } from './webhooks.js';

export interface HostBackendOptions {
  port?: number;
  /** The chat server, e.g. `https://chat.example.com`. */
  chatUrl: string;
  jwt: TokenSettings;
  /** The backend's log: retries and refusals of the chat, never a token. */
  log?: (line: string) => void;
  /** Tuning of the retries (tests make them quick). */
  retry?: { attempts?: number; minDelayMs?: number; maxDelayMs?: number };
  /** Receives the chat's webhooks on POST /chat-webhooks when given. */
  webhooks?: WebhookSettings;
}

/** An answer of the backend's own API: `{error: {code, message}}` with this status. */
class HostError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startHostBackend({ port = 3000, chatUrl, jwt, log = console.warn, retry = {}, webhooks }: HostBackendOptions) {
  const marketplace = new Marketplace();
  const tokens = new ChatTokens(jwt);
  const chat = new ChatApi({ baseUrl: chatUrl, token: () => tokens.service(), log, ...retry });

  // Stands in for your session middleware: here the signed-in user is named by a header.
  const signedIn = (req: Request): User => {
    const user = marketplace.user(req.get('x-demo-user') ?? '');
    if (!user) throw new HostError(401, 'unauthorized', 'sign in first');
    return user;
  };
  const signedInAs = <K extends User['kind']>(req: Request, kind: K): Extract<User, { kind: K }> => {
    const user = signedIn(req);
    if (user.kind !== kind) throw new HostError(403, 'forbidden', `only ${kind} users may do this`);
    return user as Extract<User, { kind: K }>;
  };
  const requestOf = (id: string): ServiceRequest => {
    const request = marketplace.request(id);
    if (!request) throw new HostError(404, 'not_found', 'no such service request');
    return request;
  };

  // #region sync-room
  // The room is always put whole, from the marketplace's record: the same call creates it, renames
  // it, reassigns it, closes and reopens it, and repeating it changes nothing. The chat goes first
  // and the record is saved after it, so a call that fails for good leaves both as they were.
  async function syncRoom(request: ServiceRequest): Promise<ServiceRequest> {
    const room: RoomPut = {
      user_id: request.ownerId,
      workshop_id: request.workshopId,
      title: request.title,
      status: request.status,
      user_name: marketplace.user(request.ownerId)?.name ?? null,
      workshop_name: marketplace.workshop(request.workshopId)?.name ?? null,
    };
    await chat.putRoom(request.id, room);
    marketplace.saveRequest(request);
    return request;
  }

  // One change of a request at a time, each made to the record the one before saved: two changes
  // at once (a reassignment and a close) would each put the room from the same old record, and the
  // later PUT would undo the other change. In your database: a row lock, or a version check.
  const changing = new Map<string, Promise<unknown>>();
  function changeRequest(id: string, change: (request: ServiceRequest) => ServiceRequest): Promise<ServiceRequest> {
    const settled = () => {};
    // After the change before it, whether that one worked or not.
    const done = (changing.get(id) ?? Promise.resolve()).then(settled, settled).then(() => syncRoom(change(requestOf(id))));
    changing.set(id, done);
    const forget = () => void (changing.get(id) === done && changing.delete(id));
    done.then(forget, forget);
    return done;
  }
  // #endregion sync-room

  const app = express();

  // #region webhooks
  // Before the JSON parser: the signature is over the body's bytes as the chat sent them.
  let inbox: WebhookInbox | undefined;
  if (webhooks) {
    mkdirSync(webhooks.dataDir, { recursive: true });
    const outbox = new Outbox(join(webhooks.dataDir, 'outbox.jsonl'));
    inbox = new WebhookInbox(join(webhooks.dataDir, 'webhooks.jsonl'), (event) => actOnChatEvent(event, { marketplace, outbox, log }), log);
    app.post('/chat-webhooks', ...webhookRoute(webhooks, inbox, log));
  }
  // #endregion webhooks

  app.use(express.json());

  // #region chat-token
  // The widgets' `token-url`: a short-lived chat token for whoever is signed in, fetched with the page's cookies.
  app.get('/chat-token', (req, res) => {
    const token = tokens.participant(signedIn(req));
    if (!token) throw new HostError(403, 'forbidden', 'operators take part in no chat');
    res.set('cache-control', 'no-store').type('text/plain').send(token);
  });
  // #endregion chat-token

  // An owner opens a service request with a workshop: the marketplace's record, and its chat room.
  app.post('/service-requests', async (req, res) => {
    const owner = signedInAs(req, 'owner');
    const { workshop_id: workshopId, title } = req.body ?? {};
    if (typeof title !== 'string' || !marketplace.workshop(workshopId)) throw new HostError(400, 'invalid', 'a title and a known workshop_id');
    const request = { id: marketplace.newRequestId(), ownerId: owner.id, workshopId, title, status: 'open' } as const;
    res.status(201).json(await syncRoom(request));
  });

  // What the marketplace knows of a request: its record, who it waits on (from the chat's
  // messages), and for operations the room's changes as the chat reported them.
  app.get('/service-requests/:id', (req, res) => {
    const user = signedIn(req);
    const request = requestOf(req.params.id as string);
    const mine = user.kind === 'ops' || request.ownerId === user.id || (user.kind === 'staff' && request.workshopId === user.workshopId);
    if (!mine) throw new HostError(403, 'forbidden', 'not your service request');
    res.json({
      ...request,
      progress: marketplace.progress(request.id),
      ...(user.kind === 'ops' && { room_changes: marketplace.roomChanges(request.id) }),
    });
  });

  // #region quote
  // A workshop quotes a price: the chat shows it to both sides as a system message, and `data`
  // carries the quote itself for a host that renders it as a card. The client_id comes from the
  // quote's own id, so a retry of this call (or of the whole request) posts it once.
  app.post('/service-requests/:id/quotes', async (req, res) => {
    const staff = signedInAs(req, 'staff');
    const request = requestOf(req.params.id as string);
    if (request.workshopId !== staff.workshopId) throw new HostError(403, 'forbidden', 'not your workshop\'s request');
    const { amount_cents: amountCents, currency } = req.body ?? {};
    if (!Number.isSafeInteger(amountCents) || amountCents <= 0 || !/^[A-Z]{3}$/.test(currency)) {
      throw new HostError(400, 'invalid', 'amount_cents (a positive integer) and currency (ISO 4217)');
    }
    const quote = marketplace.newQuote(request.id, amountCents, currency);
    const message = await chat.postSystemMessage(request.id, {
      body: `Quote: ${(amountCents / 100).toFixed(2)} ${currency}`,
      client_id: `quote-${quote.id}`,
      data: { kind: 'quote', quote_id: quote.id, amount_cents: amountCents, currency },
    });
    res.status(201).json({ quote, message });
  });
  // #endregion quote

  // #region operations
  // Operations move a request to another workshop: the old one loses the chat at once, the new
  // one sees its whole history.
  app.post('/service-requests/:id/reassign', async (req, res) => {
    signedInAs(req, 'ops');
    const workshopId = req.body?.workshop_id;
    if (!marketplace.workshop(workshopId)) throw new HostError(400, 'invalid', 'a known workshop_id');
    res.json(await changeRequest(req.params.id as string, (request) => ({ ...request, workshopId })));
  });

  // A closed request's chat is read-only: sends are refused with `closed`, history stays.
  app.post('/service-requests/:id/close', async (req, res) => {
    signedInAs(req, 'ops');
    res.json(await changeRequest(req.params.id as string, (request) => ({ ...request, status: 'closed' })));
  });

  app.post('/service-requests/:id/reopen', async (req, res) => {
    signedInAs(req, 'ops');
    res.json(await changeRequest(req.params.id as string, (request) => ({ ...request, status: 'open' })));
  });
  // #endregion operations

  // #region privacy
  // A person's data export (GDPR art. 15) includes what the chat holds about them.
  app.get('/users/:id/export', async (req, res) => {
    signedInAs(req, 'ops');
    const user = marketplace.user(req.params.id as string);
    if (!user) throw new HostError(404, 'not_found', 'no such user');
    res.json({ user, service_requests: marketplace.requestsOf(user.id), chat: await chat.exportUser(user.id) });
  });

  // Erasure (GDPR art. 17): the chat redacts every message the person sent; the marketplace forgets
  // them, and their rooms lose the name it had given them. Every step can be done again, so a
  // request that failed half-way is simply made again.
  app.delete('/users/:id', async (req, res) => {
    signedInAs(req, 'ops');
    const userId = req.params.id as string;
    await chat.eraseUser(userId);
    marketplace.forgetUser(userId);
    for (const request of marketplace.requestsOf(userId)) await changeRequest(request.id, (unchanged) => unchanged);
    res.status(204).end();
  });
  // #endregion privacy

  // #region errors
  // A refusal by the chat is the answer: 409 as it came (the room is `closed`, a `conflict`),
  // any other refusal 502 (a request the backend should not have made); the chat staying
  // unavailable through every retry, 503.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof HostError) return void res.status(error.status).json({ error: { code: error.code, message: error.message } });
    if (error instanceof ChatApiError) {
      log(`chat ${error.final ? 'refused' : 'unavailable'}: ${[error.status, error.code].filter(Boolean).join(' ')}, ${error.message}`);
      const status = !error.final ? 503 : error.status === 409 ? 409 : 502;
      return void res.status(status).json({ error: { code: error.code, message: error.message } });
    }
    // The body parsers' own refusals: a body that is not JSON, or too large.
    const parser = error as { status?: number; type?: string; expose?: boolean };
    if (parser.expose && (parser.status === 400 || parser.status === 413)) {
      const code = parser.status === 413 ? 'too_large' : 'invalid';
      return void res.status(parser.status).json({ error: { code, message: parser.status === 413 ? 'the body is too large' : 'the body is not valid JSON' } });
    }
    log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
  });
  // #endregion errors

  const http: Server = app.listen(port, '127.0.0.1');
  await once(http, 'listening');
  const address = http.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`,
    /** The webhooks' work queue: settles when every event accepted so far has been acted on. */
    webhooks: inbox,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

// `npm start`: next to a chat server that verifies the same JWT_SECRET (README.md).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const secret = process.env.JWT_SECRET;
  if (!secret) throw new Error('JWT_SECRET: the chat server\'s secret, 32 characters or more');
  const running = await startHostBackend({
    port: Number(process.env.PORT ?? 3000),
    chatUrl: process.env.CHAT_URL ?? 'http://127.0.0.1:8080',
    jwt: { secret, ...(process.env.JWT_AUDIENCE && { audience: process.env.JWT_AUDIENCE }), ...(process.env.JWT_ISSUER && { issuer: process.env.JWT_ISSUER }) },
    ...(process.env.WEBHOOK_SECRET && {
      webhooks: {
        secret: process.env.WEBHOOK_SECRET,
        ...(process.env.WEBHOOK_SECRET_PREVIOUS && { previousSecret: process.env.WEBHOOK_SECRET_PREVIOUS }),
        dataDir: process.env.DATA_DIR ?? '.data',
      },
    }),
  });
  console.log(`marketplace backend on ${running.url}`);
  process.once('SIGINT', () => void running.close());
  process.once('SIGTERM', () => void running.close());
}
