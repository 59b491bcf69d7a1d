import Database from 'better-sqlite3';
import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import { SqliteStore } from './sqlite.js';
import { isStoreUnavailable } from './failures.js';
import type { ChatStore } from './store.js';

/** The SQLite driver's compiled part cannot be loaded: the install is at fault, not DATA_DIR. */
export class NativeModuleError extends ConfigError {
  override name = 'NativeModuleError';
}

/** The Node major of each NODE_MODULE_VERSION a build may come from (https://nodejs.org/en/about/previous-releases). */
const NODE_OF_ABI: Record<string, string> = { '108': '18', '115': '20', '127': '22', '131': '23', '137': '24', '141': '25' };

export const nodeOf = (abi: string) =>
  NODE_OF_ABI[abi] ? `Node ${NODE_OF_ABI[abi]} (NODE_MODULE_VERSION ${abi})` : `NODE_MODULE_VERSION ${abi}`;

/**
 * Loads better-sqlite3's native module before anything uses it: it loads on
 * the first connection, which would otherwise be DATA_DIR's lock, and a
 * module built for another Node would read as a lock that cannot be opened.
 */
function loadSqliteDriver(): void {
  try {
    new Database(':memory:').close();
  } catch (error) {
    const message = (error as Error).message;
    const fix = 'run `npm rebuild better-sqlite3` with this Node';
    const built = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(
      message.replace(/\s+/g, ' '),
    );
    const file = /module '([^']+)'/.exec(message)?.[1] ?? 'better_sqlite3.node';
    if (built) {
      throw new NativeModuleError(
        `better-sqlite3's native module ${file} was built for ${nodeOf(built[1] as string)}, but this is Node ${process.versions.node} (NODE_MODULE_VERSION ${built[2]}): ${fix}`,
      );
    }
    if ((error as NodeJS.ErrnoException).code === 'ERR_DLOPEN_FAILED' || /bindings file/.test(message)) {
      throw new NativeModuleError(`better-sqlite3's native module cannot be loaded (${message.split('\n')[0]}): ${fix}`);
    }
    throw error;
  }
}

/** MongoDB when MONGODB_URI is set, else the embedded SQLite file in DATA_DIR. */
export async function openStore(config: Config, logger: Logger): Promise<ChatStore> {
  if (config.mongodbUri) {
    const { MongoStore, SETUP_RETRY_MS } = await importMongoStore();
    try {
      return await MongoStore.connect(config.mongodbUri, { logger, events: config.webhook !== null });
    } catch (error) {
      throw mongoStartFailure(config.mongodbUri, error, SETUP_RETRY_MS);
    }
  }
  loadSqliteDriver();
  return new SqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous, logger, events: config.webhook !== null });
}

/**
 * A MongoDB still unreachable when the setup's retry window closes: one line naming it (its password
 * hidden) and the driver's reason, a ConfigError (exit 2, as an unreachable REDIS_URL), not a stack.
 */
export function mongoStartFailure(uri: string, error: unknown, windowMs: number): unknown {
  if (!isStoreUnavailable(error)) return error;
  const reason = ((error as Error).message ?? String(error)).split('\n')[0];
  return new ConfigError(`cannot reach MongoDB at ${redactedUri(uri)} (MONGODB_URI) within ${windowMs / 1000} s: ${reason}`);
}

function redactedUri(uri: string): string {
  // Not `new URL`: a seed list (host1,host2) is not a URL's host.
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) => `${scheme}${auth.includes(':') ? `${auth.split(':')[0]}:***` : auth}@`);
}

// mongoose is an optional peer dependency: a SQLite deployment does not install its ~10 MB.
async function importMongoStore(): Promise<typeof import('./mongo.js')> {
  try {
    return await import('./mongo.js');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /'mongoose'/.test((error as Error).message);
    if (!missing) throw error;
    throw new ConfigError(
      'MONGODB_URI is set but the MongoDB driver is not installed: run `npm install mongoose@^9` next to @motoreach/reference-server',
    );
  }
}
