/**
 * Every text the widgets show or announce. Replace any subset through the `strings` property;
 * counts arrive both as numbers (for plural rules) and already formatted with Intl for the locale.
 */
export interface ChatStrings {
  logLabel: string;
  composerLabel: string;
  composerPlaceholder: string;
  send: string;
  retry: string;
  you: string;
  unknownSender: string;
  statePending: string;
  stateSent: string;
  stateRead: string;
  stateFailed: string;
  unreadDivider: string;
  loadingOlder: string;
  startOfConversation: string;
  newMessages: (count: number, formatted: string) => string;
  jumpToLatest: string;
  typing: (name: string) => string;
  someoneTyping: string;
  connecting: string;
  /** The header's connection state: the socket is open. */
  connectionOpen: string;
  connectionReconnecting: string;
  connectionOffline: string;
  connectionUnreachable: string;
  /** Not connected: not configured, refused, or given up. */
  connectionClosed: string;
  reconnecting: (waiting: number, formatted: string) => string;
  offline: (waiting: number, formatted: string) => string;
  /**
   * The SDK reports the server `unreachable` (several attempts in a row failed: a wrong base URL, an
   * origin the server does not allow, an outage) and keeps retrying. `baseUrl` is the URL it tries.
   */
  unreachable: (waiting: number, formatted: string, baseUrl?: string) => string;
  forbidden: string;
  notFound: string;
  /** The server refused the token, a fresh one too: the composer is disabled until a new token. */
  unauthorized: string;
  notConfigured: string;
  /** In place of the composer (and announced) while the host has closed the conversation. */
  conversationClosed: string;
  /** In place of a message whose content was erased. */
  messageRemoved: string;
  charactersUsed: (used: string, max: string) => string;
  tooLong: (over: number, formatted: string) => string;
  announceMessage: (sender: string, body: string) => string;
  /** The attach button, the camera button (phones), the list of picked files and a chip's remove button. */
  attach: string;
  takePhoto: string;
  filesToSend: string;
  removeFile: (name: string) => string;
  /** A pending message's upload progress bar. */
  uploading: (name: string) => string;
  /** An image in a message (opens it full size), and the full-size view's close button. */
  openImage: (name: string) => string;
  closeImage: string;
}

export interface BadgeStrings {
  unread: (count: number, formatted: string) => string;
}

const waiting = (n: number, f: string): string => (n === 0 ? '' : ` ${f} ${n === 1 ? 'message waits' : 'messages wait'} to be sent.`);

export const defaultChatStrings: ChatStrings = {
  logLabel: 'Messages',
  composerLabel: 'Write a message',
  composerPlaceholder: 'Write a message…',
  send: 'Send',
  retry: 'Retry',
  you: 'You',
  unknownSender: 'Unknown',
  statePending: 'Sending',
  stateSent: 'Sent',
  stateRead: 'Read',
  stateFailed: 'Not sent',
  unreadDivider: 'Unread messages',
  loadingOlder: 'Loading older messages…',
  startOfConversation: 'Start of the conversation',
  newMessages: (n, f) => `${f} new ${n === 1 ? 'message' : 'messages'}`,
  jumpToLatest: 'Jump to latest',
  typing: (name) => `${name} is typing…`,
  someoneTyping: 'Someone is typing…',
  connecting: 'Connecting…',
  connectionOpen: 'Connected',
  connectionReconnecting: 'Reconnecting…',
  connectionOffline: 'Offline',
  connectionUnreachable: "Can't reach the server",
  connectionClosed: 'Not connected',
  reconnecting: (n, f) => `Reconnecting…${waiting(n, f)}`,
  offline: (n, f) => `You are offline.${waiting(n, f)}`,
  unreachable: (n, f, url) => `Can't reach the chat server${url ? ` at ${url}` : ''}. Retrying…${waiting(n, f)}`,
  forbidden: 'You are not a participant of this conversation.',
  notFound: 'This conversation does not exist.',
  unauthorized: 'Your session has expired. Sign in again to chat.',
  notConfigured: 'The chat is not configured.',
  conversationClosed: 'This conversation is closed',
  messageRemoved: 'Message removed',
  charactersUsed: (used, max) => `${used} / ${max}`,
  tooLong: (n, f) => `${f} ${n === 1 ? 'character' : 'characters'} too many`,
  announceMessage: (sender, body) => `${sender}: ${body}`,
  attach: 'Attach a photo or file',
  takePhoto: 'Take a photo',
  filesToSend: 'Files to send',
  removeFile: (name) => `Remove ${name}`,
  uploading: (name) => `Uploading ${name}`,
  openImage: (name) => `Open ${name} full size`,
  closeImage: 'Close',
};

export const defaultBadgeStrings: BadgeStrings = {
  unread: (n, f) => `${f} unread ${n === 1 ? 'message' : 'messages'}`,
};
