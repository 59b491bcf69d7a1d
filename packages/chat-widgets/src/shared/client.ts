import { ChatClient, localStorageOutbox, type OutboxStorage } from '@motoreach/chat-client';
import { principalOf } from './principal.js';

interface Shared {
  readonly key: string;
  readonly client: ChatClient;
  refs: number;
  /** The token this principal's widgets were given last: what the client's token provider answers. */
  token: string;
}

// Widgets configured by attributes share one ChatClient per server and person, exactly as if the host
// had passed the same `.client` to each of them: one notifications socket, one socket per room, one
// outbox. Keyed by the token's principal rather than the token itself, so that a refreshed token
// (a new `token` attribute) keeps the client, its rooms and the messages still waiting to be sent;
// the client picks the new token up the next time the server asks for a fresh one (4401 / 401).
const shared = new Map<string, Shared>();

const normalise = (baseUrl: string): string => baseUrl.replace(/\/+$/, '');

/** A token that is not a JWT has no principal to read: it is then its own key, as before. */
const keyOf = (baseUrl: string, token: string): string => {
  const principal = principalOf(token);
  return JSON.stringify(principal ? [normalise(baseUrl), principal] : [normalise(baseUrl), null, token]);
};

// Unsent messages survive a reload, under a prefix naming the server and the person, so that two
// people signing in on one device never see each other's drafts.
function browserOutbox(baseUrl: string, principal: string): OutboxStorage | undefined {
  try {
    // Reading `localStorage` throws where storage is blocked (sandboxed frames, some privacy modes).
    if (typeof localStorage === 'undefined') return undefined;
  } catch {
    return undefined;
  }
  return localStorageOutbox(`motoreach-outbox:${JSON.stringify([normalise(baseUrl), principal])}:`);
}

function acquire(baseUrl: string, token: string): Shared {
  const key = keyOf(baseUrl, token);
  let entry = shared.get(key);
  if (!entry) {
    const principal = principalOf(token);
    const made: Shared = {
      key,
      client: new ChatClient({
        baseUrl,
        token: () => made.token,
        outboxStorage: principal ? browserOutbox(baseUrl, principal) : undefined,
      }),
      refs: 0,
      token,
    };
    shared.set(key, (entry = made));
  }
  entry.token = token;
  entry.refs++;
  return entry;
}

function release(entry: Shared): void {
  if (--entry.refs > 0) return;
  shared.delete(entry.key);
  entry.client.close();
}

/**
 * The client a widget works with: the host's `.client`, or a shared one made from `base-url` and `token`.
 * Tracks which of the two it holds so that it only ever closes what it made.
 */
export class ClientHolder {
  private owned: Shared | null = null;
  /** The token this widget last handed to its shared client. */
  private given = '';
  private current: ChatClient | null = null;

  resolve(provided: ChatClient | null | undefined, baseUrl: string | null | undefined, token: string | null | undefined): ChatClient | null {
    if (provided || !baseUrl || !token) {
      this.releaseOwned();
      return (this.current = provided ?? null);
    }
    if (this.owned?.key === keyOf(baseUrl, token)) {
      // Only a token this widget was just given is news: its old one may be older than another widget's.
      if (token !== this.given) this.owned.token = token;
    } else {
      this.releaseOwned();
      this.owned = acquire(baseUrl, token);
    }
    this.given = token;
    return (this.current = this.owned.client);
  }

  get client(): ChatClient | null {
    return this.current;
  }

  release(): void {
    this.releaseOwned();
    this.current = null;
  }

  private releaseOwned(): void {
    if (this.owned) release(this.owned);
    this.owned = null;
    this.given = '';
  }
}
