// The image and metrics packages are loaded when first needed, not at start (issue 20: RSS under
// load): sharp maps libvips and reserves memory for it, prom-client its registry, and a server that
// only relays messages uses neither.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const root = fileURLToPath(new URL('..', import.meta.url));
const reporter = fileURLToPath(new URL('./fixtures/report-packages.mjs', import.meta.url));
const PACKAGES = 'file-type,heic-convert,prom-client,sharp';

/** Starts the CLI, uploads `photo` once it listens when given, stops it; the packages it had loaded by then. */
function loadedBy(env: Record<string, string>, photo?: string): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-lazy-'));
  const proc = spawn(process.execPath, ['--import', 'tsx', '--import', reporter, 'src/bin.ts', '--dev'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '0', REPORT_PACKAGES: PACKAGES, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let started = false;
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const listening = /"url":"([^"]+)","store[^\n]*"msg":"listening"/.exec(stdout);
    if (!listening || started) return;
    started = true;
    void (photo ? upload(listening[1]!, photo) : Promise.resolve()).finally(() => proc.kill('SIGTERM'));
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) =>
    proc.once('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      const line = /^loaded: (.*)$/m.exec(stderr);
      if (code !== 0 || !line) reject(new Error(`exit ${code}\n${stdout}\n${stderr}`));
      else resolve(line[1] === '' ? [] : line[1]!.split(','));
    }),
  );
}

/** A photo uploaded into a new room of a development token's user. */
async function upload(url: string, photo: string): Promise<void> {
  const json = async (path: string, init: RequestInit) => {
    const res = await fetch(`${url}${path}`, init);
    assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
    return res.json() as Promise<Record<string, any>>;
  };
  const { token } = await json('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'owner-1', role: 'user', name: 'Owner' }),
  });
  const auth = { authorization: `Bearer ${token}` };
  const room = await json('/api/service-requests/', {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ workshop_id: 'w-1', title: 'Brakes' }),
  });
  await json(`/api/service-requests/${encodeURIComponent(room.id)}/attachments/?name=photo.jpg`, { method: 'POST', headers: auth, body: readFileSync(photo) });
}

test('a server started without METRICS_PORT that has had no upload has loaded none of the image or metrics packages', async () => {
  assert.deepEqual(await loadedBy({}), []);
});

test('METRICS_PORT loads prom-client, and nothing of the images', async () => {
  assert.deepEqual(await loadedBy({ METRICS_PORT: '0' }), ['prom-client']);
});

test('the first photo uploaded loads what reads and re-encodes it', async () => {
  assert.deepEqual(await loadedBy({}, fileURLToPath(new URL('./fixtures/gps-rotated.jpg', import.meta.url))), ['file-type', 'sharp']);
});
