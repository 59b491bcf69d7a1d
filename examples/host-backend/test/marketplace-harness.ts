// The marketplace's backend in front of a real reference server (a SQLite file of its own), both on
// 127.0.0.1; the server checks the audience and issuer the backend signs. People act as a browser
// would: on the backend's API as themselves, on the chat with the token the backend gives them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ChatClient, type ChatMessage, type Room } from '@motoreach/chat-client';
import { SECRET, startChatServer, type TestChatServer } from '../../test-support/chat-server.js';
import { startHostBackend } from '../app.js';
import type { ChatEvent } from '../chat-events.js';
import type { Mail } from '../outbox.js';

export const AUDIENCE = 'motoreach-chat';
export const ISSUER = 'repairs-marketplace';

export interface TestMarketplace {
  /** The backend's own API. */
  url: string;
  chat: TestChatServer;
  /** Everything the backend logged. */
  log: string[];
  /** A call to the backend's own API as a signed-in user. */
  as(userId: string, method: string, path: string, body?: object): Promise<Response>;
  /** The chat token the backend gives the user's browser. */
  chatToken(userId: string): Promise<string>;
  /** A call to the chat's REST API with the user's chat token, answered as JSON. */
  chatApi(userId: string, path: string, init?: { method: string; body: object }): Promise<{ status: number; body: any }>;
  /** The SDK as that user's browser would run it, its tokens from the backend's `/chat-token`. */
  client(userId: string): ChatClient;
  /** With webhooks: the directory of the backend's inbox and outbox. */
  dataDir: string | undefined;
  /** With webhooks: settles when every event the backend accepted so far has been acted on. */
  webhooksIdle(): Promise<void>;
  /** With webhooks: the next event of this type (and matching) the backend acts on; asked before it can arrive. */
  nextHandled(type: ChatEvent['type'], matches?: (event: ChatEvent) => boolean): Promise<ChatEvent>;
  /** The e-mails the backend has "sent": its outbox file. */
  outbox(): Mail[];
  /** Stops the backend and starts it again on the same port and files (its records in memory start over). */
  restartBackend(): Promise<void>;
  /** Stops the chat server, leaving the backend up. */
  stopChat(): Promise<void>;
  /** The owner (42) opens a request with Garage Nord (w-7); its id. */
  openRequest(title: string): Promise<string>;
  stop(): Promise<void>;
}

export interface MarketplaceOptions {
  /** The backend takes the chat's webhooks, verified with these secrets, into a directory of its own. */
  webhooks?: { secret: string; previousSecret?: string };
  /** Starts the chat server in place of the default one, told the backend's webhook URL. */
  startChat?: (webhookUrl: string) => Promise<TestChatServer>;
}

/** A port free now: the chat server is told the backend's URL before the backend starts. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startMarketplace({ webhooks, startChat }: MarketplaceOptions = {}): Promise<TestMarketplace> {
  let port = startChat ? await freePort() : 0;
  const chat = startChat
    ? await startChat(`http://127.0.0.1:${port}/chat-webhooks`)
    : await startChatServer({ jwtAudience: AUDIENCE, jwtIssuer: ISSUER });
  const log: string[] = [];
  const dataDir = webhooks && mkdtempSync(join(tmpdir(), 'motoreach-host-backend-'));
  const startHost = () =>
    startHostBackend({
      port,
      chatUrl: chat.url,
      jwt: { secret: SECRET, audience: AUDIENCE, issuer: ISSUER },
      log: (line) => log.push(line),
      retry: { minDelayMs: 10 },
      ...(webhooks && dataDir && { webhooks: { ...webhooks, dataDir } }),
    });
  let host = await startHost();
  port = Number(new URL(host.url).port);
  const handledWaiters = new Set<{ matches: (event: ChatEvent) => boolean; resolve: (event: ChatEvent) => void }>();
  const listen = () =>
    host.webhooks?.onHandled((_id, event) => {
      for (const waiter of handledWaiters) if (waiter.matches(event)) (handledWaiters.delete(waiter), waiter.resolve(event));
    });
  listen();
  const clients: ChatClient[] = [];
  let chatStopped: Promise<void> | undefined;
  const stopChat = () => (chatStopped ??= chat.stop());

  const as = (userId: string, method: string, path: string, body?: object) =>
    fetch(host.url + path, {
      method,
      headers: { 'x-demo-user': userId, ...(body && { 'content-type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
    });
  const chatToken = async (userId: string) => {
    const res = await as(userId, 'GET', '/chat-token');
    if (!res.ok) throw new Error(`no chat token for ${userId}: ${res.status}`);
    return res.text();
  };

  return {
    url: host.url,
    chat,
    log,
    dataDir,
    webhooksIdle: () => host.webhooks?.idle() ?? Promise.resolve(),
    nextHandled: (type, matches = () => true) =>
      new Promise((resolve) => handledWaiters.add({ matches: (event) => event.type === type && matches(event), resolve })),
    outbox() {
      try {
        return readFileSync(join(dataDir!, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    },
    async restartBackend() {
      await host.close();
      host = await startHost();
      listen();
    },
    as,
    chatToken,
    async chatApi(userId, path, init) {
      const res = await fetch(chat.url + path, {
        method: init?.method ?? 'GET',
        headers: { authorization: `Bearer ${await chatToken(userId)}`, ...(init && { 'content-type': 'application/json' }) },
        ...(init && { body: JSON.stringify(init.body) }),
      });
      return { status: res.status, body: await res.json() };
    },
    client(userId) {
      const client = new ChatClient({ baseUrl: chat.url, token: () => chatToken(userId), WebSocket });
      clients.push(client);
      return client;
    },
    stopChat,
    async openRequest(title) {
      const res = await as('42', 'POST', '/service-requests', { workshop_id: 'w-7', title });
      if (res.status !== 201) throw new Error(`opening a request: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async stop() {
      for (const client of clients) client.close();
      await host.close();
      await stopChat();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The next message from someone else in the room. */
export const nextMessage = (room: Room): Promise<ChatMessage> =>
  new Promise((resolve) => {
    const off = room.on('message', ({ message, own }) => {
      if (!own) (off(), resolve(message));
    });
  });
