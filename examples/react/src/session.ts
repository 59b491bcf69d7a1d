// Also in examples/vue, line for line: each example is meant to be copied on its own, so they share no module.
import type { ChatClient } from '@motoreach/chat-client';

/** The chat server answers on the page's own origin (Vite proxies it in development). */
export const baseUrl = window.location.origin;

/**
 * The signed-in owner's chat token. This example asks the reference server's development endpoint
 * (`npm start` runs it with --dev); a real app asks its own backend, which signs a short-lived
 * token for its user (see examples/vanilla).
 */
export async function chatToken(): Promise<string> {
  const res = await fetch(`${baseUrl}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'u-ana', role: 'user', name: 'Ana' }),
  });
  if (!res.ok) throw new Error(`chat token: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

/** The service request in `?request=`, or a new one for workshop w-1 (then put in the URL). */
export async function serviceRequestId(client: ChatClient): Promise<string> {
  const fromUrl = new URLSearchParams(window.location.search).get('request');
  if (fromUrl) return fromUrl;
  const room = await client.createRoom({ workshop_id: 'w-1', title: 'Brake check' });
  window.history.replaceState(null, '', `?request=${encodeURIComponent(room.id)}`);
  return room.id;
}
