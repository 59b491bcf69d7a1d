/**
 * The delivery thread (SQLite): the delivery loop, fed each commit's events by the server, so that
 * the signing, the requests and their responses leave the event loop that serves the sockets. What it must write (delivered events, failed attempts' next times) and what
 * it logs go to the main thread in one message per turn. See delivery.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type OutboxChanges, SqliteEventReader } from '../store/sqlite-event-reader.js';
import type { AttemptSettings } from './attempt.js';
import type { DeliveryTuning } from './delivery.js';
import type { PendingEvent } from './events.js';
import { DeliveryLoop, type DeliveryLog } from './delivery-loop.js';

export interface DeliveryThreadData {
  file: string;
  settings: AttemptSettings;
  tuning: DeliveryTuning;
}

/** A commit's events, as recorded; or the end. */
export type ToDeliveryThread = PendingEvent[] | 'close';
export type LogRecord = { level: 'warn' | 'error'; fields: Record<string, unknown>; message: string };
export type FromDeliveryThread =
  | { kind: 'changes'; changes: OutboxChanges }
  | { kind: 'log'; record: LogRecord }
  | { kind: 'disabled' }
  | { kind: 'closed' };

if (!parentPort) throw new Error('delivery-thread runs as a worker thread');
const port = parentPort;
const data = workerData as DeliveryThreadData;
const post = (message: FromDeliveryThread) => port.postMessage(message);
const log: DeliveryLog = {
  warn: (fields, message) => post({ kind: 'log', record: { level: 'warn', fields, message } }),
  error: (fields, message) => post({ kind: 'log', record: { level: 'error', fields, message } }),
};
const reader = new SqliteEventReader(data.file, (changes) => post({ kind: 'changes', changes }));
const loop = new DeliveryLoop(reader, data.settings, log, data.tuning, () => post({ kind: 'disabled' }));

port.on('message', (message: ToDeliveryThread) => {
  if (message !== 'close') {
    reader.recorded(message);
    return;
  }
  void loop.close().then(() => {
    reader.close();
    post({ kind: 'closed' });
    port.close();
  });
});
loop.start();
