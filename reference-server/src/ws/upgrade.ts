import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { CLOSE } from '@motoreach/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenVerifier } from '../auth.js';
import { callerKey, isParticipant, principalOf, type Identity } from '../chat/types.js';
import type { Config } from '../config.js';
import { isOriginAllowed } from '../http/cors.js';
import { pathOf } from '../logger.js';
import { type Clock, KeyedRateLimiter, monotonicClock } from '../rate-limit.js';
import type { Tickets } from '../tickets/tickets.js';
import { ClientSocket, closeSocket } from './client-socket.js';
import { openChatSocket, openNotificationsSocket, refuse, type SocketDeps } from './handlers.js';
import { readyHistoryOf, type ReadyHistory } from './ready-history.js';
import { HandshakeLimits } from './handshake-limits.js';
import { SocketCap } from './socket-cap.js';

const CHAT_PATH = /^\/ws\/service-chat\/([^/]+)\/?$/;
const NOTIFICATIONS_PATH = /^\/ws\/notifications\/?$/;
/**
 * How often open sockets are checked for an expired token. One sweep over all of them, not a timer
 * each: nothing kept per socket (the expiry is in its identity), and a second's grace at most.
 */
const EXPIRY_SWEEP_MS = 1000;

export interface WebSocketGateway {
  /** Closes every socket with 1001 and stops the heartbeat. */
  close(): Promise<void>;
  readonly connections: number;
  /** Open sockets by path. */
  readonly open: { readonly chat: number; readonly notifications: number };
}

function chatRoomOf(pathname: string): string | null {
  const match = CHAT_PATH.exec(pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1] as string);
  } catch {
    return null;
  }
}

