import { basename } from 'node:path';
import mongoose from 'mongoose';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { ChatStore } from '../../src/store/store.js';

/**
 * Which store the behavioural suites run on: SQLite by default, MongoDB in the
 * second pass that test/run-on-mongodb.ts starts (TEST_STORE=mongodb, with
 * MONGODB_URI naming the server it started).
 */
export type TestStoreKind = 'sqlite' | 'mongodb';

export const testStoreKind: TestStoreKind = process.env.TEST_STORE === 'mongodb' ? 'mongodb' : 'sqlite';

export function testMongoUri(): string {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('TEST_STORE=mongodb needs MONGODB_URI (a replica set); npm test starts one when MONGOMS_SYSTEM_BINARY is set');
  return uri;
}

/**
 * The database standing for a data directory in the MongoDB pass: each test's
 * fresh directory is a fresh database, and a restart on the same directory
 * finds the same data, as on SQLite.
 */
export function dbNameFor(dataDir: string): string {
  return `t_${basename(dataDir).replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** The MongoDB pass's server URI with its database path set to `dbName`, keeping its options (replicaSet...). */
export function mongoUriFor(dbName: string): string {
  const url = new URL(testMongoUri());
  url.pathname = `/${dbName}`;
  return url.toString();
}

/** The CLI arguments that put a spawned server's data in `dataDir`, or in its database in the MongoDB pass. */
export function storeArgs(dataDir: string): string[] {
  const args = ['--data-dir', dataDir];
  return testStoreKind === 'mongodb' ? [...args, '--mongodb-uri', mongoUriFor(dbNameFor(dataDir))] : args;
}

/** A store of the pass's kind for `dataDir`, for tests that wrap or hold the store themselves. */
export async function openTestStore(dataDir: string): Promise<ChatStore> {
  if (testStoreKind === 'sqlite') return new SqliteStore({ dataDir, synchronous: 'normal' });
  const { MongoStore } = await import('../../src/store/mongo.js');
  return MongoStore.connect(testMongoUri(), { logger: createLogger('silent'), dbName: dbNameFor(dataDir) });
}

/** Removes what a test stored for `dataDir` in the MongoDB pass (the directory itself is the caller's). */
export async function dropTestDatabase(dataDir: string): Promise<void> {
  if (testStoreKind === 'sqlite') return;
  const conn = await mongoose.createConnection(testMongoUri(), { dbName: dbNameFor(dataDir) }).asPromise();
  try {
    await conn.dropDatabase();
  } finally {
    await conn.close();
  }
}

/** A store shared by servers in this process: each server closes its store on close, the test closes this one. */
export function unclosable(store: ChatStore): ChatStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'close') return async () => undefined;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
