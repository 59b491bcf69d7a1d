/**
 * How many sockets each caller has open, so that one caller cannot hold
 * thousands (each one a copy of every frame of its rooms).
 */
export class SocketCap {
  readonly #open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts one more socket for `key`; false, counting nothing, when that would pass the cap. */
  acquire(key: string): boolean {
    const open = this.#open.get(key) ?? 0;
    if (open >= this.max) return false;
    this.#open.set(key, open + 1);
    return true;
  }

  release(key: string): void {
    const open = (this.#open.get(key) ?? 0) - 1;
    if (open > 0) this.#open.set(key, open);
    else this.#open.delete(key);
  }
}
