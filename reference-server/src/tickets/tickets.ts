import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { CallerRole, Identity } from '../chat/types.js';
import type { SingleUse } from './single-use.js';

/** How long a ticket may wait between being issued and opening its socket. */
export const TICKET_TTL_MS = 30_000;

/**
 * How long a used ticket's record outlives the ticket: servers' clocks differ a little, and one
 * whose clock is behind still takes the ticket as valid after another's record of it would expire.
 */
const CLOCK_SKEW_MS = 60_000;

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface IssuedTicket {
  ticket: string;
  /** Seconds, as the contract's `expires_in`. */
  expires_in: number;
}

/** The key tickets are sealed with: derived, never the secret itself, so a ticket reveals nothing of it. */
export function ticketKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, '', 'motoreach ws-ticket v1', 32));
}

/**
 * Single-use WebSocket tickets, so that a socket URL carries no JWT (browsers
 * print a failed socket's URL in the console, proxies log query strings).
 *
 * A ticket is the caller's identity sealed with AES-256-GCM under a key every
 * server derives alike: any server opens it, nobody else can make or alter
 * one, and the URL shows nothing of who it names. Its random IV is its id;
 * `SingleUse` records each id at first use where every server sees it. A
 * ticket expires after `TICKET_TTL_MS`, or with its token if that is sooner,
 * and the identity it gives carries the token's own expiry, so its socket is
 * closed when the token would have been refused.
 */
export class Tickets {
  readonly #key: Buffer;
  readonly #used: SingleUse;

  constructor(key: Buffer, used: SingleUse) {
    this.#key = key;
    this.#used = used;
  }

  issue(identity: Identity, now = Date.now()): IssuedTicket {
    const until = Math.min(now + TICKET_TTL_MS, identity.expiresAt);
    const sealed = JSON.stringify([identity.id, identity.role, identity.workshopId, identity.name, identity.expiresAt, until]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(sealed, 'utf8'), cipher.final()]);
    const ticket = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    return { ticket, expires_in: Math.max(0, Math.floor((until - now) / 1000)) };
  }

  /**
   * The identity of a good ticket's first use; null for a ticket that is used, expired, altered
   * or sealed by another key. Throws when the record of used tickets cannot be reached.
   */
  async redeem(ticket: string): Promise<Identity | null> {
    const opened = this.#open(ticket);
    if (!opened) return null;
    const { identity, until, id } = opened;
    const left = until - Date.now();
    if (left <= 0) return null;
    return (await this.#used.claim(id, left + CLOCK_SKEW_MS)) ? identity : null;
  }

  #open(ticket: string): { identity: Identity; until: number; id: string } | null {
    const raw = Buffer.from(ticket, 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES || raw.toString('base64url') !== ticket) return null;
    const iv = raw.subarray(0, IV_BYTES);
    let fields: unknown;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
      fields = JSON.parse(text.toString('utf8'));
    } catch {
      return null;
    }
    // Sealed by a server with this key, so well formed: the checks guard against a key shared with other software.
    if (!Array.isArray(fields) || fields.length !== 6) return null;
    const [id, role, workshopId, name, expiresAt, until] = fields as [string, CallerRole, string | null, string | null, number, number];
    if (typeof id !== 'string' || typeof expiresAt !== 'number' || typeof until !== 'number') return null;
    return { identity: { id, role, workshopId, name, expiresAt }, until, id: iv.toString('base64url') };
  }
}
