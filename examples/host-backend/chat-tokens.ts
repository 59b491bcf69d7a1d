// The two kinds of chat token the backend signs, with the key the chat server verifies (its
// JWT_SECRET; HS256, the algorithm the server pins). The service token never leaves the backend;
// a participant token goes to the signed-in person's browser.
import jwt from 'jsonwebtoken';
import type { User } from './marketplace.js';

export interface TokenSettings {
  /** The chat server's JWT_SECRET: 32 characters or more. */
  secret: string;
  /** Set when the chat server checks them (JWT_AUDIENCE, JWT_ISSUER), so that no other token of yours opens the chat. */
  audience?: string;
  issuer?: string;
}

export class ChatTokens {
  readonly #settings: TokenSettings;

  constructor(settings: TokenSettings) {
    this.#settings = settings;
  }

  // #region tokens
  /** The backend's own calls (REST only). `name` is the sender name of its system messages. */
  service(): string {
    return this.#sign({ sub: 'repairs-backend', role: 'service', name: 'Repairs marketplace' }, '5m');
  }

  /** A signed-in person's token for the widgets and the SDK; null for someone who takes part in no chat. */
  participant(user: User): string | null {
    if (user.kind === 'owner') return this.#sign({ sub: user.id, role: 'user', name: user.name }, '15m');
    if (user.kind === 'staff') {
      return this.#sign({ sub: user.id, role: 'workshop_admin', workshop_id: user.workshopId, name: user.name }, '15m');
    }
    return null;
  }

  #sign(claims: object, expiresIn: jwt.SignOptions['expiresIn']): string {
    const { secret, audience, issuer } = this.#settings;
    return jwt.sign(claims, secret, {
      algorithm: 'HS256',
      expiresIn,
      ...(audience !== undefined && { audience }),
      ...(issuer !== undefined && { issuer }),
    });
  }
  // #endregion tokens
}
