#!/usr/bin/env node
import { ConfigError, loadConfig } from './config';
import { Watchdog } from './lifecycle/watchdog';
import { createLogger } from './logger';
import { keepNewFilesPrivate } from './private-data-dir';
import { startSidecar, type RunningSidecar } from './server';

/** How long an orderly stop may take before the process is killed. */
const STOP_DEADLINE_MS = 5000;
/** Signals closer together than this are one stop; a later one ends the process at once. */
const SAME_STOP_WINDOW_MS = 1000;

/** Process entry: config from the environment, a bounded orderly stop on signals or the parent's death. */
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
  let sidecar: RunningSidecar | undefined;
  let stoppingSince: number | undefined;
  const stop = (reason: string) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince >= SAME_STOP_WINDOW_MS) {
        logger.warn({ reason }, 'stopping again: exiting now');
        process.exit(1);
      }
      return;
    }
    stoppingSince = Date.now();
    watchdog.endBy(STOP_DEADLINE_MS);
    logger.info({ reason }, 'shutting down');
    if (!sidecar) {
      process.exit(1); // Still starting: nothing to finish yet.
    }
    sidecar.close().then(
      () => process.exit(0),
      err => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      }
    );
  };
  // Watching from the start: a parent may die while the database opens.
  const watchdog = Watchdog.start(logger, () =>
    stop('the parent process is gone')
  );
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => stop(signal));
  }
  sidecar = await startSidecar(config, logger);
}

main().catch(err => {
  // Errors meant for people (a port in use, a data dir in use) need no stack.
  const known =
    err?.name === 'PortInUseError' || err?.name === 'DataDirLockedError';
  process.stderr.write(
    `Insighter sidecar failed to start: ${known ? err.message : (err?.stack ?? err)}\n`
  );
  process.exit(1);
});
