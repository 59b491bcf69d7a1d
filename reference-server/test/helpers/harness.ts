import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before } from 'node:test';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import type { ServerOptions } from '../../src/config.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';
import { createLogger } from '../../src/logger.js';
import { dbNameFor, dropTestDatabase, mongoUriFor, testStoreKind } from './test-store.js';

export const SECRET = 'test-secret-that-is-long-enough-0123456789';
const BIN = fileURLToPath(new URL('../../src/bin.ts', import.meta.url));

export interface Claims {
  sub?: string;
  role?: string;
  workshop_id?: string;
  name?: string;
  exp?: number;
  [claim: string]: unknown;
}

/** An HS256 token valid for an hour, with the given claims. */
export function token(claims: Claims, secret = SECRET): string {
  return jwt.sign({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims }, secret, { algorithm: 'HS256' });
}

export const owner = (id = 'u-ana', name = 'Ana') => token({ sub: id, role: 'user', name });
export const admin = (id = 'a-bo', workshop = 'w-1', name = 'Bo') =>
  token({ sub: id, role: 'workshop_admin', workshop_id: workshop, name });

let counter = 0;
/** An id no other test in this process uses, so tests share one server without seeing each other. */
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

export type SocketTracker = ReturnType<typeof socketTracker>;

/** The sockets a test file opens, closed together after each test. */
export function socketTracker() {
  const sockets: TestSocket[] = [];
  return {
    track(socket: TestSocket): TestSocket {
      sockets.push(socket);
      return socket;
    },
    async closeAll(): Promise<void> {
      await Promise.all(sockets.splice(0).map((s) => s.close()));
    },
  };
}

export function tempDir(prefix = 'motoreach-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestServer extends RunningServer {
  dataDir: string;
  wsUrl: string;
  /** Closes the server and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * A real server on 127.0.0.1 with a real SQLite file in a fresh directory, or
 * in the MongoDB pass a fresh database on the real mongod (or the store in `extras`).
 */
export async function startTestServer(options: ServerOptions = {}, extras: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const storeOptions = testStoreKind === 'mongodb' && !extras.store ? { mongodbUri: mongoUriFor(dbNameFor(dataDir)) } : {};
  const server = await startServer(
    { port: 0, host: '127.0.0.1', jwtSecret: SECRET, sqliteSynchronous: 'normal', ...storeOptions, ...options, dataDir },
    { logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), ...extras },
  );
  return Object.assign(server, {
    dataDir,
    wsUrl: server.url.replace(/^http/, 'ws'),
    async stop() {
      await server.close();
      await dropTestDatabase(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * The server of the enclosing `describe`: started before its tests and
 * stopped after them, with the sockets `sockets` tracks closed after each
 * test. The object is filled in by the `before` hook: use it in tests and
 * later hooks only.
 */
export function suiteServer(options: ServerOptions = {}, sockets?: SocketTracker, extras: StartOptions = {}): TestServer {
  const server = {} as TestServer;
  before(async () => {
    Object.assign(server, await startTestServer(options, extras));
  });
  if (sockets) afterEach(sockets.closeAll);
  after(async () => {
    await sockets?.closeAll();
    await server.stop();
  });
  return server;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One REST call; `body` may be a string to send it verbatim. */
export async function api<T = any>(
  base: string,
  method: string,
  path: string,
  auth: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(auth ? { authorization: `Bearer ${auth}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

export async function createRoom(base: string, userToken: string, workshopId = 'w-1', title = 'Brakes squeak') {
  const res = await api(base, 'POST', '/api/service-requests/', userToken, { workshop_id: workshopId, title });
  if (res.status !== 201) throw new Error(`createRoom: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; user_id: string; workshop_id: string; title: string; created_at: string };
}

export type Frame = Record<string, any>;

/**
 * A real WebSocket client that records every frame, so a test waits for the
 * frame it expects instead of sleeping.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.#wake();
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.#wake();
        resolve({ code, reason: reason.toString() });
      });
    });
    this.ws.on('error', () => {});
  }

  static chat(server: { wsUrl: string }, roomId: string, auth: string | null, options?: WebSocket.ClientOptions) {
    const query = auth === null ? '' : `?token=${encodeURIComponent(auth)}`;
    return new TestSocket(`${server.wsUrl}/ws/service-chat/${encodeURIComponent(roomId)}/${query}`, options);
  }

  static notifications(server: { wsUrl: string }, auth: string | null, options?: WebSocket.ClientOptions) {
    const query = auth === null ? '' : `?token=${encodeURIComponent(auth)}`;
    return new TestSocket(`${server.wsUrl}/ws/notifications/${query}`, options);
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Frames of one type, in arrival order. */
  of(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** Waits until `predicate` holds over the frames received so far. */
  async until<T>(predicate: (frames: Frame[]) => T | undefined | false, what = 'condition', timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = predicate(this.frames);
      if (result) return result;
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first frame of `type` matching `match`, waiting for it. */
  next(type: string, match: (f: Frame) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
    return this.until((frames) => frames.find((f) => f.type === type && match(f)), `a "${type}" frame`, timeoutMs);
  }

  /** Resolves with the ready frame (chat) or first unread snapshot (notifications). */
  ready(): Promise<Frame> {
    return this.until((frames) => frames.find((f) => f.type === 'ready' || f.type === 'unread'), 'ready');
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

/**
 * Polls `check` until it returns a truthy value, for state outside any socket
 * (a file, a process). Not a sleep: it returns the moment the state is there.
 */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  port: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The real CLI in its own process, for restarts, kill -9 and signals. Its store
 * is what `args` and `env` say (see storeArgs), never a MONGODB_URI the tests inherited.
 */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const { MONGODB_URI: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    // No drain by default: a test that stops a server wants it stopped; drain tests set their own.
    env: { ...inherited, SHUTDOWN_DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) {
        child.stdout!.off('data', onData);
        resolve(JSON.parse(line).url as string);
      }
    };
    child.stdout!.on('data', onData);
    exited.then(({ code }) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
  const port = Number(new URL(url).port);
  return { child, url, wsUrl: url.replace(/^http/, 'ws'), port, output: () => output, exited };
}

/** A test clock: time moves only when the test moves it. */
export function manualClock() {
  let now = 0;
  return {
    clock: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}
