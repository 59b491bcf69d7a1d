import { ChatError, codeForStatus } from './errors.js';
import { samePerson } from './person.js';
import { claimsOf, type TokenSource } from './token.js';
import type { Me, WsTicket } from './wire.js';

const REQUEST_TIMEOUT_MS = 15_000;
export const OTHER_PERSON = 'Signed in as another person';

// REST calls of the contract: bearer token, JSON both ways, and one retry with a fresh token on 401.
export class Http {
  readonly #base: string;
  readonly #tokens: TokenSource;
  readonly #fetch: typeof fetch;
  // The server answered 404 for tickets (a v1 server): sockets carry the token from then on.
  #noTickets = false;

  constructor(base: string, tokens: TokenSource, fetchFn: typeof fetch) {
    this.#base = base;
    this.#tokens = tokens;
    this.#fetch = fetchFn;
  }

  // `author`: the request carries their words and goes only with a token of theirs (one client's
  // token provider may start answering for someone else, here or on the refresh after a 401).
  // Otherwise it is not made: `aborted`, and the caller sees who the token names now.
  // `body` a Blob: sent as it is, with its type (an upload), `progress` told the bytes sent so far.
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, author?: Me, progress?: (sent: number) => void): Promise<T> {
    for (let renewed = false; ; renewed = true) {
      const token = await this.#tokens.get();
      if (author && !samePerson(claimsOf(token) ?? author, author)) throw new ChatError('aborted', OTHER_PERSON);
      const res = progress ? await this.#upload(path, token, body as Blob, progress) : await this.#call(method, path, token, body);
      if (res.status === 401 && !renewed) {
        await this.#tokens.refresh(token);
        continue;
      }
      return this.#json<T>(res, method, path);
    }
  }

  // What a socket's URL carries: a single-use ticket for `token`, so that no token is in a URL
  // (browsers print a failed socket's URL in the console, proxies log it). A 401 here is the
  // caller's to handle, as a 4401 is: it knows whether a fresh token was refused already.
  async socketAuth(token: string): Promise<string> {
    if (!this.#noTickets) {
      const res = await this.#call('POST', '/api/ws-tickets/', token);
      if (res.status !== 404) return `ticket=${encodeURIComponent((await this.#json<WsTicket>(res, 'POST', '/api/ws-tickets/')).ticket)}`;
      this.#noTickets = true;
    }
    return `token=${encodeURIComponent(token)}`;
  }

  // A Blob `body` goes as it is, with no timeout (a large upload on a slow line takes long).
  async #call(method: string, path: string, token: string, body?: unknown): Promise<Response> {
    const raw = body instanceof Blob;
    try {
      return await this.#fetch(this.#base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined && !raw && { 'content-type': 'application/json' }) },
        // undefined for a GET (JSON.stringify(undefined) is undefined): no body.
        body: raw ? body : JSON.stringify(body),
        signal: raw ? null : AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      throw new ChatError((e as Error)?.name == 'TimeoutError' ? 'timeout' : 'network', `${method} ${path}`, { cause: e });
    }
  }

  // In a browser by XMLHttpRequest, the one API that tells how much of a request body has gone (fetch
  // streams uploads only over HTTP/2); elsewhere (Node) by fetch, without progress. Either way the
  // Blob's type goes as the Content-Type.
  #upload(path: string, token: string, blob: Blob, progress: (sent: number) => void): Promise<Response> {
    if (typeof XMLHttpRequest != 'function') return this.#call('POST', path, token, blob);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', this.#base + path);
      xhr.setRequestHeader('authorization', `Bearer ${token}`);
      xhr.upload.onprogress = (e) => progress(e.loaded);
      xhr.onload = () => resolve(new Response(xhr.responseText, { status: xhr.status }));
      xhr.onerror = () => reject(new ChatError('network', path));
      xhr.send(blob);
    });
  }

  async #json<T>(res: Response, method: string, path: string): Promise<T> {
    const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok || data === null) {
      throw new ChatError(codeForStatus(res.status, data?.error?.code), data?.error?.message ?? `${method} ${path}: HTTP ${res.status}`, { status: res.status });
    }
    return data as T;
  }
}
