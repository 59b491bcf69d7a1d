import type { ReactiveElement } from 'lit';
import { ChatClient, localStorageOutbox, type OutboxStorage } from '@motoreach/chat-client';
import { emit } from './events.js';
import { principalOf } from './principal.js';

interface Shared {
  readonly key: string;
  /** The server, normalised. */
  readonly base: string;
  readonly client: ChatClient;
  /** The widgets using it; the last one to leave the page closes it. */
  readonly holders: Set<ClientHolder>;
  /** The token this principal's widgets were given last: what the client's token provider answers. */
  token: string;
  /** The token the provider answered last: asked again with no newer one, it fetches `tokenUrl`. */
  answered?: string;
  tokenUrl: string | null;
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

/** A `token-url` that did not give a token: `status` is its HTTP status, or null when nothing answered. */
class TokenUrlError extends Error {
  constructor(readonly status: number | null) {
    super(`The token URL answered ${status ?? 'nothing'}`);
  }
}

// Widgets that ask one URL at the same moment share the request.
const fetching = new Map<string, Promise<string>>();

/** A fresh token from the host's endpoint, with the page's cookies (as examples/vanilla's `/chat-token` expects). */
function fetchToken(url: string): Promise<string> {
  let request = fetching.get(url);
  if (!request) {
    request = fetch(url, { credentials: 'include', cache: 'no-store' })
      .then(
        async (res) => {
          const token = res.ok ? (await res.text()).trim() : '';
          if (!token) throw new TokenUrlError(res.status);
          return token;
        },
        () => {
          throw new TokenUrlError(null);
        },
      )
      .finally(() => fetching.delete(url));
    fetching.set(url, request);
  }
  return request;
}

function acquire(baseUrl: string, token: string, tokenUrl: string | null, holder: ClientHolder): Shared {
  const key = keyOf(baseUrl, token);
  let entry = shared.get(key);
  if (!entry) {
    const principal = principalOf(token);
    const made: Shared = {
      key,
      base: normalise(baseUrl),
      client: new ChatClient({
        baseUrl,
        // The newest token a widget was given; the same one asked for again means the server refused
        // it: then a fresh one from `token-url`, where there is one.
        // At once when no refresh is needed: the SDK then asks for the socket's ticket before the widget first renders.
        token: () =>
          made.token === made.answered && made.tokenUrl
            ? refresh(made, made.tokenUrl).then((token) => (made.answered = made.token = token))
            : (made.answered = made.token),
        outboxStorage: principal ? browserOutbox(baseUrl, principal) : undefined,
      }),
      holders: new Set(),
      token,
      tokenUrl,
    };
    shared.set(key, (entry = made));
  }
  entry.token = token;
  // A widget without a `token-url` does not take away another one's.
  entry.tokenUrl = tokenUrl ?? entry.tokenUrl;
  entry.holders.add(holder);
  return entry;
}

// The refresh after the server refused the token. Its widgets say so when the URL gives none (the SDK
// asks again with backoff); a token of another person (the host's session changed) signs this one out.
async function refresh(entry: Shared, url: string): Promise<string> {
  let token: string;
  try {
    token = await fetchToken(url);
  } catch (e) {
    for (const holder of entry.holders) holder.tokenFailed(url, e as TokenUrlError);
    throw e;
  }
  if (keyOf(entry.base, token) === entry.key) return token;
  const holders = [...entry.holders];
  signOut(entry);
  for (const holder of holders) holder.fetched = token;
  throw new Error('Signed in as another person');
}

/** The person is gone from this page: their client closes and wipes what it stored; their widgets let go. */
function signOut(entry: Shared): void {
  if (shared.get(entry.key) === entry) shared.delete(entry.key);
  const holders = [...entry.holders];
  entry.holders.clear();
  void entry.client.signOut();
  for (const holder of holders) holder.lost();
}

function release(entry: Shared, holder: ClientHolder): void {
  entry.holders.delete(holder);
  if (entry.holders.size > 0) return;
  if (shared.get(entry.key) === entry) shared.delete(entry.key);
  entry.client.close();
}

/**
 * The client a widget works with: the host's `.client`, or a shared one made from `base-url` and
 * `token` (or a token fetched from `token-url`). Tracks which of the two it holds so that it only
 * ever closes what it made. A `token` removed, or naming another person, signs the previous one out.
 */
export class ClientHolder {
  private owned: Shared | null = null;
  /** The token this widget last handed to its shared client. */
  private given = '';
  private current: ChatClient | null = null;
  /** The `token` attribute as last seen: a new value wins over a fetched token. */
  private attribute: string | null = null;
  /** @internal A token from `token-url`, newer than the attribute. */
  fetched: string | null = null;
  private asking = false;
  private failures = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;

  /** `onSignOut`: the person this widget showed was signed out (their drafts go too). */
  constructor(
    private readonly host: ReactiveElement,
    private readonly onSignOut: () => void = () => {},
  ) {}

  resolve(
    provided: ChatClient | null | undefined,
    baseUrl: string | null | undefined,
    attribute: string | null | undefined,
    tokenUrl: string | null | undefined = null,
  ): ChatClient | null {
    if ((attribute ?? null) !== this.attribute) {
      this.attribute = attribute ?? null;
      this.fetched = null;
    }
    const token = this.fetched ?? attribute;
    const owned = this.owned;
    if (provided || !baseUrl) {
      this.releaseOwned();
      return (this.current = provided ?? null);
    }
    // The same server, and no token or another person's: the previous person signs out.
    if (owned && owned.base === normalise(baseUrl) && (!token || keyOf(baseUrl, token) !== owned.key)) {
      signOut(owned);
    }
    if (!token) {
      this.releaseOwned();
      if (tokenUrl) this.ask(tokenUrl);
      return (this.current = null);
    }
    if (this.owned?.key === keyOf(baseUrl, token)) {
      // Only a token this widget was just given is news: its old one may be older than another widget's.
      if (token !== this.given) this.owned.token = token;
      this.owned.tokenUrl = tokenUrl ?? this.owned.tokenUrl;
    } else {
      this.releaseOwned();
      this.owned = acquire(baseUrl, token, tokenUrl, this);
    }
    this.given = token;
    return (this.current = this.owned.client);
  }

  get client(): ChatClient | null {
    return this.current;
  }

  release(): void {
    this.releaseOwned();
    clearTimeout(this.retry);
    this.retry = undefined;
    this.current = null;
  }

  /** @internal The shared client this widget held was signed out. */
  lost(): void {
    this.owned = null;
    this.given = '';
    this.onSignOut();
    this.host.requestUpdate('token');
  }

  /** @internal `token-url` gave no token. */
  tokenFailed(tokenUrl: string, error: TokenUrlError): void {
    emit(this.host, 'motoreach-token-error', { tokenUrl, status: error.status });
  }

  // No token yet: one from `token-url`; failing, said once per attempt and tried again with backoff.
  private ask(tokenUrl: string): void {
    if (this.asking || this.retry) return;
    this.asking = true;
    fetchToken(tokenUrl).then(
      (token) => {
        this.asking = false;
        this.failures = 0;
        this.fetched = token;
        this.host.requestUpdate('token');
      },
      (e: TokenUrlError) => {
        this.asking = false;
        this.tokenFailed(tokenUrl, e);
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.host.requestUpdate('token');
        }, Math.min(30_000, 1000 * 2 ** this.failures++));
      },
    );
  }

  private releaseOwned(): void {
    if (this.owned) release(this.owned, this);
    this.owned = null;
    this.given = '';
  }
}
