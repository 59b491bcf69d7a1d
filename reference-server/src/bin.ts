#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
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
  const server = await startServer(config, { logger });
  if (config.dev) {
    // The log is JSON for machines; a person trying it out wants the address in plain words.
    process.stderr.write(`\n  MotoReach chat (development mode) is running: open ${server.url}/\n\n`);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`motoreach-reference-server: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`motoreach-reference-server: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
