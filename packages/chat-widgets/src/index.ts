// Importing the package registers both elements (once per page, even if two copies load).
import './chat/define.js';
import './badge/define.js';

export { MotoreachChat } from './chat/chat.js';
export { MotoreachBadge } from './badge/badge.js';
export { define } from './shared/define.js';
export { defaultChatStrings, defaultBadgeStrings } from './shared/strings.js';
export type { ChatStrings, BadgeStrings } from './shared/strings.js';
export type { DataRenderer } from './shared/data.js';
export type {
  MotoreachEventMap,
  MessageSentDetail,
  MessageReceivedDetail,
  ReadDetail,
  ConnectionChangeDetail,
  RoomChangeDetail,
  ErrorDetail,
  UnreadChangeDetail,
  TokenErrorDetail,
} from './shared/events.js';
export { ChatClient } from '@motoreach/chat-client';
