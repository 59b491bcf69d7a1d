// The host of a plain HTML page: it serves the page with the widgets' single-file build, and it
// issues short-lived chat tokens for its signed-in user, signed with the secret the chat server
// verifies. The chat server runs elsewhere (another origin, listed in its ALLOWED_ORIGINS).
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express from 'express';
import jwt from 'jsonwebtoken';

const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8');
const standalone = fileURLToPath(import.meta.resolve('@motoreach/chat-widgets/standalone'));

/** @param {string} text */
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * @param {{ chatUrl: string, jwtSecret: string }} options
 * @returns {import('express').Express}
 */
export function createHostApp({ chatUrl, jwtSecret }) {
  // #region token-endpoint
  // Your session middleware knows who is signed in; this example always has Ana.
  const currentUser = () => ({ sub: 'u-ana', role: 'user', name: 'Ana' });
  const chatToken = () => jwt.sign(currentUser(), jwtSecret, { algorithm: 'HS256', expiresIn: '15m' });

  const app = express();
  app.get('/chat-token', (_req, res) => {
    res.set('cache-control', 'no-store').type('text/plain').send(chatToken());
  });
  // #endregion token-endpoint
  app.get('/motoreach-chat.min.js', (_req, res) => res.sendFile(standalone));
  app.get('/', async (req, res) => {
    const requestId = req.query.request;
    if (typeof requestId !== 'string') {
      // The host knows its service requests; this example opens one for workshop w-1.
      const created = await fetch(`${chatUrl}/api/service-requests/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${chatToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workshop_id: 'w-1', title: 'Brake check' }),
      });
      if (!created.ok) return void res.status(502).send(`The chat server at ${chatUrl} answered ${created.status}`);
      const { id } = /** @type {{ id: string }} */ (await created.json());
      return res.redirect(`/?request=${encodeURIComponent(id)}`);
    }
    res
      .type('html')
      .send(page.replaceAll('{{CHAT_URL}}', escapeHtml(chatUrl)).replaceAll('{{TOKEN}}', chatToken()).replaceAll('{{REQUEST_ID}}', escapeHtml(requestId)));
  });
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const jwtSecret = process.env.JWT_SECRET;
  if (!jwtSecret) {
    console.error('Set JWT_SECRET to the secret the chat server was started with.');
    process.exit(2);
  }
  const port = Number(process.env.PORT ?? 3000);
  createHostApp({ chatUrl: process.env.CHAT_URL ?? 'http://127.0.0.1:8080', jwtSecret }).listen(port, '127.0.0.1', () =>
    console.log(`host page on http://127.0.0.1:${port}`),
  );
}
