/**
 * Instructions per message of the reference server, counted by valgrind's callgrind: a figure that
 * does not move with the machine's load, unlike the fan-out bench's throughput and CPU time, so a
 * change of a few percent shows on a shared machine. It counts every thread of the server process
 * (V8's compiler and GC helpers, the checkpoint worker), not the waits (fsync, the network).
 *
 *   node --import tsx bench/server-instructions.ts [--compare-with DIR] [--rounds 3] [--rooms 10]
 *     [--messages 100] [--warmup 50] [--synchronous normal] [--variants c] [--keep-out DIR]
 *     (variants: w: (c) with webhooks on; x: (r) with webhooks on)
 *
 * Each server runs under callgrind with counting off until its warm-up is over; the closed loop of
 * bench/server-fanout.ts then runs with counting on, and the count is divided by the messages
 * delivered. (r) is the reference server of --compare-with DIR, run in the same rounds. --keep-out DIR
 * keeps each round's dump as DIR/<variant>-<round>.callgrind, for callgrind_annotate (per function).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, planRooms } from './server/load.js';
import { startServerUnderTest, type VariantKey } from './server/processes.js';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rooms: { type: 'string', default: '10' },
    messages: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '50' },
    synchronous: { type: 'string', default: 'normal' },
    variants: { type: 'string', default: 'c' },
    'compare-with': { type: 'string' },
    'keep-out': { type: 'string' },
  },
});
const compareWith = opts['compare-with'] ? resolve(opts['compare-with']) : null;
const keys = [...opts.variants.split(','), ...(compareWith ? ['r'] : [])].filter((k, i, all) => all.indexOf(k) === i) as VariantKey[];
const synchronous = opts.synchronous === 'full' ? 'full' : 'normal';
const jwtSecret = randomBytes(24).toString('hex');

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const perMessage: Record<string, number[]> = Object.fromEntries(keys.map((k) => [k, []]));

for (let round = 1; round <= Number(opts.rounds); round++) {
  for (const key of keys) {
    const dir = mkdtempSync(join(tmpdir(), 'motoreach-callgrind-'));
    const server = await startServerUnderTest(key, { synchronous, jwtSecret, cpuProfDir: null, compareWith, callgrindOut: join(dir, 'callgrind.out') });
    try {
      let instructions = 0;
      const result = await closedLoop(server, await planRooms(server, Number(opts.rooms), jwtSecret), Number(opts.messages), Number(opts.warmup), () => {
        const counting = server.countInstructions();
        return () => (instructions = counting.end());
      });
      if (result.seqErrors > 0 || result.missingNotifications > 0) throw new Error(`(${key}) ${result.seqErrors} seq errors, ${result.missingNotifications} missing notifications`);
      const each = instructions / result.delivered;
      perMessage[key]!.push(each);
      console.log(`round ${round} (${key}): ${result.delivered} messages, ${Math.round(each).toLocaleString('en')} instructions each`);
      if (opts['keep-out']) {
        mkdirSync(opts['keep-out'], { recursive: true });
        const dump = readdirSync(dir).find((name) => name.startsWith('callgrind.out.'));
        if (dump) copyFileSync(join(dir, dump), join(opts['keep-out'], `${key}-${round}.callgrind`));
      }
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

console.log(`\nmedians, synchronous=${synchronous}${compareWith ? `; (r) = ${compareWith}` : ''}:`);
for (const key of keys) console.log(`  (${key}) ${Math.round(median(perMessage[key]!)).toLocaleString('en')} instructions per message`);
if (compareWith) {
  for (const key of keys.filter((k) => k !== 'r' && k !== 'x')) {
    console.log(`  (${key}) / (r): ${(median(perMessage[key]!) / median(perMessage.r!)).toFixed(3)}x`);
  }
}
// Webhooks on against off, in this checkout and in the other one; and this one's against the other's.
for (const [on, off] of [['w', 'c'], ['x', 'r'], ['w', 'x']] as const) {
  if (perMessage[on] && perMessage[off]) console.log(`  (${on}) / (${off}): ${(median(perMessage[on]!) / median(perMessage[off]!)).toFixed(3)}x`);
}
