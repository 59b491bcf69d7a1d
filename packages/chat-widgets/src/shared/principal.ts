/**
 * Who a token speaks for, read from the JWT payload without verifying it: the server verifies every
 * token; this only decides which widgets may share a client and whose drafts a device keeps.
 * A person is the side and the id (ids are opaque per side), and for an admin the workshop too.
 * Null when the token is not a JWT with those claims.
 */
export function principalOf(token: string): string | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  let claims: { sub?: unknown; role?: unknown; workshop_id?: unknown };
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes)) as typeof claims;
  } catch {
    return null;
  }
  if (typeof claims !== 'object' || claims === null || typeof claims.sub !== 'string') return null;
  // JSON keeps the parts apart whatever characters the ids hold.
  if (claims.role === 'user') return JSON.stringify(['user', claims.sub]);
  if (claims.role === 'workshop_admin' && typeof claims.workshop_id === 'string') {
    return JSON.stringify(['workshop', claims.workshop_id, claims.sub]);
  }
  return null;
}
