// Importing the package registers the elements (once per page, even if two copies load).
import './chat/define.js';
import './badge/define.js';
import './inbox/define.js';

export { MotoreachChat } from './chat/chat.js';
export { MotoreachBadge } from './badge/badge.js';
export { MotoreachInbox } from './inbox/inbox.js';
export { define } from './shared/define.js';
export { defaultChatStrings, defaultBadgeStrings, defaultInboxStrings } from './shared/strings.js';
export type { ChatStrings, BadgeStrings, InboxStrings } from './shared/strings.js';
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
  SelectDetail,
} from './shared/events.js';
export { ChatClient } from '@motoreach/chat-client';
