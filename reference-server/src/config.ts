import { createPublicKey, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import proxyaddr from 'proxy-addr';
import { MAX_DATA_BYTES } from './chat/schemas.js';

export type JwtKey = { algorithm: 'HS256'; secret: string } | { algorithm: 'RS256'; publicKey: string };

export interface TokenClaims {
  audience: string | null;
  issuer: string | null;
}

export interface Limits {
  /** Message body, in Unicode code points after trimming. */
  maxBodyChars: number;
  maxTitleChars: number;
  /** REST request bodies and WebSocket frames. */
  maxPayloadBytes: number;
  /** Frames per second per socket (burst: twice that); 0 turns the limit off. */
  wsRateLimit: number;
  /** Frames per second per user over all their sockets (burst: twice that); 0 turns it off. */
  wsUserRateLimit: number;
  /** Refused frames within `wsFloodWindowMs` that close a socket with 1008; refusals spread wider never do. */
  wsFloodStrikes: number;
  wsFloodWindowMs: number;
  /** Open WebSockets per caller (both paths together); the one over it is closed with 4429. */
  wsMaxSocketsPerUser: number;
  /** WebSocket upgrade requests per minute per client address (burst: the same number), refused with HTTP 429 beyond; 0 turns it off. */
  wsHandshakesPerIp: number;
  /** WebSockets opened per minute per caller (burst: the same number), closed with 4429 beyond; 0 turns it off. */
  wsHandshakesPerUser: number;
  /** How long a socket the server closes waits for the peer's half of the closing handshake before it is cut. */
  closeTimeoutMs: number;
  /** REST requests per minute per user; 0 turns the limit off. */
  httpRateLimit: number;
  /** Rooms a user may open per hour (burst: as many); 0 turns the limit off. */
  roomsPerHour: number;
  /** Time to receive a whole HTTP request, headers and body, before it is cut with 408. */
  requestTimeoutMs: number;
  /** Bytes a socket may have waiting to be sent before it is dropped as a slow consumer. */
  maxSendBufferBytes: number;
  heartbeatMs: number;
  /**
   * How long a room socket holds messages that arrived ahead of a missing seq
   * (servers sharing Redis publish concurrent sends in commit-return order)
   * before it is closed with 1012 to resynchronise.
   */
  seqGapMs: number;
  /**
   * After a read, the reader's side gets a fresh `unread` snapshot at once; reads
   * within this window after it share one more snapshot at its end, so a burst
   * of reads costs two snapshots (each one a query over every room with unread),
   * not one per read.
   */
  unreadSnapshotWindowMs: number;
  /** An upload's most bytes; a bigger one is refused with 413 before its body is read. */
  attachmentMaxBytes: number;
  /** How long an attachment's signed URL works, in seconds. */
  attachmentUrlTtlS: number;
  /** Uploads per hour per caller (burst: as many); 0 turns the limit off. */
  attachmentUploadsPerHour: number;
  /** Bytes a caller may upload per 24 hours, counted from the stored uploads; 0 turns the budget off. */
  attachmentBytesPerDay: number;
}

/** Where events go (webhooks/); the secrets are `whsec_` and base64. */
export interface WebhookConfig {
  url: URL;
  secret: string;
  /** The secret being rotated out: while set, every request carries a signature of each. */
  previousSecret: string | null;
  /** Loopback, private and link-local receivers are allowed (tests, internal networks). */
  allowPrivate: boolean;
  /** Seconds a side's unread waits, unread, before a `room.unread_reminder`. */
  unreadAfterS: number;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  jwt: JwtKey;
  /**
   * What the servers of one deployment derive their shared keys from (WebSocket tickets, events in
   * Redis), the same on every server: CLUSTER_SECRET, else the HS256 secret, else (RS256, one
   * server) a random one of this process.
   */
  clusterSecret: string;
  /** Claims a token must carry when set: `aud` (one of its audiences) and `iss`. */
  tokenClaims: TokenClaims;
  /**
   * What demo tokens are signed with in development mode: a secret of their
   * own (see devSecret), so they are never valid wherever the configured key
   * is trusted. Null outside development mode.
   */
  devJwt: JwtKey | null;
  mongodbUri: string | null;
  /** Fan-out between servers over Redis; null: in-process (one server). */
  redisUrl: string | null;
  /** Proxies whose X-Forwarded-For names the client (Express's `trust proxy` list: addresses, CIDRs, `loopback`...). */
  trustProxy: string[];
  /** `'*'` allows every origin (development mode only, unless set explicitly). */
  allowedOrigins: string[] | '*';
  /**
   * Origins that may mint demo tokens in development mode: the explicit
   * `allowedOrigins` when given, else only pages served from this machine.
   */
  devTokenOrigins: string[] | '*' | 'localhost';
  dev: boolean;
  staticDir: string | null;
  sqliteSynchronous: 'full' | 'normal';
  logLevel: string;
  shutdownTimeoutMs: number;
  /** After SIGTERM, how long /readyz answers 503 while everything else keeps serving, before the stop begins. */
  shutdownDrainMs: number;
  /** Prometheus metrics on their own listener on `host`; null: off, and nothing is measured. */
  metricsPort: number | null;
  limits: Limits;
  /** null: WEBHOOK_URL is not set, no event is recorded. */
  webhook: WebhookConfig | null;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyChars: 4000,
  maxTitleChars: 200,
  maxPayloadBytes: 64 * 1024,
  wsRateLimit: 20,
  wsUserRateLimit: 50,
  wsFloodStrikes: 20,
  wsFloodWindowMs: 10_000,
  wsMaxSocketsPerUser: 50,
  wsHandshakesPerIp: 600,
  wsHandshakesPerUser: 120,
  closeTimeoutMs: 1000,
  httpRateLimit: 600,
  roomsPerHour: 60,
  requestTimeoutMs: 10_000,
  maxSendBufferBytes: 4 * 1024 * 1024,
  heartbeatMs: 30_000,
  seqGapMs: 3000,
  unreadSnapshotWindowMs: 100,
  attachmentMaxBytes: 10 * 1024 * 1024,
  attachmentUrlTtlS: 3600,
  attachmentUploadsPerHour: 120,
  attachmentBytesPerDay: 200 * 1024 * 1024,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Every setting: its flag, its environment variable. Flags win over the environment. */
const SETTINGS = {
  port: 'PORT',
  host: 'HOST',
  'data-dir': 'DATA_DIR',
  'jwt-secret': 'JWT_SECRET',
  'jwt-public-key': 'JWT_PUBLIC_KEY',
  'cluster-secret': 'CLUSTER_SECRET',
  'jwt-audience': 'JWT_AUDIENCE',
  'jwt-issuer': 'JWT_ISSUER',
  'mongodb-uri': 'MONGODB_URI',
  'redis-url': 'REDIS_URL',
  'trust-proxy': 'TRUST_PROXY',
  'allowed-origins': 'ALLOWED_ORIGINS',
  'static-dir': 'STATIC_DIR',
  'sqlite-synchronous': 'SQLITE_SYNCHRONOUS',
  'log-level': 'LOG_LEVEL',
  'max-body-chars': 'MAX_BODY_CHARS',
  'ws-rate-limit': 'WS_RATE_LIMIT',
  'ws-user-rate-limit': 'WS_USER_RATE_LIMIT',
  'ws-sockets-per-user': 'WS_SOCKETS_PER_USER',
  'ws-handshakes-per-ip': 'WS_HANDSHAKES_PER_IP',
  'ws-handshakes-per-user': 'WS_HANDSHAKES_PER_USER',
  'http-rate-limit': 'HTTP_RATE_LIMIT',
  'rooms-per-hour': 'ROOMS_PER_HOUR',
  'request-timeout-ms': 'REQUEST_TIMEOUT_MS',
  'heartbeat-ms': 'HEARTBEAT_MS',
  'webhook-url': 'WEBHOOK_URL',
  'webhook-secret': 'WEBHOOK_SECRET',
  'webhook-secret-previous': 'WEBHOOK_SECRET_PREVIOUS',
  'webhook-allow-private': 'WEBHOOK_ALLOW_PRIVATE',
  'webhook-unread-after': 'WEBHOOK_UNREAD_AFTER',
  'shutdown-drain-ms': 'SHUTDOWN_DRAIN_MS',
  'metrics-port': 'METRICS_PORT',
  'attachment-max-bytes': 'ATTACHMENT_MAX_BYTES',
  'attachment-url-ttl': 'ATTACHMENT_URL_TTL',
  'attachment-uploads-per-hour': 'ATTACHMENT_UPLOADS_PER_HOUR',
  'attachment-bytes-per-day': 'ATTACHMENT_BYTES_PER_DAY',
} as const;

type Setting = keyof typeof SETTINGS;

export const USAGE = `Usage: motoreach-reference-server [--dev] [--port N] [--host H] [--data-dir DIR] ...
       motoreach-reference-server backup <file> [--data-dir DIR]   (a copy of the SQLite database, while the server runs)

Every flag has an environment variable (flags win):
${Object.entries(SETTINGS)
  .map(([flag, env]) => `  --${flag.padEnd(20)} ${env}`)
  .join('\n')}
  --dev                  MOTOREACH_DEV=1  development mode, on a loopback host only: demo token route (for localhost pages), any origin
`;

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function publicKeyFrom(raw: string): string {
  const pem = raw.includes('-----BEGIN') ? raw : readFileSync(raw, 'utf8');
  try {
    createPublicKey(pem);
  } catch {
    throw new ConfigError('JWT_PUBLIC_KEY is not a PEM public key (give the key itself or the path of a PEM file)');
  }
  return pem;
}

function origins(raw: string): string[] | '*' {
  if (raw.trim() === '*') return '*';
  return raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new ConfigError(`ALLOWED_ORIGINS: "${o}" is not an origin such as https://app.example.com`);
      }
      if (url.origin !== o.replace(/\/$/, '')) {
        throw new ConfigError(`ALLOWED_ORIGINS: "${o}" must be an origin only (scheme, host, port), not a URL with a path`);
      }
      return url.origin;
    });
}

