import express, { type Express, type Request } from 'express';
import { pinoHttp } from 'pino-http';
import type { Auth } from './auth';
import { redactRequest, redactResponse } from './auth/log-redaction';
import type { Config } from './config';
import { allowedHosts, refuseHost } from './http/allowed-hosts';
import { errorHandler, notFound } from './http/errors';
import { carriesProxySecret, forwardingTrust } from './http/forwarded';
import { bearerToken, requireUser } from './http/require-user';
import { jobRequestAllowed } from './jobs/job-tokens';
import type { Logger } from './logger';
import { authRoutes } from './routes/auth';
import { datasetRoutes } from './routes/datasets';
import { deploymentRoutes } from './routes/deployments';
import { healthRoutes } from './routes/health';
import { jobRoutes } from './routes/jobs';
import { trackingRoutes } from './routes/mlflow';
import { projectRoutes } from './routes/projects';
import { storageRoutes } from './routes/storage';
import { teamRoutes } from './routes/teams';
import { routePaths, toolRoutes } from './routes/tools';
import type { DeploymentsService } from './deployments/service';
import type { DatasetsService } from './services/datasets';
import type { JobsService } from './services/jobs';
import type { ProjectsService } from './services/projects';
import { StatusService } from './services/status';
import type { TeamsService } from './services/teams';
import type { StorageService } from './storage/service';
import type { Tracking } from './tracking';
import { loadRegistry, type ToolRegistry } from '@insighter/registry';
import { jsonBody, refuseNulInUrl } from './http/json-body';

export interface AppDeps {
  config: Config;
  logger: Logger;
  status: StatusService;
  auth: Auth;
  /** Omitted: `/api/v1/projects` is not served (e.g. an auth-only test app). */
  projects?: ProjectsService;
  /** Omitted: `/api/v1/teams` is not served. */
  teams?: TeamsService;
  /** Omitted: `/api/v1/datasets` is not served. */
  datasets?: DatasetsService;
  /** Omitted: `/api/v1/jobs` is not served. */
  jobs?: JobsService;
  /**
   * Omitted: `/api/v1/deployments` is not served. (The prediction endpoint
   * is served before this app: see `createDeployments`.)
   */
  deployments?: DeploymentsService;
  /** Omitted: MLflow's `/api/2.0/mlflow` and `/api/2.0/mlflow-artifacts` are not served. */
  tracking?: Tracking;
  /** The embedded Storage; omitted (hosted Supabase, or a test app): `/storage/v1` is not served. */
  storage?: StorageService;
  /** The tool manifest (`INSIGHTER_TOOLS_MANIFEST`); omitted: the bundled one. */
  tools?: ToolRegistry;
}

/** Builds the HTTP app from its dependencies; no I/O happens here. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-* only from the Jupyter proxy (its secret) and configured proxies.
  const forwarding = forwardingTrust({
    proxySecret: deps.config.auth.proxySecret,
    trustedProxies: deps.config.http.trustedProxies
  });
  app.set('trust proxy', forwarding.trustProxy);
  app.use(forwarding.vet);
  app.use(
    pinoHttp({
      logger: deps.logger,
      autoLogging: { ignore: req => req.url === '/health' },
      // Email-link tokens ride in query strings and /verify redirects carry sessions.
      serializers: { req: redactRequest, res: redactResponse }
    })
  );
  const hostAllowed = allowedHosts({ ...deps.config, ...deps.config.http });
  app.use((req, res, next) => {
    // Liveness says nothing and is polled by process managers under any name.
    if (req.path === '/health' || hostAllowed(req)) {
      next();
    } else {
      refuseHost(req, res);
    }
  });
  // Before every API: `%00` in a path or query reaches file names and SQL.
  app.use(refuseNulInUrl);
  const auth = authRoutes(deps.auth, deps.config.auth, deps.logger, {
    configuredPublicUrl: deps.config.configuredPublicUrl,
    proxyUrl: deps.config.proxyUrl
  });
  if (auth.gotrue) {
    // Before the app's JSON parser: GoTrue's own 64 KB body limit and error shape.
    app.use('/auth/v1', auth.gotrue);
  }
  if (deps.storage) {
    // Before the JSON parser too: uploads stream their bodies raw.
    app.use(
      '/storage/v1',
      storageRoutes({
        service: deps.storage,
        verifier: deps.auth.verifier,
        logger: deps.logger
      })
    );
  }
  const authenticate = requireUser(deps.auth.verifier);
  // Training jobs' tokens: their dataset's content and their run's tracking, nothing else.
  const authenticateOrJob = requireUser(deps.auth.verifier, {
    jobs: jobRequestAllowed
  });
  if (deps.datasets) {
    // Before the JSON parser too: uploads stream their bodies raw.
    app.use(datasetRoutes(deps.datasets, authenticateOrJob));
  }
  if (deps.tracking) {
    // Before the JSON parser too: artifact uploads stream raw, whatever their type.
    app.use(trackingRoutes(deps.tracking, authenticateOrJob, deps.logger));
  }
  app.use(jsonBody({ limit: '1mb' }));
  app.use(healthRoutes(deps.status, signedIn(deps)));
  app.use(auth.api);
  if (deps.projects) {
    app.use(projectRoutes(deps.projects, authenticate));
  }
  if (deps.teams) {
    app.use(teamRoutes(deps.teams, authenticate));
  }
  if (deps.jobs) {
    app.use(jobRoutes(deps.jobs, authenticate));
  }
  if (deps.deployments) {
    app.use(deploymentRoutes(deps.deployments, authenticate));
  }
  app.use(
    toolRoutes(
      deps.tools ?? loadRegistry(),
      () => routePaths(app),
      authenticate
    )
  );
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}

/**
 * Whether the caller is someone the service knows: a signed-in user (or the
 * service key), or the Jupyter server's logged-in user through its proxy.
 */
function signedIn(deps: AppDeps): (req: Request) => Promise<boolean> {
  return async req => {
    if (carriesProxySecret(req, deps.config.auth.proxySecret)) {
      return true;
    }
    const token = bearerToken(req);
    const claims = token
      ? await deps.auth.verifier.verify(token).catch(() => undefined)
      : undefined;
    return claims?.role === 'authenticated' || claims?.role === 'service_role';
  };
}
