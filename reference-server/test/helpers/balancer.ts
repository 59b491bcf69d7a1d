import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A round-robin TCP load balancer without sticky sessions, as one in front of
 * several servers: each connection goes to the next backend, and to the one
 * after it when that one refuses. A connection whose backend dies is cut.
 */
export class Balancer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #next = 0;
  port = 0;

  constructor(private readonly backends: number[]) {
    this.#server = createServer((down) => this.#route(down, 0));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }

  #route(down: Socket, tried: number): void {
    down.pause();
    const port = this.backends[this.#next++ % this.backends.length]!;
    const up = createConnection(port, '127.0.0.1');
    const refused = () => {
      up.destroy();
      if (tried + 1 < this.backends.length) this.#route(down, tried + 1);
      else down.destroy();
    };
    up.once('error', refused);
    up.once('connect', () => {
      up.off('error', refused);
      this.#sockets.add(down).add(up);
      const end = () => {
        this.#sockets.delete(down);
        this.#sockets.delete(up);
        down.destroy();
        up.destroy();
      };
      down.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
      down.pipe(up);
      up.pipe(down);
      down.resume();
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
