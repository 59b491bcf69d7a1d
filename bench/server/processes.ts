import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type VariantKey = 'a' | 'b' | 'n' | 'c' | 'w' | 'r' | 'x';

export const VARIANTS: Record<VariantKey, string> = {
  a: 'bare ws broadcast',
  b: 'ws + sync SQLite INSERT',
  n: '(b) + a notification frame',
  c: 'reference server',
  w: '(c) with webhooks on',
  r: 'reference server, other checkout',
  x: '(r) with webhooks on',
};

/** (c), (w), (r) and (x) run the reference server (authenticated rooms, the contract's frames); (a) and (b) the baselines. */
export function isReferenceServer(key: VariantKey): boolean {
  return key === 'c' || key === 'w' || key === 'r' || key === 'x';
}

/** (w)'s webhook receiver, running: its URL, its CPU time, and how many deliveries it has answered. */
export interface WebhookReceiverProcess {
  url: string;
  cpuMs(): number;
  answered(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * (w)'s webhook receiver: a process of its own (not the load generator's CPU), answering every
 * delivery 204 at once, the way a receiver that queues the work does. It counts what it answered,
 * told over IPC, so that a bench can wait until every event has arrived.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiverProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [
    '-e',
    `let answered = 0; process.on('message', () => process.send({ answered }));
    require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { answered++; res.statusCode = 204; res.end(); }); }).listen(${port}, '127.0.0.1', () => process.send('ready'));`,
  ], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    cpuMs: () => cpuMsOf(`/proc/${child.pid}/stat`),
    answered: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve((m as { answered: number }).answered));
        child.send('count');
      }),
    async stop() {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASELINE = fileURLToPath(new URL('./baseline.ts', import.meta.url));
const GC_HOOK = pathToFileURL(fileURLToPath(new URL('./gc-hook.ts', import.meta.url))).href;
/** The published CLI, as `tsc` builds it: what users run, without a TypeScript loader's wrappers in the hot path. */
const REFERENCE_BIN_IN_REPO = 'reference-server/dist/bin.js';
const built = new Set<string>();

/** Builds the reference server of the checkout at `root` once per bench run, so it runs what its source says. */
function buildReferenceServer(root: string): string {
  if (!built.has(root)) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: join(root, 'reference-server'), stdio: 'inherit' });
    built.add(root);
  }
  return join(root, REFERENCE_BIN_IN_REPO);
}
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat, 100 on every Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ServerSettings {
  synchronous: 'full' | 'normal';
  jwtSecret: string;
  /** When set, each server's child writes a V8 CPU profile to `<cpuProfDir>/<variant>/` on exit. */
  cpuProfDir: string | null;
  /** (r): the root of another checkout whose reference server runs in the same rounds, to measure a change. */
  compareWith: string | null;
  /**
   * When set, the server runs under valgrind's callgrind with counting off (bench/server-instructions.ts):
   * `countInstructions` counts what runs between its start and end, written to this file.
   */
  callgrindOut?: string;
}

export interface HeapFigures {
  heapUsed: number;
  external: number;
}

