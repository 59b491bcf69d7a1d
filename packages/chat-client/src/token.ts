import { ChatError } from './errors.js';
import type { Me } from './wire.js';

// The token every socket and request of one client uses. A refresh is shared: when several
// sockets are refused with 4401 at once, the provider is asked once and they all get its answer.
export class TokenSource {
  /** The token in use, if one is known (a string token is known from the start). */
  current: string | undefined;
  #pending: Promise<string> | undefined;

  readonly #provider: () => string | Promise<string>;

  constructor(provider: string | (() => string | Promise<string>)) {
    this.#provider = typeof provider === 'string' ? ((this.current = provider), () => provider) : provider;
  }

  get(): Promise<string> {
    return this.current !== undefined ? Promise.resolve(this.current) : this.#ask();
  }

  // `stale` is the token that was refused; if a newer one arrived meanwhile, that one is the answer.
  refresh(stale: string): Promise<string> {
    if (this.current === stale) this.current = undefined;
    return this.get();
  }

  // A provider that throws is transient (a laptop waking before its Wi-Fi is up cannot reach the
  // login server either): the caller retries with backoff. Only the server refusing a token is final.
  // One that answers at once (a string, not a promise) is taken at once: a socket then asks for its
  // ticket in the same turn, before the page's other work (a widget's first render) runs.
  #ask(): Promise<string> {
    return (this.#pending ??= new Promise<string>((answer) => {
      const token = this.#provider();
      answer(typeof token == 'string' ? (this.current = token) : token);
    }).then(
      (token) => {
        this.#pending = undefined;
        return (this.current = token);
      },
      (e: unknown) => {
        this.#pending = undefined;
        throw new ChatError('network', `The token provider failed: ${(e as Error)?.message ?? e}`, { cause: e });
      },
    ));
  }
}

// Who a token names, read from its JWT claims without verifying them (the server does that):
// enough to label one's own pending messages and to key stored drafts by principal.
// Undefined for a token that is not such a JWT; the first `ready` tells then.
export function claimsOf(token: string): Me | undefined {
  try {
    // base64url to base64, then the UTF-8 bytes atob() gives as Latin-1 back to text.
    const c = JSON.parse(
      decodeURIComponent(
        escape(
          atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")),
        ),
      ),
    );
    if (c.sub && c.role)
      return { id: c.sub, role: c.role, name: c.name ?? null };
  } catch {
    // Not a JWT: wait for `ready`.
  }
  return undefined;
}
