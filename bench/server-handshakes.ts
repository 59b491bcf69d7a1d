/**
 * What an unauthenticated WebSocket handshake costs the reference server (issue
 * 15): the server's CPU time for N upgrade requests with an invalid token, sent
 * 50 at a time from one address, against a server that refuses them per
 * address (HTTP 429, WS_HANDSHAKES_PER_IP=1) and one without that limit (each
 * upgraded, its token refused, closed with 4401); for scale, the same number of
 * plain `GET /healthz` requests, each on a connection of its own as well.
 *
 *   node --import tsx bench/server-handshakes.ts [--handshakes 5000]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({ options: { handshakes: { type: 'string', default: '5000' } } });
const HANDSHAKES = Number(opts.handshakes);
const BIN = fileURLToPath(new URL('../reference-server/src/bin.ts', import.meta.url));
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SECOND = 100;

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

function handshake(url: string, plain: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') };
    const req = request(plain ? `${url}/healthz` : `${url}/ws/notifications/?token=invalid`, { agent: false, headers: plain ? {} : upgrade });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode!);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

async function run(perIp: string, plain: boolean): Promise<{ statuses: Record<number, number>; cpu: number; seconds: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-handshakes-'));
  const args = ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--jwt-secret', 'bench-handshakes-secret-0123456789abcdef'];
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args, '--ws-handshakes-per-ip', perIp, '--log-level', 'info', '--shutdown-drain-ms', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/.exec(out);
        if (m) resolve(m[1]!);
      });
    });
    // Warm-up: the first upgrades load code the rest does not.
    for (let i = 0; i < 50; i++) await handshake(url, plain);
    const statuses: Record<number, number> = {};
    const before = cpuMs(child.pid!);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next++ < HANDSHAKES) {
          const status = await handshake(url, plain);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { statuses, cpu: cpuMs(child.pid!) - before, seconds };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`${cpus().length} CPUs (${cpus()[0]?.model}), ${HANDSHAKES} handshakes with an invalid token, 50 at a time, from 127.0.0.1`);
console.log('| server | answers | wall time | server CPU | server CPU per handshake |');
console.log('| --- | --- | --- | --- | --- |');
for (const [label, perIp, plain] of [
  ['no per-address limit (upgraded, closed 4401)', '0', false],
  ['over WS_HANDSHAKES_PER_IP (HTTP 429)', '1', false],
  ['for scale: GET /healthz', '0', true],
] as const) {
  const { statuses, cpu, seconds } = await run(perIp, plain);
  const answers = Object.entries(statuses).map(([status, n]) => `${n} × ${status}`).join(', ');
  console.log(`| ${label} | ${answers} | ${seconds.toFixed(1)} s | ${(cpu / 1000).toFixed(2)} s | ${((cpu * 1000) / HANDSHAKES).toFixed(0)} µs |`);
}
