import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, tempDir, type TestServer } from './helpers/harness.js';

/** STATIC_DIR is served as it is, but no symlink leads a request out of it. */
describe('static files', () => {
  let server: TestServer;
  let base: string;
  before(async () => {
    base = tempDir();
    const outside = join(base, 'outside');
    const site = join(base, 'site');
    mkdirSync(outside);
    mkdirSync(join(site, 'docs'), { recursive: true });
    writeFileSync(join(outside, 'secret.txt'), 'SECRET');
    writeFileSync(join(site, 'index.html'), '<h1>chat</h1>');
    writeFileSync(join(site, 'inside.txt'), 'inside');
    symlinkSync(join(site, 'inside.txt'), join(site, 'link-inside.txt'));
    symlinkSync(join(outside, 'secret.txt'), join(site, 'secret.txt'));
    symlinkSync('../../outside/secret.txt', join(site, 'docs', 'relative.txt'));
    symlinkSync(outside, join(site, 'out'));
    mkdirSync(join(site, 'index-out'));
    symlinkSync(join(outside, 'secret.txt'), join(site, 'index-out', 'index.html'));
    // The static dir itself may be a link.
    symlinkSync(site, join(base, 'site-link'));
    server = await startTestServer({ staticDir: join(base, 'site-link') });
  });
  after(async () => {
    await server.stop();
    rmSync(base, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return [res.status, await res.text()];
  };

  test('files and links inside the static dir are served', async () => {
    assert.deepEqual(await get('/'), [200, '<h1>chat</h1>']);
    assert.deepEqual(await get('/inside.txt'), [200, 'inside']);
    assert.deepEqual(await get('/link-inside.txt'), [200, 'inside']);
  });

  test('a symlink out of the static dir is 404, whether it is a file, a directory, relative or an index', async () => {
    const notFound = JSON.stringify({ error: { code: 'not_found', message: 'no such route' } });
    for (const path of ['/secret.txt', '/docs/relative.txt', '/out/secret.txt', '/index-out/', '/%73ecret.txt']) {
      assert.deepEqual(await get(path), [404, notFound], path);
    }
  });
});
