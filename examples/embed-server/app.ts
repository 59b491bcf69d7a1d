// An existing Express app that runs the MotoReach reference server in the same process: the chat
// listens on its own port (WebSockets included), shares the app's JWT secret, and stops with it.
// The app keeps its own routes and adds one: GET /chat-token, a short-lived chat token for the
// signed-in user. Run with `npm start` (see README.md).
import type { Server } from 'node:http';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import express from 'express';
import jwt from 'jsonwebtoken';
import { startServer } from '@motoreach/reference-server';

export interface AppOptions {
  port?: number;
  chatPort?: number;
  /** 32+ characters, shared by the app (which signs) and the chat server (which verifies). */
  jwtSecret: string;
  /** Origins of the pages that embed the widgets. */
  allowedOrigins: string[];
  dataDir?: string;
}

// Stands in for your session middleware: here the signed-in user comes from a header.
const USERS: Record<string, { sub: string; role: 'user'; name: string }> = {
  ana: { sub: 'u-ana', role: 'user', name: 'Ana' },
};

export async function startApp({ port = 3000, chatPort = 8080, jwtSecret, allowedOrigins, dataDir }: AppOptions) {
  // #region embed
  const chat = await startServer({ port: chatPort, host: '127.0.0.1', jwtSecret, allowedOrigins, dataDir, logLevel: 'warn' });

  const app = express();
  app.get('/api/orders', (_req, res) => {
    res.json({ orders: [] }); // the app's own routes stay as they are
  });
  app.get('/chat-token', (req, res) => {
    const user = USERS[req.get('x-demo-user') ?? ''];
    if (!user) return void res.status(401).end();
    res.type('text/plain').send(jwt.sign(user, jwtSecret, { algorithm: 'HS256', expiresIn: '15m' }));
  });
  app.get('/chat-config', (_req, res) => {
    res.json({ baseUrl: chat.url });
  });

  const http: Server = app.listen(port, '127.0.0.1');
  await once(http, 'listening');
  const close = async () => {
    await new Promise((resolve) => http.close(resolve));
    await chat.close(); // closes sockets with 1001 and finishes accepted writes
  };
  // #endregion embed
  const address = http.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`, chatUrl: chat.url, close };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const running = await startApp({
    jwtSecret: process.env.JWT_SECRET ?? 'change-me-to-32-or-more-random-characters',
    allowedOrigins: (process.env.ALLOWED_ORIGINS ?? 'http://127.0.0.1:3000').split(','),
  });
  console.log(`app on ${running.url}, chat on ${running.chatUrl}`);
  process.once('SIGINT', () => void running.close());
  process.once('SIGTERM', () => void running.close());
}
