import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { SqliteStore } from './sqlite.js';
import type { ChatStore } from './store.js';

/** MongoDB when MONGODB_URI is set, else the embedded SQLite file in DATA_DIR. */
export async function openStore(config: Config, logger: Logger): Promise<ChatStore> {
  if (config.mongodbUri) {
    const { MongoStore } = await import('./mongo.js');
    return MongoStore.connect(config.mongodbUri, { logger });
  }
  return new SqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous, logger });
}
