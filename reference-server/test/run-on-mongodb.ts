/**
 * The MongoDB pass of `npm test`: runs the server's behavioural suites a second
 * time with every server on MongoDB (TEST_STORE=mongodb), against a one-node
 * replica set that mongodb-memory-server starts and removes.
 *
 * Which mongod: MONGODB_URI when set (a replica set you run), else the binary
 * in MONGOMS_SYSTEM_BINARY (CI: scripts/mongod-wine.sh). Neither: the pass is
 * skipped, and says why. Arguments name the files to run instead of all of them.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { MongoMemoryReplSet } from 'mongodb-memory-server-core';

/**
 * The suites about the SQLite file itself (and a SQLite install without mongoose), and those whose subject does not
 * depend on the store (the drain, the proxy in front, a stop while Redis is away); every other test file runs on both
 * stores, so a new suite is covered on MongoDB without being listed here.
 */
const SQLITE_ONLY = new Set([
  'store.test.ts',
  'disk-full.test.ts',
  'attachments-disk-full.test.ts',
  'attachments-disk-store.test.ts',
  'fair-queue.test.ts',
  'checkpointer.test.ts',
  'data-dir.test.ts',
  'optional-mongoose.test.ts',
  'backup.test.ts',
  'drain.test.ts',
  'nginx.test.ts',
  'redis-stop.test.ts',
  'webhooks-sqlite-outbox.test.ts',
]);

function bothStoreFiles(): string[] {
  return readdirSync(new URL('.', import.meta.url))
    .filter((name) => name.endsWith('.test.ts') && !SQLITE_ONLY.has(name))
    .sort()
    .map((name) => `test/${name}`);
}

function say(line: string): void {
  process.stdout.write(`# mongodb pass: ${line}\n`);
}

async function main(): Promise<number> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : bothStoreFiles();
  let uri = process.env.MONGODB_URI;
  let replSet: MongoMemoryReplSet | undefined;
  if (!uri) {
    if (!process.env.MONGOMS_SYSTEM_BINARY) {
      say(
        'SKIPPED: no MongoDB here. Set MONGOMS_SYSTEM_BINARY to a mongod (scripts/mongod-wine.sh prints one) ' +
          'or MONGODB_URI to a replica set to run the server suites on MongoDB too.',
      );
      return 0;
    }
    const started = Date.now();
    replSet = await MongoMemoryReplSet.create({
      replSet: { count: 1, storageEngine: 'wiredTiger' },
      // Under wine on a loaded machine, mongod can take longer than the default 10 s to listen.
      // Test commands: the fault tests cut connections with the failCommand fail point.
      instanceOpts: [{ launchTimeout: 60_000, args: ['--setParameter', 'enableTestCommands=1'] }],
    });
    uri = replSet.getUri();
    say(`replica set up in ${Date.now() - started} ms (${process.env.MONGOMS_SYSTEM_BINARY})`);
  }
  try {
    // A test that waits for something that never comes fails after 2 minutes instead of holding CI to its limit.
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=120000', ...files], {
      env: { ...process.env, TEST_STORE: 'mongodb', MONGODB_URI: uri },
      stdio: 'inherit',
    });
    return await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await replSet?.stop();
  }
}

process.exitCode = await main();
