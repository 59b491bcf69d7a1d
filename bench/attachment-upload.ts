/**
 * Issue 18's upload target: a 5 MB photo from the client to stored on the reference server, against
 * a plain HTTP PUT of the same bytes to a bare Node server that only writes them to a file (temp
 * file, fsync, rename: stored the same way), in the same run. Target: ≤ 1.5x.
 *
 * The photo is made here with sharp: a JPEG of about 5 MB (noise over a gradient, quality 95, with
 * EXIF), 12 megapixels like a phone's. The reference server decodes it, turns it upright, re-encodes
 * it without its metadata and makes a thumbnail; the bare server does nothing but store.
 *
 * Each round uploads to both, in turn, one after another; each process (the two servers, this
 * client) is its own. Two link speeds: as fast as the loopback goes (the server's own cost, with no
 * network to hide it), and paced at `--mbps` (default 20 Mbit/s, a good phone uplink): what a
 * person waits. The time is from the first byte sent to the answer (201) received.
 *
 *   node --import tsx bench/attachment-upload.ts [--rounds 7] [--mbps 20]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import sharp from 'sharp';
import { REPO_ROOT } from './server/processes.js';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, mbps: { type: 'string', default: '20' } } });
const ROUNDS = Number(opts.rounds);
const MBPS = Number(opts.mbps);
const SECRET = 'bench-secret-that-is-long-enough-0123456789';

/** The bare server: reads the PUT body and stores it as the reference server stores a file. */
const BARE = `
const { createServer } = require('node:http');
const { open, rename } = require('node:fs/promises');
const { join } = require('node:path');
let n = 0;
createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const path = join(process.argv[1], String(++n));
    const handle = await open(path + '.tmp', 'w');
    await handle.writeFile(Buffer.concat(chunks));
    await handle.sync();
    await handle.close();
    await rename(path + '.tmp', path);
    res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
  });
}).listen(0, '127.0.0.1', function () { console.log(JSON.stringify({ url: 'http://127.0.0.1:' + this.address().port })); });
`;

async function photo(): Promise<Buffer> {
  const width = 4000;
  const height = 3000;
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let i = 0; i < pixels.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const x = (i / 3) % width;
    pixels[i] = ((x / width) * 200 + (seed % 56)) | 0;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .withExif({ IFD0: { Make: 'Bench', Model: 'Phone' } })
    .toBuffer();
}

function started(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (d) => {
      output += d;
      const line = output.split('\n').find((l) => pattern.test(l));
      if (line) resolve(JSON.parse(line).url as string);
    });
    child.stderr!.on('data', (d) => (output += d));
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

/** Sends `body`, paced at `mbps` when given, and resolves with the milliseconds until the answer. */
function timedUpload(url: string, method: string, headers: Record<string, string>, body: Buffer, mbps: number | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const begin = performance.now();
    const req = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method, headers: { ...headers, 'content-length': String(body.length) } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 ? resolve(performance.now() - begin) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    if (mbps === null) {
      req.end(body);
      return;
    }
    // 16 KiB at a time, each when the link would have carried the ones before.
    const chunk = 16 * 1024;
    const bytesPerMs = (mbps * 1e6) / 8 / 1000;
    let sent = 0;
    const next = () => {
      if (sent >= body.length) {
        req.end();
        return;
      }
      const piece = body.subarray(sent, sent + chunk);
      sent += piece.length;
      req.write(piece);
      setTimeout(next, Math.max(0, begin + sent / bytesPerMs - performance.now()));
    };
    next();
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const bytes = await photo();
const dirs = [mkdtempSync(join(tmpdir(), 'motoreach-bench-upload-ref-')), mkdtempSync(join(tmpdir(), 'motoreach-bench-upload-bare-'))] as const;
const reference = spawn(
  process.execPath,
  ['--import', 'tsx', join(REPO_ROOT, 'reference-server/src/bin.ts'), '--port', '0', '--host', '127.0.0.1', '--data-dir', dirs[0], '--jwt-secret', SECRET, '--http-rate-limit', '0', '--request-timeout-ms', '600000'],
  { env: { ...process.env, ATTACHMENT_UPLOADS_PER_HOUR: '0', ATTACHMENT_BYTES_PER_DAY: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
);
const bare = spawn(process.execPath, ['-e', BARE, dirs[1]], { stdio: ['ignore', 'pipe', 'pipe'] });
try {
  const [refUrl, bareUrl] = await Promise.all([started(reference, /"msg":"listening"/), started(bare, /"url"/)]);
  const owner = jwt.sign({ sub: 'u-bench', role: 'user', name: 'Bench', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET, { algorithm: 'HS256' });
  const created = await fetch(`${refUrl}/api/service-requests/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workshop_id: 'w-bench', title: 'Upload bench' }),
  });
  const room = (await created.json()) as { id: string };
  const uploadUrl = `${refUrl}/api/service-requests/${room.id}/attachments/?name=photo.jpg`;
  console.log(`photo: ${(bytes.length / 1e6).toFixed(2)} MB JPEG, 4000x3000; ${ROUNDS} rounds each; node ${process.version}`);
  for (const mbps of [null, MBPS]) {
    const times = { bare: [] as number[], reference: [] as number[] };
    // One warm-up of each (JIT, sharp's first load), not counted.
    for (let round = -1; round < ROUNDS; round++) {
      const b = await timedUpload(`${bareUrl}/photo.jpg`, 'PUT', { 'content-type': 'image/jpeg' }, bytes, mbps);
      const r = await timedUpload(uploadUrl, 'POST', { authorization: `Bearer ${owner}`, 'content-type': 'image/jpeg' }, bytes, mbps);
      if (round < 0) continue;
      times.bare.push(b);
      times.reference.push(r);
    }
    const [b, r] = [median(times.bare), median(times.reference)];
    const ratio = r / b;
    console.log(
      `${mbps === null ? 'loopback, unpaced' : `paced at ${mbps} Mbit/s`}: bare PUT ${b.toFixed(0)} ms, reference upload ${r.toFixed(0)} ms (medians; ` +
        `reference min ${Math.min(...times.reference).toFixed(0)} max ${Math.max(...times.reference).toFixed(0)}) → ${ratio.toFixed(2)}x ${ratio <= 1.5 ? 'PASS' : 'FAIL'} (≤ 1.5x)`,
    );
  }
} finally {
  reference.kill();
  bare.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
