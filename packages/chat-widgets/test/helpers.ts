import { executeServerCommand } from '@web/test-runner-commands';
import { ChatClient, type RoomInfo } from '@motoreach/chat-client';

let cachedUrl: string | null = null;

export async function serverUrl(): Promise<string> {
  cachedUrl ??= (await executeServerCommand<string, undefined>('server-url')) ?? null;
  if (!cachedUrl) throw new Error('no reference server');
  return cachedUrl;
}

export const stopServer = () => executeServerCommand('server-stop');
/** Restarts the server (same port and data); with `jwtSecret`, every token signed before is refused (4401). */
export const startServer = (payload?: { maxBodyChars?: number; jwtSecret?: string }) => executeServerCommand('server-start', payload);

export interface Identity {
  sub: string;
  /** `service`: the host's backend (contract v1.2), REST only; sign it with `signedToken`. */
  role: 'user' | 'workshop_admin' | 'service';
  workshop_id?: string;
  name?: string;
}

let unique = 0;
/** Ids unique to this test run, so tests never see each other's rooms. */
export const uid = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++unique}`;

export async function token(identity: Identity): Promise<string> {
  const res = await fetch(`${await serverUrl()}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(identity),
  });
  if (!res.ok) throw new Error(`dev token: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** A token signed with `secret` (as a server restarted with that secret accepts), valid for an hour. */
export async function signedToken(secret: string, identity: Identity): Promise<string> {
  const signed = await executeServerCommand<string, { secret: string; claims: Identity }>('sign-token', { secret, claims: identity });
  if (!signed) throw new Error('sign-token: no answer');
  return signed;
}

/**
 * A call of the host's backend (contract v1.2) with a service token, made by the test runner as a
 * backend makes it: rooms under its own ids, system messages, erasure. Fails unless the server answers
 * `status` (`ok`: any success, where the contract names none).
 */
export async function asService(method: 'PUT' | 'POST' | 'DELETE', path: string, body: object | undefined, status: number | 'ok'): Promise<unknown> {
  const res = await executeServerCommand<{ status: number; body: string }, { method: string; path: string; body?: object }>('as-service', { method, path, body });
  const answered = res?.status ?? 0;
  if (status === 'ok' ? answered < 200 || answered > 299 : answered !== status) throw new Error(`${method} ${path}: ${answered} ${res?.body}`);
  return res!.body ? JSON.parse(res!.body) : null;
}

/**
 * A vehicle owner and the admin of a workshop, each with a ChatClient, and a fresh room between them;
 * `sameId` gives both the same opaque id, as two separate auth systems may.
 */
export async function pair(title = 'Brakes squeak', options: { sameId?: boolean } = {}) {
  const baseUrl = await serverUrl();
  const workshop = uid('w');
  const ownerId = uid('u');
  const adminId = options.sameId ? ownerId : uid('a');
  const ownerToken = await token({ sub: ownerId, role: 'user', name: 'Ana' });
  const adminToken = await token({ sub: adminId, role: 'workshop_admin', workshop_id: workshop, name: 'Bruno' });
  const owner = new ChatClient({ baseUrl, token: ownerToken, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
  const admin = new ChatClient({ baseUrl, token: adminToken, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
  const room: RoomInfo = await owner.createRoom({ workshop_id: workshop, title });
  return { baseUrl, workshop, ownerId, adminId, ownerToken, adminToken, owner, admin, room };
}

/** Sends `n` messages over REST, quickly, to build a history. */
export async function seed(baseUrl: string, authToken: string, requestId: string, n: number, body = (i: number) => `message ${i}`) {
  const batch = uid('seed');
  for (let i = 1; i <= n; i++) {
    const res = await fetch(`${baseUrl}/api/service-requests/${requestId}/messages/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${authToken}` },
      body: JSON.stringify({ body: body(i), client_id: `${batch}-${i}` }),
    });
    if (!res.ok) throw new Error(`seed: ${res.status}`);
  }
}

/** Polls until the predicate holds; fails with the message after the timeout. */
export async function waitFor(predicate: () => unknown, message: string, timeoutMs = 8000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${message}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Next event of a type on a target. */
export function nextEvent<T extends Event>(target: EventTarget, type: string): Promise<T> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as T), { once: true }));
}

/** The bodies of a room's stored messages, as the server has them (REST, newest page). */
export async function storedBodies(baseUrl: string, authToken: string, requestId: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/api/service-requests/${requestId}/messages/?limit=100`, { headers: { authorization: `Bearer ${authToken}` } });
  if (!res.ok) throw new Error(`history: ${res.status}`);
  return ((await res.json()) as { messages: Array<{ body: string }> }).messages.map((m) => m.body);
}

/** What the browser does when the network comes back: the SDK tries again at once instead of after its backoff. */
export const networkBack = () => window.dispatchEvent(new Event('online'));

/** A DevTools Protocol command on this test page (see the `cdp` command of web-test-runner.config.mjs). */
export const cdp = (method: string, params: object) => executeServerCommand('cdp', { method, params });

/**
 * What the browser does when the network goes: `navigator.onLine` turns false, then `offline` fires.
 * The page's own connection to the server stays up, so only these two tell the SDK. `networkBack` undoes it.
 */
export function networkGone(): void {
  Object.defineProperty(navigator, 'onLine', { value: false, configurable: true });
  window.dispatchEvent(new Event('offline'));
}

/** The network is back: `onLine` as the browser has it again, and the `online` event. */
export function networkRestored(): void {
  delete (navigator as { onLine?: boolean }).onLine;
  networkBack();
}
