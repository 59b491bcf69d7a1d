/**
 * Preloaded (`--import`) into every server under test, the reference server
 * included, so that each one's memory is read the same way: the bench asks for
 * a full collection over IPC and reads VmRSS once it is done (the V8 heap
 * figures it answers with tell JS objects apart from native memory). It
 * changes nothing else in the process.
 */
const collect = (globalThis as { gc?: () => void }).gc;

process.on('message', (request: unknown) => {
  if (request !== 'gc') return;
  if (!collect) throw new Error('start the server with --expose-gc');
  collect();
  // A second pass after a turn catches what the first one's finalizers released.
  setImmediate(() => {
    collect();
    const { heapUsed, external } = process.memoryUsage();
    process.send?.({ gcDone: true, heapUsed, external });
  });
});
