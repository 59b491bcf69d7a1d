import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated in the thread: no build step or TypeScript loader needed there.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const convert = require(workerData.driver);
parentPort.on('message', ({ id, heic }) => {
  convert({ buffer: heic, format: 'JPEG', quality: 0.92 }).then(
    (jpeg) => parentPort.postMessage({ id, jpeg }),
    (error) => parentPort.postMessage({ id, error: String((error && error.message) || error) }),
  );
});
`;

/** A thread with nothing to decode for this long is stopped: most servers never see a HEIC photo. */
const IDLE_STOP_MS = 60_000;

interface Waiting {
  resolve: (jpeg: Buffer) => void;
  reject: (error: Error) => void;
}

/**
 * iPhone photos (HEIC) to JPEG, off the event loop. heic-convert is libheif and a JPEG encoder
 * compiled to JavaScript: it runs on the thread that calls it, and a 12 MP photo takes seconds
 * (3.4 s here for one of 7.8 KB, all one colour): on the main thread one upload would stall every
 * socket of the server. One thread, started at the first HEIC and stopped when idle; photos are
 * decoded one at a time, in the order given.
 */
class HeicDecoder {
  #worker: Worker | null = null;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 0;
  #idle: NodeJS.Timeout | null = null;

  toJpeg(heic: Buffer): Promise<Buffer> {
    const worker = this.#start();
    const id = this.#nextId++;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      worker.postMessage({ id, heic });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const require = createRequire(import.meta.url);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver: require.resolve('heic-convert') } });
    // Never what keeps the process alive: a server that stops takes its decodes with it.
    worker.unref();
    worker.on('message', ({ id, jpeg, error }: { id: number; jpeg?: Uint8Array; error?: string }) => {
      const waiting = this.#waiting.get(id);
      this.#waiting.delete(id);
      if (error !== undefined) waiting?.reject(new Error(error));
      else waiting?.resolve(Buffer.from(jpeg!.buffer, jpeg!.byteOffset, jpeg!.byteLength));
      if (this.#waiting.size === 0) this.#idle ??= setTimeout(() => void this.#stop(), IDLE_STOP_MS).unref();
    });
    // A thread that dies (out of memory on a hostile file) fails what it held; the next photo starts another.
    worker.on('exit', () => this.#lost(worker, new Error('the HEIC decoder stopped')));
    worker.on('error', (error) => this.#lost(worker, error));
    this.#worker = worker;
    return worker;
  }

  #lost(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
  }

  async #stop(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    this.#idle = null;
    await worker?.terminate();
  }
}

const decoder = new HeicDecoder();

/** The boxes of an ISO BMFF byte range: [type, start of the content, end]. */
function* boxes(bytes: Buffer, start: number, end: number): Generator<[string, number, number]> {
  let at = start;
  while (at + 8 <= end) {
    let size = bytes.readUInt32BE(at);
    let header = 8;
    if (size === 1 && at + 16 <= end) {
      size = Number(bytes.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) return;
    yield [bytes.toString('latin1', at + 4, at + 8), at + header, at + size];
    at += size;
  }
}

function child(bytes: Buffer, type: string, start: number, end: number): [number, number] | null {
  for (const [found, from, to] of boxes(bytes, start, end)) if (found === type) return [from, to];
  return null;
}

/**
 * The most pixels any image of a HEIF file declares (its `ispe` properties), read from the
 * container without decoding: a file of a few KB may declare a picture far too big to decode.
 * Null when the file declares none.
 */
export function heifPixels(heic: Buffer): number | null {
  // meta and ispe are full boxes: 4 bytes of version and flags before their content.
  const meta = child(heic, 'meta', 0, heic.length);
  const iprp = meta && child(heic, 'iprp', meta[0] + 4, meta[1]);
  const ipco = iprp && child(heic, 'ipco', iprp[0], iprp[1]);
  if (!ipco) return null;
  let most: number | null = null;
  for (const [type, from, to] of boxes(heic, ipco[0], ipco[1])) {
    if (type !== 'ispe' || to - from < 12) continue;
    const pixels = heic.readUInt32BE(from + 4) * heic.readUInt32BE(from + 8);
    most = Math.max(most ?? 0, pixels);
  }
  return most;
}

export function heicToJpeg(heic: Buffer): Promise<Buffer> {
  return decoder.toJpeg(heic);
}
