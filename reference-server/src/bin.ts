#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { backupCommand } from './store/backup.js';
import { type RunningServer, startServer } from './server.js';

async function main(): Promise<void> {
  if (process.argv[2] === 'backup') {
    process.stdout.write(`motoreach-reference-server: ${await backupCommand(process.argv.slice(3), process.env)}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`motoreach-reference-server: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  if (config.dev) logger.warn('development mode: demo tokens at POST /api/dev/token for localhost pages, every origin allowed');
  // Listening before `listening` is logged: a signal sent the moment a supervisor reads that line
  // must not find the process still without a handler (and die of it, exit code lost).
  let signalled: string | null = null;
  let stop = (signal: string) => void (signalled = signal);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const server = await startServer(config, { logger });
  if (config.dev) {
    // The log is JSON for machines; a person trying it out wants the address in plain words.
    process.stderr.write(`\n  MotoReach chat (development mode) is running: open ${server.url}/\n\n`);
  }

  let stopping = false;
  let drained: (() => void) | null = null;
  stop = (signal: string) => {
    if (stopping) {
      // A second signal cuts the drain short (Ctrl-C twice).
      drained?.();
      return;
    }
    stopping = true;
    // The balancer sees /readyz turn 503 and stops sending new clients while the rest still serves.
    server.unready();
    logger.info({ signal, drain_ms: config.shutdownDrainMs }, 'shutting down: draining');
    const draining = new Promise<void>((resolve) => {
      drained = resolve;
      if (config.shutdownDrainMs > 0) setTimeout(resolve, config.shutdownDrainMs);
      else resolve();
    });
    void draining.then(() => closeAll(server, config.shutdownTimeoutMs, logger));
  };
  if (signalled) stop(signalled);
}

/** Stops the server (sockets 1001, accepted writes finished) and exits: 0, or 1 on a failure or after `timeoutMs`. */
function closeAll(server: RunningServer, timeoutMs: number, logger: Logger): void {
  const force = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, timeoutMs);
  force.unref();
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`motoreach-reference-server: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`motoreach-reference-server: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
