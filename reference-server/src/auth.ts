import { createPublicKey, createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { JwtKey } from './config.js';
import type { Identity } from './chat/types.js';

export type TokenVerifier = (token: string | null | undefined) => Identity | null;

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256;
}

/**
 * Verifies with the one algorithm the server is configured for: the token's
 * own `alg` header is never trusted (no `none`, no HS256-with-public-key swap).
 * Any missing or malformed claim makes the whole token invalid.
 */
export function createVerifier(key: JwtKey): TokenVerifier {
  // A key object built once: given a string, jsonwebtoken parses the key again on every verify.
  const secret = key.algorithm === 'HS256' ? createSecretKey(Buffer.from(key.secret)) : createPublicKey(key.publicKey);
  const options: jwt.VerifyOptions = { algorithms: [key.algorithm] };
  return (token) => {
    if (!token) return null;
    let claims: jwt.JwtPayload | string;
    try {
      claims = jwt.verify(token, secret, options);
    } catch {
      return null;
    }
    if (typeof claims === 'string' || typeof claims.exp !== 'number') return null;
    const { sub, role, workshop_id: workshopId, name } = claims as Record<string, unknown>;
    if (!nonEmptyString(sub)) return null;
    if (name !== undefined && name !== null && typeof name !== 'string') return null;
    const expiresAt = claims.exp * 1000;
    if (role === 'user') return { id: sub, role, workshopId: null, name: name ?? null, expiresAt };
    if (role === 'workshop_admin' && nonEmptyString(workshopId)) return { id: sub, role, workshopId, name: name ?? null, expiresAt };
    // The host's backend: `sub` names it; a workshop_id it may carry means nothing.
    if (role === 'service') return { id: sub, role, workshopId: null, name: name ?? null, expiresAt };
    return null;
  };
}

/** Demo tokens for development mode. */
export function signDevToken(
  key: JwtKey,
  claims: { sub: string; role: string; workshop_id?: string; name?: string },
): string {
  if (key.algorithm !== 'HS256') throw new Error('demo tokens need an HS256 secret');
  return jwt.sign(claims, key.secret, { algorithm: 'HS256', expiresIn: '24h' });
}

/** The token of a REST call: `Authorization: Bearer <jwt>`, nothing else. */
export function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer ([A-Za-z0-9._~+/=-]+)$/);
  return match?.[1] ?? null;
}
