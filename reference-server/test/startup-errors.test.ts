import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import mongoose from 'mongoose';
import { ConfigError } from '../src/config.js';
import { SETUP_RETRY_MS } from '../src/store/mongo.js';
import { mongoStartFailure, nodeOf } from '../src/store/open.js';
import { SECRET, tempDir } from './helpers/harness.js';

/** A start that fails names its cause, in one line: here a native module built for another Node, not DATA_DIR's lock. */

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const require = createRequire(import.meta.url);

/** A Node on this machine (one tsx runs on) whose native modules are not this one's. */
function nodeOfAnotherAbi(): { path: string; version: string; abi: string } | null {
  // Where scripts/ci-node.sh keeps the Nodes CI runs the suite under.
  const managed = process.env.MOTOREACH_NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'motoreach-node');
  const candidates = [
    '/usr/bin/node',
    '/usr/local/bin/node',
    ...(existsSync(managed) ? readdirSync(managed).map((v) => join(managed, v, 'bin', 'node')) : []),
  ];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const probe = spawnSync(path, ['-p', 'process.versions.node + " " + process.versions.modules'], { encoding: 'utf8' });
    const [version, abi] = probe.stdout.trim().split(' ');
    if (probe.status === 0 && version && abi && abi !== process.versions.modules && Number(version.split('.')[0]) >= 20) {
      return { path, version, abi };
    }
  }
  return null;
}

test('better-sqlite3 built for another Node: exit 2 with one line naming the module, both Nodes and the fix', (t) => {
  const other = nodeOfAnotherAbi();
  if (!other) {
    t.skip(`no Node 20+ with another NODE_MODULE_VERSION than ${process.versions.modules} on this machine`);
    return;
  }
  const dataDir = tempDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const { MONGODB_URI: _m, ...env } = process.env;
  const result = spawnSync(other.path, ['--import', 'tsx', BIN, '--port', '0', '--data-dir', dataDir, '--jwt-secret', SECRET], {
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const module = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
  // "Node 24 (NODE_MODULE_VERSION 137)", or the bare number for an ABI the server has no name for.
  const builtFor = nodeOf(process.versions.modules);
  assert.ok(builtFor.includes(`NODE_MODULE_VERSION ${process.versions.modules}`));
  assert.deepEqual(
    { status: result.status, stderr: result.stderr },
    {
      status: 2,
      stderr: `motoreach-reference-server: better-sqlite3's native module ${module} was built for ${builtFor}, but this is Node ${other.version} (NODE_MODULE_VERSION ${other.abi}): run \`npm rebuild better-sqlite3\` with this Node\n`,
    },
  );
  // Nothing was taken or written in DATA_DIR.
  assert.deepEqual(readdirSync(dataDir), []);
});

test('a MongoDB still unreachable after the retry window: one line naming it without its password, exit 2 (a ConfigError)', async () => {
  const uri = 'mongodb://chat:s3cret@127.0.0.1:1/motoreach?replicaSet=rs0&serverSelectionTimeoutMS=100';
  // The driver's own error for an address where nothing listens, as the last try of the window gets it.
  const error = await mongoose.createConnection(uri).asPromise().then(
    () => assert.fail('connected to port 1'),
    (e: unknown) => e,
  );
  const failure = mongoStartFailure(uri, error, SETUP_RETRY_MS);
  assert.ok(failure instanceof ConfigError);
  assert.equal(
    failure.message,
    'cannot reach MongoDB at mongodb://chat:***@127.0.0.1:1/motoreach?replicaSet=rs0&serverSelectionTimeoutMS=100 (MONGODB_URI) within 30 s: connect ECONNREFUSED 127.0.0.1:1',
  );
  // Anything else (a standalone server, a bug) is not dressed up as unreachable.
  const other = new Error('boom');
  assert.equal(mongoStartFailure(uri, other, SETUP_RETRY_MS), other);
});
