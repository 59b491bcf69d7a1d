import { randomUUID } from 'node:crypto';
import { ERROR_STATUS } from '@motoreach/protocol';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import { bearerToken, signDevToken, type TokenVerifier } from '../auth.js';
import type { Attachments } from '../attachments/attachments.js';
import { fileRoutes, uploadRoutes } from '../attachments/routes.js';
import { answerFor, ChatError, errorBody } from '../chat/errors.js';
import { devTokenInput, parse } from '../chat/schemas.js';
import type { ChatService } from '../chat/service.js';
import { callerKey, type Identity } from '../chat/types.js';
import type { Config } from '../config.js';
import { pathOf, type Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { KeyedRateLimiter } from '../rate-limit.js';
import type { Tickets } from '../tickets/tickets.js';
import { BodyDeadlines } from './body-deadline.js';
import { corsFor } from './cors.js';
import { apiRoutes } from './routes.js';
import { staticFiles } from './static.js';

export interface HttpDeps {
  config: Config;
  service: ChatService;
  attachments: Attachments;
  verify: TokenVerifier;
  tickets: Tickets;
  rateLimiter: KeyedRateLimiter;
  /** Each user's budget of rooms to open (ROOMS_PER_HOUR). */
  roomLimiter: KeyedRateLimiter;
  logger: Logger;
  isReady: () => boolean;
  /** False while messages accepted here may not reach the other servers' sockets (Redis lost). */
  fanoutHealthy: () => boolean;
  /** With METRICS_PORT: counts the requests refused (401, 429). */
  metrics?: Metrics | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    identity?: Identity;
    id?: string;
  }
}

function sendError(res: Response, error: ChatError): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res.status(ERROR_STATUS[error.code]).json(errorBody(error));
}

export function createApp(deps: HttpDeps): express.Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);

  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const started = performance.now();
    res.on('finish', () => {
      if (res.statusCode === 401) deps.metrics?.refused('auth');
      else if (res.statusCode === 429) deps.metrics?.refused('rate_limited');
      logger.info(
        {
          req_id: req.id,
          method: req.method,
          path: pathOf(req.originalUrl),
          // Who called (`user:<id>`, `workshop:<id>`, `service:<id>`), once the token was verified: never the token.
          principal: req.identity && callerKey(req.identity),
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'http',
      );
    });
    next();
  });
  const bodyDeadlines = new BodyDeadlines(config.limits.requestTimeoutMs);
  app.use(bodyDeadlines.middleware);
  app.use(
    helmet({
      // The demo page's module script and its WebSocket stay on this origin.
      contentSecurityPolicy: { directives: { 'connect-src': ["'self'", 'ws:', 'wss:'] } },
      crossOriginResourcePolicy: { policy: 'cross-origin' },
    }),
  );

  app.get('/healthz', (_req, res) => {
    if (deps.fanoutHealthy()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'degraded', fanout: 'unreachable' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable' });
  });

  const api = express.Router();
  const jsonBody = express.json({ limit: config.limits.maxPayloadBytes, type: () => true });
  if (config.dev) {
    // Its own origin rule, checked before the API's, which in dev mode lets every origin through.
    const dev = express.Router();
    dev.use(corsFor(config.devTokenOrigins));
    dev.post('/', jsonBody, devToken(deps));
    api.use('/dev/token', dev);
  }
  api.use(corsFor(config.allowedOrigins));
  // Signed URLs, for an <img src>: the URL is the permission, no Authorization header comes with it.
  api.use(fileRoutes(deps.attachments));
  // Before the body is read: an anonymous or limited caller is answered without the server buffering its body.
  api.use(authenticate(deps));
  // Raw file bodies, read by the route itself: before the JSON parser, which would take them.
  api.use(uploadRoutes(deps.service, deps.attachments, bodyDeadlines));
  api.use(jsonBody);
  api.use(apiRoutes(deps.service, deps.tickets, { limiter: deps.roomLimiter, roomsPerHour: config.limits.roomsPerHour }));
  api.use((_req, _res, next) => next(new ChatError('not_found', 'no such route')));
  api.use(errorHandler(logger));
  app.use('/api', api);

  if (config.staticDir) app.use(staticFiles(config.staticDir));
  app.use((_req, res) => {
    sendError(res, new ChatError('not_found', 'no such route'));
  });
  return app;
}

function devToken(deps: HttpDeps): RequestHandler {
  return (req, res) => {
    const claims = parse(devTokenInput, req.body ?? {});
    if (claims.role === 'workshop_admin' && !claims.workshop_id) {
      throw new ChatError('invalid', 'workshop_id: required for a workshop_admin');
    }
    res.json({ token: signDevToken(deps.config, claims) });
  };
}

function bodyPending(req: Request): boolean {
  const declared = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  return declared && !req.complete;
}

function authenticate(deps: HttpDeps): RequestHandler {
  return (req, res, next) => {
    const identity = deps.verify(bearerToken(req.get('authorization')));
    if (identity && deps.rateLimiter.take(callerKey(identity))) {
      req.identity = identity;
      next();
      return;
    }
    // The unread rest of a refused body is not worth receiving: the connection ends with the answer.
    if (bodyPending(req)) res.setHeader('Connection', 'close');
    next(
      identity
        ? new ChatError('rate_limited', 'too many requests; slow down')
        : new ChatError('unauthorized', 'a valid bearer token is required'),
    );
  };
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      // A streamed answer failed midway (json-stream.ts): its status is gone, a cut connection tells the client.
      answerFor(error, logger, { req_id: req.id, user: req.identity?.id, path: pathOf(req.originalUrl) });
      res.destroy();
      return;
    }
    if (error instanceof ChatError) {
      sendError(res, error);
      return;
    }
    const status = (error as { status?: number; type?: string }).status;
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') {
      sendError(res, new ChatError('too_large', 'request body is over the size limit'));
    } else if (type === 'entity.parse.failed') {
      sendError(res, new ChatError('invalid', 'request body is not valid JSON'));
    } else if (status !== undefined && status >= 400 && status < 500) {
      sendError(res, new ChatError('invalid', 'malformed request'));
    } else {
      sendError(res, answerFor(error, logger, { req_id: req.id, user: req.identity?.id, path: pathOf(req.originalUrl) }));
    }
  };
}