function reject(socket: Duplex, status: number, reason: string, headers = ''): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${headers}Content-Length: 0\r\n\r\n`);
}

/**
 * Both WebSocket paths on the HTTP server's upgrade event. A refused token or
 * room is accepted and then closed with a 44xx code, because browsers only
 * ever see 1006 for a refused upgrade. An address over its handshake rate is
 * the exception: it gets HTTP 429 before anything else is done, since telling
 * it why is not worth an upgrade.
 */
export function attachWebSockets(
  server: Server,
  config: Config,
  verify: TokenVerifier,
  tickets: Tickets,
  deps: SocketDeps,
  clock: Clock = monotonicClock,
): WebSocketGateway {
  const { logger } = deps;
  const metrics = deps.metrics ?? null;
  const open = { chat: 0, notifications: 0 };
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxPayloadBytes, perMessageDeflate: false });
  const sockets = new Set<ClientSocket>();
  const userLimiter = new KeyedRateLimiter(config.limits.wsUserRateLimit, config.limits.wsUserRateLimit * 2, clock);
  const socketCap = new SocketCap(config.limits.wsMaxSocketsPerUser);
  const handshakes = new HandshakeLimits(config, clock);
  const { closeTimeoutMs } = config.limits;
  let closing = false;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closing) {
      // An upgrade on a kept-alive connection during shutdown would open a socket that nothing closes.
      reject(socket, 503, 'Service Unavailable');
      return;
    }
    // Before anything costs: no token verified, no upgrade. A browser sees 1006 and backs off like after any failed connect.
    const limited = handshakes.refuseAddress(req);
    if (limited) {
      logger.debug({ address: limited.address }, 'websocket handshake refused: too many from this address');
      metrics?.refused('rate_limited');
      reject(socket, 429, 'Too Many Requests', `Retry-After: ${limited.retryAfterSeconds}\r\n`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const requestId = chatRoomOf(path);
    if (requestId === null && !NOTIFICATIONS_PATH.test(path)) {
      reject(socket, 404, 'Not Found');
      return;
    }
    if (!isOriginAllowed(config.allowedOrigins, req.headers.origin)) {
      logger.warn({ path: pathOf(req.url), origin: req.headers.origin }, 'websocket origin refused');
      reject(socket, 403, 'Forbidden');
      return;
    }
    // A ticket is checked asynchronously: the server may have begun to close meanwhile.
    const upgrade = (then: (ws: WebSocket) => void) => {
      if (closing) reject(socket, 503, 'Service Unavailable');
      else wss.handleUpgrade(req, socket, head, then);
    };
    const history = requestId !== null ? readyHistoryOf(url.searchParams) : null;
    const ticket = url.searchParams.get('ticket');
    if (ticket === null) {
      const identity = verify(url.searchParams.get('token'));
      upgrade((ws) => accept(ws, socket, identity, requestId, history));
      return;
    }
    tickets.redeem(ticket).then(
      (identity) => upgrade((ws) => accept(ws, socket, identity, requestId, history)),
      (error: unknown) => {
        // Whether the ticket was used cannot be told (Redis is away): "try again later", with a new ticket.
        logger.warn({ path: pathOf(req.url), err: (error as Error).message }, 'websocket ticket not checked');
        upgrade((ws) => closeSocket(ws, CLOSE.tryLater, 'try again later', closeTimeoutMs));
      },
    );
  });

  /**
   * Sets up an upgraded socket. A function of its own, so that the closures a socket keeps for its
   * whole life hold only what they name, not the upgrade's URL: its `pathname` is a slice of the
   * whole URL, token included, and a kept slice keeps all of it (300 bytes a socket, and the token).
   * The request id is a new string (`decodeURIComponent` copies).
   */
  function accept(ws: WebSocket, transport: Duplex, identity: Identity | null, requestId: string | null, history: ReadyHistory): void {
    // Frames that arrive before the socket is set up wait in the kernel, not in a lost event.
    ws.pause();
    if (!identity) {
      metrics?.refused('auth');
      ws.resume();
      closeSocket(ws, CLOSE.unauthorized, 'invalid or expired token or ticket', closeTimeoutMs);
      return;
    }
    // The host's backend calls REST only: it holds no side to chat from nor an inbox to be notified of.
    if (!isParticipant(identity)) {
      ws.resume();
      closeSocket(ws, CLOSE.forbidden, 'a service token is for REST only', closeTimeoutMs);
      return;
    }
    if (!handshakes.admitUser(callerKey(identity))) {
      logger.warn({ request: requestId, user: identity.id, role: identity.role }, 'websocket refused: opened too often by this user');
      metrics?.refused('4429');
      ws.resume();
      closeSocket(ws, CLOSE.tooMany, 'too many connections for this user; retry later', closeTimeoutMs);
      return;
    }
    if (!socketCap.acquire(callerKey(identity))) {
      logger.warn({ request: requestId, user: identity.id, role: identity.role }, 'websocket refused: too many sockets for this user');
      metrics?.refused('4429');
      ws.resume();
      closeSocket(ws, CLOSE.tooMany, 'too many sockets for this user', closeTimeoutMs);
      return;
    }
    const client = new ClientSocket(ws, transport, identity, config.limits, userLimiter, logger, clock, metrics);
    sockets.add(client);
    const kind = requestId === null ? 'notifications' : 'chat';
    open[kind] += 1;
    const principal = isParticipant(identity) ? principalOf(identity) : null;
    if (principal) deps.presence?.opened(principal);
    ws.on('close', (code: number) => {
      sockets.delete(client);
      open[kind] -= 1;
      socketCap.release(callerKey(identity));
      if (principal) deps.presence?.closed(principal);
      logger.debug({ request: requestId, user: identity.id, code }, 'websocket closed');
    });
    ws.on('error', (err: Error) => logger.warn({ request: requestId, user: identity.id, err: err.message }, 'websocket error'));
    logger.debug({ request: requestId, user: identity.id }, 'websocket open');
    const opened = requestId !== null ? openChatSocket(client, requestId, deps, history) : openNotificationsSocket(client, deps);
    opened.catch((error: unknown) => refuse(client, error, logger));
  }

  const heartbeat = setInterval(() => {
    for (const client of sockets) {
      if (!client.alive) {
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }, config.limits.heartbeatMs);
  heartbeat.unref();

  const expiry = setInterval(() => {
    const now = Date.now();
    for (const client of sockets) client.expired(now);
  }, EXPIRY_SWEEP_MS);
  expiry.unref();

  return {
    get connections() {
      return sockets.size;
    },
    open,
    async close() {
      closing = true;
      clearInterval(heartbeat);
      clearInterval(expiry);
      userLimiter.close();
      handshakes.close();
      const closed = [...sockets].map(
        (client) =>
          new Promise<void>((resolve) => {
            client.ws.once('close', () => resolve());
            client.close(CLOSE.goingAway, 'server shutting down');
            // A peer that never answers the closing handshake is cut after a moment.
            setTimeout(() => {
              client.ws.terminate();
              resolve();
            }, 2000).unref();
          }),
      );
      await Promise.all(closed);
      wss.close();
    },
  };
}
