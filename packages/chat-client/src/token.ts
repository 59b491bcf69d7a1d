import { toChatError } from './errors.js';

// The token every socket and request of one client uses. A refresh is shared: when several
// sockets are refused with 4401 at once, the provider is asked once and they all get its answer.
export class TokenSource {
  private current: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly provider: string | (() => string | Promise<string>)) {}

  get(): Promise<string> {
    return this.current !== undefined ? Promise.resolve(this.current) : this.ask();
  }

  // `stale` is the token that was refused; if a newer one arrived meanwhile, that one is the answer.
  refresh(stale: string): Promise<string> {
    if (this.current !== undefined && this.current !== stale) return Promise.resolve(this.current);
    this.current = undefined;
    return this.ask();
  }

  private ask(): Promise<string> {
    const p = this.provider;
    return (this.pending ??= Promise.resolve()
      .then(() => (typeof p === 'string' ? p : p()))
      .then(
        (token) => {
          this.pending = undefined;
          return (this.current = token);
        },
        (e: unknown) => {
          this.pending = undefined;
          throw toChatError(e, 'unauthorized');
        },
      ));
  }
}