export interface ServerUnderTest {
  readonly key: VariantKey;
  readonly pid: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** A full collection in the child (through the preloaded hook); resolves with its V8 heap figures after it. */
  gc(): Promise<HeapFigures>;
  rssKiB(): number;
  /** User plus system CPU time the child has used so far. */
  cpuMs(): number;
  /** The same, of its main thread alone (the event loop that serves the sockets), without its worker threads. */
  mainThreadCpuMs(): number;
  /** (w): the webhook deliveries its receiver has answered so far; null for the other variants. */
  webhooksAnswered: (() => Promise<number>) | null;
  /** Under callgrind: counting starts at zero; `end` stops it and resolves with the instructions run meanwhile. */
  countInstructions(): { end: () => number };
  output(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not become ready:\n${output()}`);
}

/** utime + stime of a /proc stat file (a process's, or one thread's under task/). */
function cpuMsOf(file: string): number {
  // The command name may hold spaces; the fields after its closing parenthesis do not.
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Starts one server under test in its own process, so its memory and CPU are its own. Its data
 * directory is a fresh one, or `dataDir` when given (already seeded); stop() removes it either way.
 */
export async function startServerUnderTest(key: VariantKey, settings: ServerSettings, dataDir = mkdtempSync(join(tmpdir(), `motoreach-bench-${key}-`))): Promise<ServerUnderTest> {
  const nodeArgs = ['--expose-gc', '--import', 'tsx', '--import', GC_HOOK];
  let args: string[];
  let port: number | null = null;
  if (settings.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${join(settings.cpuProfDir, key)}`);
  if (isReferenceServer(key)) {
    port = await freePort();
    const other = key === 'r' || key === 'x';
    if (other && !settings.compareWith) throw new Error(`variant ${key} needs --compare-with DIR`);
    args = [
      buildReferenceServer(other ? (settings.compareWith as string) : REPO_ROOT),
      '--port', String(port),
      '--host', '127.0.0.1',
      '--data-dir', dataDir,
      '--jwt-secret', settings.jwtSecret,
      '--sqlite-synchronous', settings.synchronous,
      '--ws-rate-limit', '0',
      '--ws-user-rate-limit', '0',
      // Idle chat sockets put one owner in many tabs of a room.
      '--ws-sockets-per-user', '100000',
      '--http-rate-limit', '0',
      '--log-level', 'warn',
    ];
  } else {
    args = [
      BASELINE,
      ...['--synchronous', settings.synchronous, '--data-dir', dataDir],
      ...(key === 'b' || key === 'n' ? ['--durable'] : []),
      ...(key === 'n' ? ['--notify'] : []),
    ];
  }
  const receiver = key === 'w' || key === 'x' ? await startWebhookReceiver() : null;
  const webhooks = receiver
    ? { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`, WEBHOOK_ALLOW_PRIVATE: '1' }
    : {};
  // V8's compiler and GC threads run on the main thread under callgrind: when code is optimised
  // then depends on the work done, not on how the machine schedules those threads.
  const callgrind = settings.callgrindOut
    ? ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${settings.callgrindOut}`, process.execPath, '--single-threaded']
    : [];
  const child = spawn(callgrind.length > 0 ? 'valgrind' : process.execPath, [...callgrind, ...nodeArgs, ...args], {
    cwd: REPO_ROOT,
    // Every load socket comes from 127.0.0.1, and a few users open thousands: the handshake limits
    // are off. As variables, which a reference server older than them (variant r) ignores.
    // No drain on SIGTERM: the bench stops servers between rounds, with no balancer to tell.
    env: { ...process.env, WS_HANDSHAKES_PER_IP: '0', WS_HANDSHAKES_PER_USER: '0', SHUTDOWN_DRAIN_MS: '0', ...webhooks },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const gone = exited(child);
  try {
    if (port === null) {
      port = await new Promise<number>((resolve, reject) => {
        child.once('message', (m) => resolve((m as { port: number }).port));
        gone.then(() => reject(new Error(`baseline server exited:\n${output}`)));
      });
    } else {
      await waitUntilReady(`http://127.0.0.1:${port}`, child, () => output, callgrind.length > 0 ? 600_000 : 30_000);
    }
  } catch (error) {
    child.kill('SIGKILL');
    await receiver?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const pid = child.pid!;
  return {
    key,
    pid,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    gc: () =>
      new Promise((resolve) => {
        const onMessage = (m: unknown) => {
          const reply = m as Partial<HeapFigures & { gcDone: boolean }>;
          if (!reply.gcDone) return;
          child.off('message', onMessage);
          resolve({ heapUsed: reply.heapUsed ?? 0, external: reply.external ?? 0 });
        };
        child.on('message', onMessage);
        child.send('gc');
      }),
    rssKiB() {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
      if (!line) throw new Error('no VmRSS');
      return Number(line[1]);
    },
    cpuMs: () => cpuMsOf(`/proc/${pid}/stat`),
    mainThreadCpuMs: () => cpuMsOf(`/proc/${pid}/task/${pid}/stat`),
    webhooksAnswered: receiver && (() => receiver.answered()),
    countInstructions() {
      const control = (...flags: string[]) => execFileSync('callgrind_control', [...flags, String(pid)], { stdio: 'pipe' });
      if (!settings.callgrindOut) throw new Error('countInstructions needs callgrindOut');
      control('-z');
      control('-i', 'on');
      return {
        end() {
          control('-d', 'measured');
          control('-i', 'off');
          return dumpedInstructions(settings.callgrindOut!);
        },
      };
    },
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
      await receiver?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The instructions of callgrind's last dump of `out` (written as `<out>.<n>`): its `summary:` line. */
function dumpedInstructions(out: string): number {
  const dir = dirname(out);
  const dumps = readdirSync(dir)
    .filter((name) => name.startsWith(`${basename(out)}.`))
    .map((name) => join(dir, name))
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
  const summary = dumps.length > 0 ? readFileSync(dumps[0]!, 'utf8').match(/^summary: (\d+)/m) : null;
  if (!summary) throw new Error(`no callgrind dump of ${out}`);
  return Number(summary[1]);
}
