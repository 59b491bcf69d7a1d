import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import WS from 'ws';
import { ChatClient, type ChatClientOptions } from '../src/index.js';
import type { Message } from '../src/wire.js';

// Background work of the SDK must never reject unhandled; every integration file asserts this stays empty.
export const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

export const SECRET = 'chat-client-tests-secret-0123456789abcdef';
const SERVER_BIN = fileURLToPath(new URL('../../../reference-server/src/bin.ts', import.meta.url));

const b64 = (v: object | Buffer): string => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');

export interface Claims {
  sub: string;
  role: 'user' | 'workshop_admin' | 'service';
  workshop_id?: string;
  name?: string;
}

// HS256 JWT, as the server's configured secret expects. `ttlSeconds` may be negative (already expired).
export function mintToken(claims: Claims, ttlSeconds = 3600): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, exp: Math.floor(Date.now() / 1000) + ttlSeconds })}`;
  return `${head}.${b64(createHmac('sha256', SECRET).update(head).digest())}`;
}

export const OWNER: Claims = { sub: 'u-ana', role: 'user', name: 'Ana' };
export const ADMIN: Claims = { sub: 'a-bo', role: 'workshop_admin', workshop_id: 'w-1', name: 'Bo' };
export const STRANGER: Claims = { sub: 'u-eve', role: 'user', name: 'Eve' };
/** The host's backend (contract v1.2): REST only. */
export const SERVICE: Claims = { sub: 'host-backend', role: 'service' };

export async function waitFor(predicate: () => boolean, label: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves once the server has logged a line (JSON, one per line) that `match` accepts. */
  waitForLog(match: (line: string) => boolean, label: string, timeoutMs?: number): Promise<void>;
}

// The real reference server in a child process, so a test can SIGKILL it and start it again
// on the same data dir and port.
export async function spawnServer(options: { dataDir?: string; port?: number; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'chat-client-test-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', SERVER_BIN, '--port', String(options.port ?? 0), '--host', '127.0.0.1', '--data-dir', dataDir, '--jwt-secret', SECRET, '--shutdown-drain-ms', '0'],
    { env: { ...process.env, LOG_LEVEL: 'info', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"listening"|"msg":"listening"[^\n]*"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve((m[1] ?? m[2])!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Only the lines a test waits for are kept, so a chatty server does not fill memory.
  const watchers = new Set<{ match: (line: string) => boolean; found: () => void }>();
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) for (const w of watchers) if (w.match(line)) (watchers.delete(w), w.found());
  });
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    waitForLog: (match, label, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => (watchers.delete(watcher), reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${label}`))), timeoutMs);
        const watcher = { match, found: () => (clearTimeout(timer), resolve()) };
        watchers.add(watcher);
      }),
  };
}

/** Every message of a room as the server holds it, read page by page over REST. */
export async function storedMessages(baseUrl: string, requestId: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let has_more = true; has_more; ) {
    const res = await fetch(`${baseUrl}/api/service-requests/${requestId}/messages/?after=${all.at(-1)?.seq ?? 0}&limit=100`, {
      headers: { authorization: `Bearer ${mintToken(ADMIN)}` },
    });
    const page = (await res.json()) as { messages: Message[]; has_more: boolean };
    all.push(...page.messages);
    has_more = page.has_more;
  }
  return all;
}

export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/**
 * The reference server of one test file, spawned before its tests. After them the clients in
 * `clients` are closed, the server is stopped and its data removed, and the file fails if the SDK
 * left a rejection unhandled. `server` is filled in by the `before` hook: use it in tests only.
 */
export function serverForFile(options: Parameters<typeof spawnServer>[0] = {}): { server: ServerProcess; clients: ChatClient[] } {
  const server = {} as ServerProcess;
  const clients: ChatClient[] = [];
  before(async () => {
    Object.assign(server, await spawnServer(options));
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.kill();
    removeDir(server.dataDir);
    assert.deepEqual(unhandled, []);
  });
  return { server, clients };
}

export function client(baseUrl: string, token: ChatClientOptions['token'], extra: Partial<ChatClientOptions> = {}): ChatClient {
  return new ChatClient({
    baseUrl,
    token,
    WebSocket: WS,
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
    ...extra,
  });
}

// A real TCP hop between client and server that a test can stall and cut.
export class TcpProxy {
  private server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  // Connections whose server→client bytes are withheld (to lose an ack on the wire).
  private readonly held = new Set<Socket>();
  // Connections that were upgraded to WebSockets (their first request asked for it).
  private readonly sockets = new Set<Socket>();
  upstreamText = '';
  port = 0;

  constructor(private readonly target: number) {
    this.server = createServer((down) => {
      const up = createConnection(this.target, '127.0.0.1');
      const pair: [Socket, Socket] = [down, up];
      this.pairs.add(pair);
      down.once('data', (d: Buffer) => {
        if (/^upgrade: websocket\r$/im.test(d.toString('latin1'))) this.sockets.add(down);
      });
      down.on('data', (d: Buffer) => {
        this.upstreamText += d.toString('latin1');
        up.write(d);
      });
      up.on('data', (d: Buffer) => {
        if (!this.held.has(down)) down.write(d);
      });
      const end = (): void => {
        this.pairs.delete(pair);
        this.held.delete(down);
        this.sockets.delete(down);
        down.destroy();
        up.destroy();
      };
      down.on('close', end).on('error', end);
      up.on('close', end).on('error', end);
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  // From now on nothing the server says reaches the clients of the current connections (with
  // `socketsOnly`, of the current WebSockets: idle HTTP keep-alive connections still answer).
  holdReplies({ socketsOnly = false } = {}): void {
    for (const [down] of this.pairs) if (!socketsOnly || this.sockets.has(down)) this.held.add(down);
  }

  // Drops every current connection at once, like a network that went away.
  cut(): void {
    for (const [down, up] of this.pairs) {
      down.destroy();
      up.destroy();
    }
    this.pairs.clear();
    this.held.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
