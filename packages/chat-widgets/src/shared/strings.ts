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
  /** A message's accessible name: who wrote it (`you` for one's own), when, and, for one's own, its state. */
  messageLabel: (sender: string, time: string, state?: string) => string;
  /** Why a message was not sent, after `stateFailed`, from the SDK's error code. */
  failedBecause: (code: string | undefined) => string;
  /** Said while the first page of history loads (the placeholder rows are not read out). */
  loadingMessages: string;
  /** A conversation without messages; the `empty` slot replaces it. */
  empty: string;
  /** Unfolds a long message. */
  readMore: string;
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
  messageLabel: (sender, time, state) => `${sender}, ${time}${state ? `, ${state}` : ''}`,
  failedBecause: (code) =>
    code === 'invalid' || code === 'too_large'
      ? 'the server refused it'
      : code === 'closed'
        ? 'the conversation is closed'
        : code === 'expired'
          ? 'it waited too long'
          : code === 'forbidden' || code === 'unauthorized'
            ? 'you may not write here'
            : 'no connection',
  loadingMessages: 'Loading messages…',
  empty: 'No messages yet. Say hello!',
  readMore: 'Read more',
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

export interface InboxStrings {
  /** The list's accessible name. */
  listLabel: string;
  searchLabel: string;
  searchPlaceholder: string;
  /** The filter button: only requests with unread messages. */
  unreadFilter: string;
  loadMore: string;
  loading: string;
  /** No requests at all (the `empty` slot replaces it). */
  empty: string;
  /** No request matches the search or the filter. */
  noMatch: string;
  /** The first page could not be loaded; `retry` tries again. */
  loadFailed: string;
  retry: string;
  you: string;
  /** Prefix of a preview of one's own message, e.g. "You: …". */
  ownPreview: (you: string, body: string) => string;
  /** A message whose only content is attachments (`count` of them, `images` of which are images). */
  attachments: (count: number, images: number, formatted: string) => string;
  /** In place of a message whose content was erased. */
  messageRemoved: string;
  /** A room without messages. */
  noMessages: string;
  /** Next to the title of a closed request. */
  closed: string;
  /** The accessible text of a row's count. */
  unread: (count: number, formatted: string) => string;
  /** Under a minute ago. */
  justNow: string;
}

export const defaultInboxStrings: InboxStrings = {
  listLabel: 'Service requests',
  searchLabel: 'Search requests',
  searchPlaceholder: 'Search',
  unreadFilter: 'Unread',
  loadMore: 'Load more',
  loading: 'Loading requests…',
  empty: 'No service requests yet.',
  noMatch: 'No request matches.',
  loadFailed: "The requests couldn't be loaded.",
  retry: 'Retry',
  you: 'You',
  ownPreview: (you, body) => `${you}: ${body}`,
  attachments: (n, images, f) => (n === 1 ? (images ? 'Photo' : 'File') : `${f} ${images === n ? 'photos' : 'files'}`),
  messageRemoved: 'Message removed',
  noMessages: 'No messages yet',
  closed: 'Closed',
  unread: (n, f) => `${f} unread ${n === 1 ? 'message' : 'messages'}`,
  justNow: 'now',
};