/** Builds a validated configuration from command-line arguments and the environment. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(SETTINGS).map((flag) => [flag, { type: 'string' as const }])),
        dev: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (parsed.values.help) throw new ConfigError(USAGE);
  const value = (setting: Setting): string | undefined => {
    const flag = (parsed.values as Record<string, string | boolean | undefined>)[setting];
    const raw = typeof flag === 'string' ? flag : env[SETTINGS[setting]];
    return raw === undefined || raw === '' ? undefined : raw;
  };

  const limit = (setting: Setting, min: number, max: number): number | undefined => {
    const raw = value(setting);
    return raw === undefined ? undefined : integer(SETTINGS[setting], raw, min, max);
  };
  const limits: Partial<Limits> = {};
  const setLimit = (key: keyof Limits, setting: Setting, min: number, max: number) => {
    const n = limit(setting, min, max);
    if (n !== undefined) limits[key] = n;
  };
  setLimit('maxBodyChars', 'max-body-chars', 1, 16_000);
  setLimit('wsRateLimit', 'ws-rate-limit', 0, 1_000_000);
  setLimit('wsUserRateLimit', 'ws-user-rate-limit', 0, 1_000_000);
  setLimit('wsMaxSocketsPerUser', 'ws-sockets-per-user', 1, 100_000);
  setLimit('wsHandshakesPerIp', 'ws-handshakes-per-ip', 0, 1_000_000);
  setLimit('wsHandshakesPerUser', 'ws-handshakes-per-user', 0, 1_000_000);
  setLimit('httpRateLimit', 'http-rate-limit', 0, 10_000_000);
  setLimit('roomsPerHour', 'rooms-per-hour', 0, 10_000_000);
  setLimit('requestTimeoutMs', 'request-timeout-ms', 100, 600_000);
  setLimit('heartbeatMs', 'heartbeat-ms', 100, 3_600_000);
  setLimit('attachmentMaxBytes', 'attachment-max-bytes', 1, 1024 * 1024 * 1024);
  setLimit('attachmentUrlTtlS', 'attachment-url-ttl', 10, 7 * 24 * 3600);
  setLimit('attachmentUploadsPerHour', 'attachment-uploads-per-hour', 0, 10_000_000);
  setLimit('attachmentBytesPerDay', 'attachment-bytes-per-day', 0, Number.MAX_SAFE_INTEGER);
  const synchronous = value('sqlite-synchronous');
  if (synchronous !== undefined && synchronous !== 'full' && synchronous !== 'normal') {
    throw new ConfigError(`SQLITE_SYNCHRONOUS must be "full" or "normal", got "${synchronous}"`);
  }
  const publicKey = value('jwt-public-key');
  // DEV is a name other programs set too: it once turned development mode on, and now stops the start rather than meaning nothing.
  if (env.DEV === '1' || env.DEV === 'true') {
    throw new ConfigError('DEV is no longer read: development mode is --dev or MOTOREACH_DEV=1 (and unset DEV)');
  }
  const allowPrivate = value('webhook-allow-private');
  if (allowPrivate !== undefined && allowPrivate !== '0' && allowPrivate !== '1') {
    throw new ConfigError(`WEBHOOK_ALLOW_PRIVATE must be 1 or 0, got "${allowPrivate}"`);
  }
  const rawOrigins = value('allowed-origins');
  const rawTrustProxy = value('trust-proxy');
  return resolveConfig({
    port: limit('port', 0, 65535) ?? 8080,
    host: value('host'),
    dataDir: value('data-dir'),
    jwtSecret: value('jwt-secret'),
    jwtPublicKey: publicKey === undefined ? undefined : publicKeyFrom(publicKey),
    clusterSecret: value('cluster-secret'),
    jwtAudience: value('jwt-audience'),
    jwtIssuer: value('jwt-issuer'),
    mongodbUri: value('mongodb-uri'),
    redisUrl: value('redis-url'),
    trustProxy: rawTrustProxy === undefined ? undefined : rawTrustProxy.split(',').map((p) => p.trim()).filter(Boolean),
    allowedOrigins: rawOrigins === undefined ? undefined : origins(rawOrigins),
    dev: parsed.values.dev === true || env.MOTOREACH_DEV === '1' || env.MOTOREACH_DEV === 'true',
    staticDir: value('static-dir'),
    sqliteSynchronous: synchronous,
    logLevel: value('log-level'),
    limits,
    webhookUrl: value('webhook-url'),
    webhookSecret: value('webhook-secret'),
    webhookSecretPrevious: value('webhook-secret-previous'),
    webhookAllowPrivate: allowPrivate === '1',
    webhookUnreadAfter: limit('webhook-unread-after', 60, 7 * 24 * 3600),
    shutdownDrainMs: limit('shutdown-drain-ms', 0, 600_000),
    metricsPort: limit('metrics-port', 0, 65535),
  });
}

/** What a program embedding the server (or a test) gives; everything else has a default. */
export interface ServerOptions {
  port?: number;
  host?: string | undefined;
  dataDir?: string | undefined;
  jwtSecret?: string | undefined;
  /** PEM text of the RS256 public key. */
  jwtPublicKey?: string | undefined;
  /** 32+ characters, the same on every server: keys tickets and events in Redis; needed with an RS256 key and several servers. */
  clusterSecret?: string | undefined;
  /** A token must name this audience in `aud`. */
  jwtAudience?: string | undefined;
  /** A token must name this issuer in `iss`. */
  jwtIssuer?: string | undefined;
  mongodbUri?: string | undefined;
  redisUrl?: string | undefined;
  /** Default: `['loopback']`. */
  trustProxy?: string[] | undefined;
  allowedOrigins?: string[] | '*' | undefined;
  dev?: boolean;
  staticDir?: string | undefined;
  sqliteSynchronous?: 'full' | 'normal' | undefined;
  logLevel?: string | undefined;
  shutdownTimeoutMs?: number;
  /** Default 5000; 0 starts the stop at once. */
  shutdownDrainMs?: number | undefined;
  /** Serve /metrics on this port (0: a free one); unset: metrics off. */
  metricsPort?: number | undefined;
  limits?: Partial<Limits>;
  /** An http(s) URL; events are recorded and delivered only when it is set. */
  webhookUrl?: string | undefined;
  /** `whsec_` and the base64 of 24 to 64 random bytes; required with webhookUrl. */
  webhookSecret?: string | undefined;
  /** The secret being rotated out, signed with too while set. */
  webhookSecretPrevious?: string | undefined;
  webhookAllowPrivate?: boolean;
  /** Seconds; default 300. */
  webhookUnreadAfter?: number | undefined;
}

