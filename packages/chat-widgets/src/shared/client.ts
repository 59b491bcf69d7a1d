import { ChatClient } from '@motoreach/chat-client';

interface Entry {
  client: ChatClient;
  refs: number;
}

// Widgets configured by attributes with the same base URL and token share one ChatClient, and so
// one notifications socket, exactly as if the host had passed the same `.client` to each of them.
const shared = new Map<string, Entry>();

const keyOf = (baseUrl: string, token: string) => `${baseUrl}\n${token}`;

export function acquireClient(baseUrl: string, token: string): ChatClient {
  const key = keyOf(baseUrl, token);
  let entry = shared.get(key);
  if (!entry) {
    entry = { client: new ChatClient({ baseUrl, token }), refs: 0 };
    shared.set(key, entry);
  }
  entry.refs++;
  return entry.client;
}

export function releaseClient(client: ChatClient): void {
  for (const [key, entry] of shared) {
    if (entry.client !== client) continue;
    if (--entry.refs === 0) {
      shared.delete(key);
      client.close();
    }
    return;
  }
}

/**
 * The client a widget works with: the host's `.client`, or a shared one made from `base-url` and `token`.
 * Tracks which of the two it holds so that it only ever closes what it made.
 */
export class ClientHolder {
  private owned: ChatClient | null = null;
  private ownedKey = '';
  private current: ChatClient | null = null;

  resolve(provided: ChatClient | null | undefined, baseUrl: string | null | undefined, token: string | null | undefined): ChatClient | null {
    let next: ChatClient | null = null;
    if (provided) next = provided;
    else if (baseUrl && token) {
      if (this.owned && this.ownedKey === keyOf(baseUrl, token)) next = this.owned;
      else {
        this.releaseOwned();
        this.owned = acquireClient(baseUrl, token);
        this.ownedKey = keyOf(baseUrl, token);
        next = this.owned;
      }
    }
    if (next !== this.owned) this.releaseOwned();
    this.current = next;
    return next;
  }

  get client(): ChatClient | null {
    return this.current;
  }

  release(): void {
    this.releaseOwned();
    this.current = null;
  }

  private releaseOwned(): void {
    if (this.owned) releaseClient(this.owned);
    this.owned = null;
    this.ownedKey = '';
  }
}
