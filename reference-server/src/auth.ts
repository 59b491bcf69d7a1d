import { createPublicKey, createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config, JwtKey, TokenClaims } from './config.js';
import type { Identity } from './chat/types.js';

export type TokenVerifier = (token: string | null | undefined) => Identity | null;

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256;
}

/** A display name longer than this, in code points, makes the token invalid: it is shown beside every message. */
export const MAX_NAME_CHARS = 200;

function validName(name: unknown): name is string | null | undefined {
  if (name === undefined || name === null) return true;
  if (typeof name !== 'string') return false;
  // Counted in code points only when the UTF-16 length leaves a doubt.
  return name.length <= MAX_NAME_CHARS || (name.length <= 2 * MAX_NAME_CHARS && [...name].length <= MAX_NAME_CHARS);
}

/**
 * Verifies with the one algorithm the server is configured for: the token's
 * own `alg` header is never trusted (no `none`, no HS256-with-public-key swap).
 * Any missing or malformed claim makes the whole token invalid.
 */
export function createVerifier(key: JwtKey, expected: TokenClaims = { audience: null, issuer: null }): TokenVerifier {
  // A key object built once: given a string, jsonwebtoken parses the key again on every verify.
  const secret = key.algorithm === 'HS256' ? createSecretKey(Buffer.from(key.secret)) : createPublicKey(key.publicKey);
  const options: jwt.VerifyOptions = {
    algorithms: [key.algorithm],
    ...(expected.audience !== null && { audience: expected.audience }),
    ...(expected.issuer !== null && { issuer: expected.issuer }),
  };
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
    if (!validName(name)) return null;
    const expiresAt = claims.exp * 1000;
    if (role === 'user') return { id: sub, role, workshopId: null, name: name ?? null, expiresAt };
    if (role === 'workshop_admin' && nonEmptyString(workshopId)) return { id: sub, role, workshopId, name: name ?? null, expiresAt };
    // The host's backend: `sub` names it; a workshop_id it may carry means nothing.
    if (role === 'service') return { id: sub, role, workshopId: null, name: name ?? null, expiresAt };
    return null;
  };
}

/** The server's verifier: the configured key's tokens and, in development mode, the demo tokens signed with their own secret. */
export function verifierFor(config: Config): TokenVerifier {
  const configured = createVerifier(config.jwt, config.tokenClaims);
  if (!config.devJwt || config.devJwt === config.jwt) return configured;
  const demo = createVerifier(config.devJwt, config.tokenClaims);
  return (token) => configured(token) ?? demo(token);
}

/** Demo tokens for development mode, signed with the development secret, carrying the claims the verifier expects. */
export function signDevToken(
  config: Config,
  claims: { sub: string; role: string; workshop_id?: string; name?: string },
): string {
  if (config.devJwt?.algorithm !== 'HS256') throw new Error('demo tokens are for development mode');
  const { audience, issuer } = config.tokenClaims;
  return jwt.sign(claims, config.devJwt.secret, {
    algorithm: 'HS256',
    expiresIn: '24h',
    ...(audience !== null && { audience }),
    ...(issuer !== null && { issuer }),
  });
}

/** The token of a REST call: `Authorization: Bearer <jwt>`, nothing else. */
export function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer ([A-Za-z0-9._~+/=-]+)$/);
  return match?.[1] ?? null;
}
