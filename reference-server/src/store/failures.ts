/**
 * Which storage failures are transient: the storage could not do it now (disk
 * full, I/O error, a lock, a lost or failing-over database), as opposed to a
 * bug. Duck-typed on the drivers' errors, so that recognising a MongoDB error
 * does not load the MongoDB driver into a server that stores in SQLite.
 */

/** An append to a closed room: final, nothing was stored. */
export class RoomClosedError extends Error {
  override name = 'RoomClosedError';
}

/** An append by a sender whose side no longer holds the room (it was reassigned): final, nothing was stored. */
export class NotHolderError extends Error {
  override name = 'NotHolderError';
}

/** A store's own transient refusal, such as a call after close() during a shutdown. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/**
 * SQLite primary result codes of a storage that fails, not of a statement that
 * is wrong (SQLITE_CONSTRAINT, SQLITE_ERROR, SQLITE_MISMATCH and the like are bugs).
 * Extended codes (SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT...) count by their primary code.
 */
const SQLITE_UNAVAILABLE = new Set([
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_NOMEM',
  'SQLITE_PROTOCOL',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_NOLFS',
  'SQLITE_PERM',
]);

const MONGO_UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoWriteConcernError',
]);

/** The driver's labels for "this may work if tried again" (withTransaction gave up retrying). */
const MONGO_TRANSIENT_LABELS = ['TransientTransactionError', 'UnknownTransactionCommitResult', 'RetryableWriteError'];

/** Server codes of a replica set without a primary, a node shutting down, a lock or time limit, a lost host. */
const MONGO_UNAVAILABLE_CODES = new Set([
  6, 7, 24, 64, 89, 91, 112, 189, 251, 262, 9001, 10107, 11600, 11602, 13435, 13436,
]);

export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (name === 'SqliteError' && typeof code === 'string') {
    const primary = code.split('_', 2).join('_');
    return SQLITE_UNAVAILABLE.has(primary);
  }
  if (typeof name !== 'string' || !name.startsWith('Mongo')) return false;
  if (MONGO_UNAVAILABLE_NAMES.has(name)) return true;
  const labelled = (error as { hasErrorLabel?: (label: string) => boolean }).hasErrorLabel;
  if (typeof labelled === 'function' && MONGO_TRANSIENT_LABELS.some((label) => labelled.call(error, label))) return true;
  return typeof code === 'number' && MONGO_UNAVAILABLE_CODES.has(code);
}

/** A storage error of a full disk: SQLITE_FULL, or an I/O error (growing the -shm file fails as SQLITE_IOERR_SHMSIZE). */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR'));
}
