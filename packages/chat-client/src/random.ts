// 96 random bits as hex, prefixed: client_ids of messages, ids of tabs.
export const randomId = (): string =>
  'c_' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
