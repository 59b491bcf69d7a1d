// For the examples' tests: the reference server (from its build, as an installed package would be)
// on a free port with a throw-away SQLite directory, and tokens signed with its secret.
import jwt from 'jsonwebtoken';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type ServerOptions } from '@motoreach/reference-server';

export const SECRET = 'examples-test-secret-of-at-least-32-characters';

export interface TestChatServer {
  url: string;
  token(claims: { sub: string; role: 'user' | 'workshop_admin'; name: string; workshop_id?: string }): string;
  stop(): Promise<void>;
}

export async function startChatServer(options: ServerOptions = {}): Promise<TestChatServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'motoreach-example-'));
  const server = await startServer({ port: 0, host: '127.0.0.1', dataDir, jwtSecret: SECRET, logLevel: 'silent', ...options });
  return {
    url: server.url,
    token: (claims) => jwt.sign(claims, SECRET, { algorithm: 'HS256', expiresIn: '1h' }),
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
