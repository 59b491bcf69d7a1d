/**
 * The MongoDB pass of `npm test`: runs the server's behavioural suites a second
 * time with every server on MongoDB (TEST_STORE=mongodb), against a one-node
 * replica set that mongodb-memory-server starts and removes.
 *
 * Which mongod: MONGODB_URI when set (a replica set you run), else the binary
 * in MONGOMS_SYSTEM_BINARY (CI: scripts/mongod-wine.sh). Neither: the pass is
 * skipped, and says why. Extra arguments replace the list of files.
 */
import { spawn } from 'node:child_process';
import { MongoMemoryReplSet } from 'mongodb-memory-server-core';

/** Every suite whose subject is the server, not the SQLite file (disk-full, checkpointer, data-dir stay SQLite-only). */
const FILES = [
  'test/store-mongo.test.ts',
  'test/rest.test.ts',
  'test/ws-chat.test.ts',
  'test/notifications.test.ts',
  'test/concurrency.test.ts',
  'test/faults.test.ts',
  'test/lifecycle.test.ts',
  'test/auth.test.ts',
  'test/limits.test.ts',
  'test/ill-formed-text.test.ts',
  'test/multi-node.test.ts',
];

function say(line: string): void {
  process.stdout.write(`# mongodb pass: ${line}\n`);
}

async function main(): Promise<number> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : FILES;
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
    replSet = await MongoMemoryReplSet.create({ replSet: { count: 1, storageEngine: 'wiredTiger' } });
    uri = replSet.getUri();
    say(`replica set up in ${Date.now() - started} ms (${process.env.MONGOMS_SYSTEM_BINARY})`);
  }
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
      env: { ...process.env, TEST_STORE: 'mongodb', MONGODB_URI: uri },
      stdio: 'inherit',
    });
    return await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await replSet?.stop();
  }
}

process.exitCode = await main();
