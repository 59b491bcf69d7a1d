import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import { SqliteStore } from './sqlite.js';
import type { ChatStore } from './store.js';

/** MongoDB when MONGODB_URI is set, else the embedded SQLite file in DATA_DIR. */
export async function openStore(config: Config, logger: Logger): Promise<ChatStore> {
  if (config.mongodbUri) {
    const { MongoStore } = await importMongoStore();
    return MongoStore.connect(config.mongodbUri, { logger });
  }
  return new SqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous, logger });
}

// mongoose is an optional peer dependency: a SQLite deployment does not install its ~10 MB.
async function importMongoStore(): Promise<typeof import('./mongo.js')> {
  try {
    return await import('./mongo.js');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /'mongoose'/.test((error as Error).message);
    if (!missing) throw error;
    throw new ConfigError('MONGODB_URI is set but the MongoDB driver is not installed: run `npm install mongoose@^9` next to @motoreach/reference-server');
  }
}
