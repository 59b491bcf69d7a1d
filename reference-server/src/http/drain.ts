import type { RequestListener, Server, ServerResponse } from 'node:http';
import { ERROR_STATUS } from '@motoreach/protocol';
import { ChatError, errorBody } from '../chat/errors.js';

const SHUTTING_DOWN = JSON.stringify(errorBody(new ChatError('unavailable', 'the server is shutting down')));

/**
 * Lets an HTTP server stop while keep-alive clients keep sending. `server.close()`
 * alone closes the connections idle at that moment and then waits for the others,
 * which a client that sends again as soon as it gets an answer never releases.
 * Once draining, every answer carries `Connection: close` (Node then ends the
 * connection after it), and a request that still arrives on a kept-alive
 * connection is answered 503 `unavailable` (transient: the client retries
 * elsewhere or later).
 */
export class HttpDrain {
  #draining = false;
  readonly #inFlight = new Set<ServerResponse>();

  /** The request listener to give the server: `app` until draining starts. */
  listener(app: RequestListener): RequestListener {
    return (req, res) => {
      if (this.#draining) {
        res.writeHead(ERROR_STATUS.unavailable, { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '1', Connection: 'close' });
        res.end(SHUTTING_DOWN);
        return;
      }
      this.#inFlight.add(res);
      res.once('close', () => this.#inFlight.delete(res));
      app(req, res);
    };
  }

  /** Starts draining `server`: call right after `server.close()`. */
  start(server: Server): void {
    this.#draining = true;
    for (const res of this.#inFlight) {
      if (!res.headersSent) {
        res.setHeader('Connection', 'close');
      } else {
        // Its headers promised keep-alive already: end the connection once this answer is out.
        const { socket } = res;
        res.once('finish', () => socket?.destroySoon());
      }
    }
    server.closeIdleConnections();
  }
}
