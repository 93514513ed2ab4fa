#!/usr/bin/env node
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { keepNewFilesPrivate } from './private-data-dir';
import { startSidecar } from './server';

/** Process entry: config from the environment, graceful shutdown on signals. */
async function main(): Promise<void> {
  // Before anything is written: the data dir is this OS user's alone.
  keepNewFilesPrivate();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const sidecar = await startSidecar(config, logger);

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    sidecar.close().then(
      () => process.exit(0),
      err => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      }
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch(err => {
  process.stderr.write(`Insighter sidecar failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
