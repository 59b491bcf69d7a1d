import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** Names what the key is for, so that it can never equal a key derived from the same secret elsewhere. */
const KEY_LABEL = 'motoreach-chat fan-out event authentication v1';
const MAC_BYTES = 32;
/** A MAC in base64url: 43 characters. */
const MAC_CHARS = Math.ceil((MAC_BYTES * 4) / 3);

/**
 * The key that authenticates events between servers: HKDF-SHA256 of the
 * cluster secret (CLUSTER_SECRET, or JWT_SECRET), never the secret itself.
 * Every server sharing a Redis derives the same key.
 */
export function fanoutKey(clusterSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', clusterSecret, '', KEY_LABEL, 32));
}

/**
 * Signs and checks events on their way through Redis: whoever can PUBLISH
 * there (Redis is shared, or reached by someone it should not be) cannot make
 * a server deliver an event that another server did not send, nor move one to
 * another channel. The MAC covers the channel and the whole payload.
 */
export class EventSigner {
  constructor(private readonly key: Buffer) {}

  #mac(channel: string, payload: string): string {
    return createHmac('sha256', this.key).update(channel).update('\n').update(payload).digest('base64url');
  }

  /** `<mac>\n<payload>` */
  sign(channel: string, payload: string): string {
    return `${this.#mac(channel, payload)}\n${payload}`;
  }

  /** The payload of a message signed for `channel`, or null when it is not one. */
  open(channel: string, message: string): string | null {
    if (message.charCodeAt(MAC_CHARS) !== 10 /* \n */) return null;
    const payload = message.slice(MAC_CHARS + 1);
    const expected = Buffer.from(this.#mac(channel, payload));
    const given = Buffer.from(message.slice(0, MAC_CHARS));
    return given.length === expected.length && timingSafeEqual(given, expected) ? payload : null;
  }
}
