export { startServer, type RunningServer, type StartOptions } from './server.js';
export { loadConfig, resolveConfig, ConfigError, DEFAULT_LIMITS, type Config, type Limits, type ServerOptions } from './config.js';
export type { ChatStore } from './store/store.js';
export { SqliteStore } from './store/sqlite.js';
export { StoreUnavailableError } from './store/failures.js';
export type { Fanout, FanoutEvent, FanoutListener, Subscription } from './fanout/fanout.js';
export { LocalFanout } from './fanout/local.js';
export type { Identity, Message, Room, RoomState, ReadCursors, Side, Role } from './chat/types.js';
