/**
 * The delivery thread (SQLite): the delivery loop over a read-only connection of its own, so that
 * reading the due events, signing, the requests and their responses leave the event loop that
 * serves the sockets. What it must write (delivered events, failed attempts' next times) and what
 * it logs go to the main thread in one message per turn. See delivery.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type OutboxChanges, SqliteEventReader } from '../store/sqlite-event-reader.js';
import type { AttemptSettings } from './attempt.js';
import type { DeliveryTuning } from './delivery.js';
import { DeliveryLoop, type DeliveryLog } from './delivery-loop.js';

export interface DeliveryThreadData {
  file: string;
  settings: AttemptSettings;
  tuning: DeliveryTuning;
  /** [0]: 1 while a 'recorded' message is on its way, so the server sends at most one at a time. */
  signal: SharedArrayBuffer;
}

export type ToDeliveryThread = 'recorded' | 'close';
export type LogRecord = { level: 'warn' | 'error'; fields: Record<string, unknown>; message: string };
export type FromDeliveryThread =
  | { kind: 'changes'; changes: OutboxChanges }
  | { kind: 'log'; record: LogRecord }
  | { kind: 'disabled' }
  | { kind: 'closed' };

if (!parentPort) throw new Error('delivery-thread runs as a worker thread');
const port = parentPort;
const data = workerData as DeliveryThreadData;
const signal = new Int32Array(data.signal);
const post = (message: FromDeliveryThread) => port.postMessage(message);
const log: DeliveryLog = {
  warn: (fields, message) => post({ kind: 'log', record: { level: 'warn', fields, message } }),
  error: (fields, message) => post({ kind: 'log', record: { level: 'error', fields, message } }),
};
const reader = new SqliteEventReader(data.file, (changes) => post({ kind: 'changes', changes }));
const loop = new DeliveryLoop(reader, data.settings, log, data.tuning, () => post({ kind: 'disabled' }));

port.on('message', (message: ToDeliveryThread) => {
  if (message === 'recorded') {
    // Cleared before reading: a commit after this point sends another message.
    Atomics.store(signal, 0, 0);
    reader.recorded();
    return;
  }
  void loop.close().then(() => {
    reader.close();
    post({ kind: 'closed' });
    port.close();
  });
});
loop.start();
