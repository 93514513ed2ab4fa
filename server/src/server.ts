import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import type { Config } from './config';
import type { Logger } from './logger';
import { notConfigured, StatusService } from './services/status';
import { VERSION } from './version';

export interface RunningSidecar {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the sidecar: wires adapters and services, listens, and returns a
 * handle whose `close()` drains connections and releases every resource.
 */
export async function startSidecar(
  config: Config,
  logger: Logger
): Promise<RunningSidecar> {
  const status = new StatusService(
    [
      notConfigured('database', 'Not configured yet: accounts and data arrive with the accounts issue.'),
      notConfigured('storage', 'Not configured yet: dataset storage arrives with the data catalog.'),
      notConfigured('jobs', 'Not configured yet: training jobs arrive with experiments.'),
      notConfigured('tracking', 'Not configured yet: MLflow-compatible tracking arrives with experiments.')
    ],
    VERSION
  );
  const app = createApp({ config, logger, status });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  logger.info({ url, dataDir: config.dataDir, version: VERSION }, 'sidecar listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
        force.unref();
      });
    })());
  return { server, url, close };
}
