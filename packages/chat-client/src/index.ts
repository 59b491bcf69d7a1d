export { ChatClient } from './client.js';
export { Room } from './room.js';
export type { RoomHandle } from './room.js';
export { Notifications } from './notifications.js';
export { ChatError, isFinal } from './errors.js';
export type { ChatErrorCode } from './errors.js';
export { localStorageOutbox, memoryOutbox } from './outbox.js';
export type { OutboxEntry, OutboxStorage } from './outbox.js';
export type { OutboxFile } from './files.js';
export type {
  ChatClientOptions,
  ChatMessage,
  ConnectionStatus,
  MessageState,
  NotificationsEvents,
  ReconnectOptions,
  RoomEvents,
  Side,
  WebSocketConstructorLike,
  WebSocketLike,
} from './types.js';
export type * from './wire.js';
export { CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED } from './wire.js';
