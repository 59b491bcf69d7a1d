import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { api, SECRET, spawnServer, tempDir } from './helpers/harness.js';

/**
 * Setups that would start and then expose what they should not are refused at
 * start: exit 2 and one line naming the cause.
 */

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
// By its path: a run from another working directory would not find it by name.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const INHERITED = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'PORT', 'HOST', 'DEV', 'MOTOREACH_DEV', 'MONGODB_URI', 'DATA_DIR', 'STATIC_DIR'];

function run(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED.includes(k)));
  const result = spawnSync(process.execPath, ['--import', TSX, BIN, '--port', '0', ...args], {
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 20_000,
    ...(cwd && { cwd }),
  });
  return { status: result.status, stderr: result.stderr };
}

const refusal = (line: string) => ({ status: 2, stderr: `motoreach-reference-server: ${line}\n` });

describe('unsafe setups are refused at start', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('development mode on a host that is not loopback, with or without a real secret', () => {
    const data = dir();
    const line = (host: string) =>
      `development mode mints tokens for anyone who reaches it: HOST ${host} is not a loopback address (leave HOST unset, or use 127.0.0.1, ::1 or localhost)`;
    assert.deepEqual(run(['--data-dir', data], { MOTOREACH_DEV: '1', HOST: '0.0.0.0', JWT_SECRET: SECRET }), refusal(line('0.0.0.0')));
    assert.deepEqual(run(['--dev', '--host', '::', '--data-dir', data]), refusal(line('::')));
    assert.deepEqual(run(['--dev', '--host', '192.168.1.20', '--data-dir', data]), refusal(line('192.168.1.20')));
  });

  test('DEV=1, the generic switch of old, stops the start with a line naming the new one', () => {
    const data = dir();
    const line = 'DEV is no longer read: development mode is --dev or MOTOREACH_DEV=1 (and unset DEV)';
    assert.deepEqual(run(['--data-dir', data], { DEV: '1', HOST: '0.0.0.0', JWT_SECRET: SECRET }), refusal(line));
    assert.deepEqual(run(['--data-dir', data], { DEV: 'true' }), refusal(line));
  });

  test('DATA_DIR inside the static directory, also the default ./data and through a symlink', () => {
    const site = join(dir(), 'site');
    mkdirSync(site);
    const inside = join(site, 'chat-data');
    assert.deepEqual(
      run(['--data-dir', inside, '--static-dir', site], { JWT_SECRET: SECRET }),
      refusal(`DATA_DIR ${inside} is inside STATIC_DIR ${site}: the database would be downloadable; move DATA_DIR out of it`),
    );
    // The default DATA_DIR, ./data, with the working directory served.
    assert.deepEqual(
      run(['--static-dir', '.'], { JWT_SECRET: SECRET }, site),
      refusal(`DATA_DIR ${join(site, 'data')} is inside STATIC_DIR ${site}: the database would be downloadable; move DATA_DIR out of it`),
    );
    // A link elsewhere that leads into the served directory.
    const elsewhere = dir();
    const link = join(elsewhere, 'link-to-site');
    symlinkSync(site, link);
    const viaLink = join(link, 'not-yet', 'data');
    assert.deepEqual(
      run(['--data-dir', viaLink, '--static-dir', site], { JWT_SECRET: SECRET }),
      refusal(
        `DATA_DIR ${viaLink} is inside STATIC_DIR ${site} (as real paths: ${join(site, 'not-yet', 'data')} in ${site}): the database would be downloadable; move DATA_DIR out of it`,
      ),
    );
    // The served directory itself as DATA_DIR.
    assert.equal(run(['--data-dir', site, '--static-dir', site], { JWT_SECRET: SECRET }).status, 2);
  });

  test('MOTOREACH_DEV=1 is development mode on loopback; a DATA_DIR beside the static directory starts', async () => {
    const base = dir();
    const site = join(base, 'site');
    mkdirSync(site);
    const server = await spawnServer(['--port', '0', '--data-dir', join(base, 'site-data'), '--static-dir', site], { MOTOREACH_DEV: '1' });
    try {
      const minted = await api(server.url, 'POST', '/api/dev/token', null, { sub: 'u-demo', role: 'user' });
      assert.equal(minted.status, 200);
      assert.equal((await api(server.url, 'GET', '/api/service-requests/', minted.body.token)).status, 200);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
