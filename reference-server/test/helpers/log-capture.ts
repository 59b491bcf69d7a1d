import pino from 'pino';
import type { Logger } from '../../src/logger.js';

export type LogLine = Record<string, any> & { msg: string; level: number };

/** A real pino logger whose lines a test reads and waits for. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  #waiters: Array<() => void> = [];

  constructor(level = 'info') {
    this.logger = pino(
      { level },
      {
        write: (line: string) => {
          this.lines.push(JSON.parse(line) as LogLine);
          for (const wake of this.#waiters.splice(0)) wake();
        },
      },
    );
  }

  async until(predicate: (line: LogLine) => boolean, what: string, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find(predicate);
      if (line) return line;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for the log line ${what}; logged: ${JSON.stringify(this.lines.map((l) => l.msg))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
