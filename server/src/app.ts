import express, { Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Config } from './config';
import { errorHandler, notFound } from './http/errors';
import type { Logger } from './logger';
import { healthRoutes } from './routes/health';
import { StatusService } from './services/status';

export interface AppDeps {
  config: Config;
  logger: Logger;
  status: StatusService;
}

/** Builds the HTTP app from its dependencies; no I/O happens here. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // The Jupyter proxy and reverse proxies in front of hosted sessions set X-Forwarded-*.
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger: deps.logger,
      autoLogging: { ignore: req => req.url === '/health' }
    })
  );
  app.use(express.json({ limit: '1mb' }));
  app.use(healthRoutes(deps.status));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
