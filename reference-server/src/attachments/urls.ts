import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type Variant = 'file' | 'thumbnail';

/** The key attachment URLs are signed with: derived from the cluster's secret, so every server checks another's URLs. */
export function urlKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, '', 'motoreach attachment urls v1', 32));
}

export type UrlCheck = 'ok' | 'bad_signature' | 'expired';

/**
 * Signed, expiring attachment URLs: they work without an Authorization header (an `<img src>`), so
 * the URL itself is the permission, for `ttlS` seconds. A path on this server: clients resolve it
 * against the base URL they call the API at, which a proxy in front may make any.
 */
export class AttachmentUrls {
  constructor(
    private readonly key: Buffer,
    private readonly ttlS: number,
    private readonly now: () => number = Date.now,
  ) {}

  #signature(id: string, variant: Variant, expires: number): string {
    return createHmac('sha256', this.key).update(`${id}\n${variant}\n${expires}`).digest('base64url');
  }

  sign(id: string, variant: Variant): string {
    const expires = Math.floor(this.now() / 1000) + this.ttlS;
    const path = variant === 'file' ? '' : 'thumbnail/';
    return `/api/attachments/${id}/${path}?expires=${expires}&signature=${this.#signature(id, variant, expires)}`;
  }

  check(id: string, variant: Variant, expires: string | undefined, signature: string | undefined): UrlCheck {
    if (!expires || !signature || !/^\d{1,12}$/.test(expires)) return 'bad_signature';
    const expected = Buffer.from(this.#signature(id, variant, Number(expires)));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
    return Number(expires) * 1000 < this.now() ? 'expired' : 'ok';
  }
}
