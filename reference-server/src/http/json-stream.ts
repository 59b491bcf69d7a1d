import type { Response } from 'express';

/** Writes `chunk`; resolves once the connection took it (false if the client went away first). */
function write(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (taken: boolean) => () => {
      res.off('drain', drained);
      res.off('close', closed);
      resolve(taken);
    };
    const drained = done(true);
    const closed = done(false);
    res.on('drain', drained);
    res.on('close', closed);
  });
}

/**
 * Answers `{...head, <name>: [...], ...}` with each list's items written page by page as its
 * iterable yields them, the next page read only once the connection took the one before: an
 * answer of any size holds about one page in memory. A client that goes away stops the reading.
 * A failure after the first byte cannot change the status any more: it is thrown, and the error
 * handler cuts the connection, so the client sees a truncated body (not valid JSON), never a
 * complete-looking one.
 */
export async function streamJson(res: Response, head: Record<string, unknown>, lists: Record<string, AsyncIterable<unknown[]>>): Promise<void> {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  let prefix = JSON.stringify(head).slice(0, -1);
  for (const [name, pages] of Object.entries(lists)) {
    if (!(await write(res, `${prefix}${prefix === '{' ? '' : ','}${JSON.stringify(name)}:[`))) return;
    let first = true;
    for await (const page of pages) {
      if (page.length === 0) continue;
      const items = page.map((item) => JSON.stringify(item)).join(',');
      if (!(await write(res, first ? items : `,${items}`))) return;
      first = false;
    }
    prefix = ']';
  }
  res.end(`${prefix}}`);
}
