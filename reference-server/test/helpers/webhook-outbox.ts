import { join } from 'node:path';
import Database from 'better-sqlite3';
import mongoose from 'mongoose';
import { dbNameFor, testMongoUri, testStoreKind } from './test-store.js';

/** How many webhook events the store of `dataDir` still holds (recorded, not yet delivered or given up), read beside the server. */
export async function pendingEvents(dataDir: string): Promise<number> {
  if (testStoreKind === 'mongodb') {
    const conn = await mongoose.createConnection(testMongoUri(), { dbName: dbNameFor(dataDir) }).asPromise();
    try {
      return await conn.collection('webhook_events').countDocuments();
    } finally {
      await conn.close();
    }
  }
  const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM webhook_events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The bodies of the webhook events the store of `dataDir` still holds, in recording order, read beside the server. */
export async function pendingEventBodies(dataDir: string): Promise<string[]> {
  if (testStoreKind === 'mongodb') {
    const conn = await mongoose.createConnection(testMongoUri(), { dbName: dbNameFor(dataDir) }).asPromise();
    try {
      const events = await conn.collection<{ body: string }>('webhook_events').find({}, { sort: { request_id: 1, order: 1 } }).toArray();
      return events.map((event) => event.body);
    } finally {
      await conn.close();
    }
  }
  const db = new Database(join(dataDir, 'motoreach-chat.sqlite3'), { readonly: true });
  try {
    return db.prepare('SELECT body FROM webhook_events ORDER BY position').pluck().all() as string[];
  } finally {
    db.close();
  }
}