function webhookSecret(name: string, raw: string): string {
  const key = raw.startsWith('whsec_') ? raw.slice('whsec_'.length) : null;
  const bytes = key !== null && /^[A-Za-z0-9+/]+={0,2}$/.test(key) ? Buffer.from(key, 'base64').length : 0;
  if (bytes < 24 || bytes > 64) {
    throw new ConfigError(
      `${name} must be "whsec_" followed by the base64 of 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))`,
    );
  }
  return raw;
}

function webhookConfig(options: ServerOptions): WebhookConfig | null {
  const { webhookUrl, webhookSecret: secret, webhookSecretPrevious: previous } = options;
  if (webhookUrl === undefined) {
    if (secret !== undefined || previous !== undefined) throw new ConfigError('WEBHOOK_SECRET is set but WEBHOOK_URL is not: set both, or neither');
    return null;
  }
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new ConfigError(`WEBHOOK_URL is not a URL: "${webhookUrl}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`WEBHOOK_URL must be an http or https URL, got ${url.protocol}`);
  if (url.username || url.password) throw new ConfigError('WEBHOOK_URL must not hold credentials: the signature proves the sender');
  if (secret === undefined) throw new ConfigError('WEBHOOK_URL needs WEBHOOK_SECRET: whsec_ followed by the base64 of 24 to 64 random bytes');
  return {
    url,
    secret: webhookSecret('WEBHOOK_SECRET', secret),
    previousSecret: previous === undefined ? null : webhookSecret('WEBHOOK_SECRET_PREVIOUS', previous),
    allowPrivate: options.webhookAllowPrivate === true,
    unreadAfterS: options.webhookUnreadAfter ?? 300,
  };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  const v4 = host.replace(/^::ffff:/i, '');
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The path with symlinks resolved, for a path that may not exist yet: its nearest existing ancestor resolved. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}

function isWithin(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Setups that start but expose what they should not: refused in one line. */
function refuseUnsafe(config: Config): void {
  if (config.dev && !isLoopback(config.host)) {
    throw new ConfigError(
      `development mode mints tokens for anyone who reaches it: HOST ${config.host} is not a loopback address (leave HOST unset, or use 127.0.0.1, ::1 or localhost)`,
    );
  }
  if (config.staticDir && !config.mongodbUri) {
    const data = realPath(config.dataDir);
    const site = realPath(config.staticDir);
    if (isWithin(data, site)) {
      throw new ConfigError(
        `DATA_DIR ${config.dataDir} is inside STATIC_DIR ${config.staticDir}${data === config.dataDir && site === config.staticDir ? '' : ` (as real paths: ${data} in ${site})`}: the database would be downloadable; move DATA_DIR out of it`,
      );
    }
  }
}

/**
 * The secret demo tokens are signed with: derived from JWT_SECRET when there
 * is one (so that demo tokens outlive a restart with the same secret, and no
 * server trusting JWT_SECRET takes them), else random.
 */
function devSecret(jwtSecret: string | undefined): string {
  const key = jwtSecret ? Buffer.from(hkdfSync('sha256', jwtSecret, '', 'motoreach-chat demo tokens', 32)) : randomBytes(32);
  return key.toString('hex');
}

/**
 * The largest frame or REST body a valid message may need: each character of its body escaped by
 * JSON (a control character as `\u0001`: 6 bytes; no character takes more), its data, and 8 KiB
 * for the rest (type, client_id, attachment ids). A MAX_BODY_CHARS above about 9,000 needs more
 * than the 64 KiB default, which then grows to it: a message the server accepts by its length must
 * never be cut as a frame too big (close 1009) on every retry.
 */
export function payloadBytesFor(maxBodyChars: number): number {
  return maxBodyChars * 6 + MAX_DATA_BYTES + 8192;
}

function withRoomForBodies(limits: Limits): Limits {
  return { ...limits, maxPayloadBytes: Math.max(limits.maxPayloadBytes, payloadBytesFor(limits.maxBodyChars)) };
}

export function resolveConfig(options: ServerOptions): Config {
  const dev = options.dev === true;
  const { jwtSecret: secret, jwtPublicKey: publicKey } = options;
  const devJwt: JwtKey | null = dev ? { algorithm: 'HS256', secret: devSecret(secret) } : null;
  let jwt: JwtKey;
  if (secret && publicKey) throw new ConfigError('set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256), not both');
  if (publicKey) jwt = { algorithm: 'RS256', publicKey };
  else if (secret) {
    if (!dev && secret.length < 32) throw new ConfigError('JWT_SECRET must be at least 32 characters');
    jwt = { algorithm: 'HS256', secret };
  } else if (devJwt) jwt = devJwt;
  else {
    throw new ConfigError(
      'no JWT key: set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256), or start with --dev to try it with demo tokens',
    );
  }
  const { clusterSecret } = options;
  if (clusterSecret !== undefined && clusterSecret.length < 32) throw new ConfigError('CLUSTER_SECRET must be at least 32 characters');
  if (jwt.algorithm === 'RS256' && options.redisUrl && !clusterSecret) {
    throw new ConfigError(
      'REDIS_URL with JWT_PUBLIC_KEY (RS256) needs CLUSTER_SECRET: a secret of 32+ characters, the same on every server, that keys their WebSocket tickets and their events in Redis',
    );
  }
  const trustProxy = options.trustProxy ?? ['loopback'];
  try {
    proxyaddr.compile(trustProxy);
  } catch (error) {
    throw new ConfigError(`TRUST_PROXY: ${(error as Error).message} (give addresses, CIDRs, loopback, linklocal or uniquelocal, comma-separated)`);
  }
  const config: Config = {
    port: options.port ?? 8080,
    host: options.host ?? (dev ? '127.0.0.1' : '0.0.0.0'),
    dataDir: resolve(options.dataDir ?? './data'),
    jwt,
    clusterSecret: clusterSecret ?? (jwt.algorithm === 'HS256' ? jwt.secret : randomBytes(32).toString('hex')),
    tokenClaims: { audience: options.jwtAudience ?? null, issuer: options.jwtIssuer ?? null },
    devJwt,
    mongodbUri: options.mongodbUri ?? null,
    redisUrl: options.redisUrl ?? null,
    trustProxy,
    allowedOrigins: options.allowedOrigins ?? (dev ? '*' : []),
    devTokenOrigins: options.allowedOrigins ?? 'localhost',
    dev,
    staticDir: options.staticDir ? resolve(options.staticDir) : null,
    sqliteSynchronous: options.sqliteSynchronous ?? 'full',
    logLevel: options.logLevel ?? 'info',
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 10_000,
    shutdownDrainMs: options.shutdownDrainMs ?? 5000,
    metricsPort: options.metricsPort ?? null,
    limits: withRoomForBodies({ ...DEFAULT_LIMITS, ...options.limits }),
    webhook: webhookConfig(options),
  };
  refuseUnsafe(config);
  return config;
}
