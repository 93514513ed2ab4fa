import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { DATASETS_BUCKET, DatasetFiles } from './adapters/dataset-files';
import { databaseNow } from './adapters/datasets-store';
import { createApp } from './app';
import { allowedHosts } from './http/allowed-hosts';
import { createAuth } from './auth';
import { issuerAt } from './auth/access-tokens';
import { loadJwtKeys } from './auth/keys';
import type { Config } from './config';
import { databaseHealthCheck } from './db/health';
import { databaseTarget, openDatabase } from './db/open';
import { EventHub } from './events/hub';
import { JobChannels } from './jobs/job-channel';
import { JobTokens } from './jobs/job-tokens';
import { JobRunners } from './jobs/runners';
import { loadWorkerId } from './jobs/worker-id';
import { attachEventStream } from './events/stream';
import type { Logger } from './logger';
import { DatasetsService } from './services/datasets';
import { JobsService } from './services/jobs';
import { ProjectsService } from './services/projects';
import { notConfigured, StatusService } from './services/status';
import { createEmbeddedStorage, type EmbeddedStorage } from './storage';
import { TeamsService } from './services/teams';
import { createTracking } from './tracking';
import { createDeployments } from './deployments';
import { jobServingRunners } from './deployments/placement';
import { ExternalRegistryModelSource, RegistryModelSource } from './deployments/registry-models';
import { makePrivate } from './private-data-dir';
import { loadRegistry } from '@insighter/registry';
import { VERSION } from './version';

/** The sidecar's port is taken: named with the variable that moves it. */
export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number
  ) {
    super(
      `Port ${port} on ${host} is in use by another program: stop it, or set INSIGHTER_API_PORT to a free port.`
    );
    this.name = 'PortInUseError';
  }
}

export interface RunningSidecar {
  server: http.Server;
  /** The Express app behind `server` (its routes: `routePaths`). */
  app: Express;
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
  // A bad manifest stops the start with a message naming the bad entry.
  const tools = loadRegistry(config.toolsManifest);
  // Data dirs of earlier versions (and files copied in) had group and other bits.
  await makePrivate(config.dataDir, logger);
  const { db } = await openDatabase(databaseTarget(config), { logger });
  // Links in mail and tokens' issuer; it names the real port once listening (tests use port 0).
  let linkUrl = config.linkUrl;
  const auth = await createAuth({
    config: config.auth,
    dataDir: config.dataDir,
    publicUrl: () => linkUrl,
    // As configured, not as listening: a token outlives a restart on another port 0.
    issuer: () => issuerAt(config.linkUrl),
    logger,
    db
  }).catch(async err => {
    await db.close();
    throw err;
  });
  // Embedded auth means embedded Storage (objects on disk, signed with the
  // same secret); with a hosted Supabase project its Storage serves instead.
  let storage: EmbeddedStorage | undefined;
  const embeddedKeys =
    auth.mode === 'embedded' ? await loadJwtKeys(config.dataDir) : undefined;
  if (embeddedKeys) {
    storage = await createEmbeddedStorage({
      dataDir: config.dataDir,
      db,
      jwtSecret: embeddedKeys.secret,
      maxObjectBytes: config.storage.maxObjectBytes,
      signedUrlMaxSeconds: config.storage.signedUrlMaxSeconds,
      durable: config.durable,
      logger
    }).catch(async err => {
      await auth.close();
      await db.close();
      throw err;
    });
  }
  const events = new EventHub(logger);
  const tracking = createTracking({
    db,
    events,
    storage: storage?.service,
    external: config.mlflow
  });
  const runners = new JobRunners({
    dataDir: config.dataDir,
    mode: config.jobs.runner,
    dockerHost: config.jobs.dockerHost,
    bwrap: config.jobs.bwrap
  });
  const status = new StatusService(
    [
      databaseHealthCheck(db),
      storage?.health ??
        notConfigured(
          'storage',
          'Supabase Storage of the hosted project serves objects; the sidecar does not check it.'
        ),
      runners.health(),
      tracking.health
    ],
    VERSION
  );
  const projects = new ProjectsService(db, events);
  const teams = new TeamsService(db);
  // Dataset files go through supabase-js: to the sidecar's own /storage/v1
  // (its loopback address, known once listening) or the hosted project's.
  let localUrl = '';
  const hosted = config.auth.hosted;
  const localStore = storage?.store;
  const datasets = new DatasetsService({
    db,
    events,
    files: new DatasetFiles({
      url: () => hosted?.url ?? localUrl,
      anonKey: hosted?.anonKey ?? embeddedKeys!.anonKey,
      serviceRoleKey: hosted?.serviceRoleKey ?? embeddedKeys!.serviceRoleKey,
      localFile: localStore && (key => localStore.objectPath(DATASETS_BUCKET, key))
    }),
    dataDir: config.dataDir,
    maxUploadBytes: config.datasets.maxUploadBytes,
    logger
  });
  await datasets.ingest.prepare();
  // Each job reaches the sidecar through a socket of its own (no network in its sandbox).
  const channels = new JobChannels();
  // Jobs' tokens: their own key, their job's reach, their job's life (jobs/job-tokens.ts).
  const jobTokens = await JobTokens.create({
    db,
    dataDir: config.dataDir,
    ttlSeconds: config.jobs.tokenTtlS
  });
  auth.verifier.acceptJobTokens(jobTokens);
  const jobs = new JobsService({
    db,
    events,
    tracking: tracking.store,
    projects,
    datasets,
    runners,
    tokens: jobTokens,
    channels,
    dataDir: config.dataDir,
    worker: await loadWorkerId(config.dataDir),
    limits: {
      memoryMb: config.jobs.memoryMb,
      cpus: config.jobs.cpus,
      maxMemoryMb: config.jobs.maxMemoryMb,
      maxCpus: config.jobs.maxCpus
    },
    maxRunning: config.jobs.maxRunning,
    logger
  });
  // Models are deployed from the built-in registry (an external MLflow
  // server's artifacts are not fetched yet); workers run in the jobs' sandboxes.
  const deployments = createDeployments({
    dataDir: config.dataDir,
    db,
    events,
    logger,
    verifier: auth.verifier,
    models: tracking.services
      ? new RegistryModelSource(db, tracking.services.registry, tracking.services.artifacts)
      : new ExternalRegistryModelSource(),
    runners: jobServingRunners(runners, config.dataDir),
    maxBodyBytes: config.deployments.maxBodyBytes
  });
  // Uploads this sidecar was receiving when it last stopped started before this.
  const startedAt = await db.asService(databaseNow);
  const app = createApp({
    config,
    logger,
    status,
    auth,
    projects,
    teams,
    datasets,
    jobs,
    tracking,
    deployments: deployments.service,
    storage: storage?.service,
    tools
  });
  channels.serve(app);
  // Predictions are served before Express: the hot path (deployments/predict-handler.ts).
  const hostAllowed = allowedHosts({ ...config, ...config.http });
  const server = http.createServer((req, res) => {
    // A host not allowed goes to the app, which refuses (and logs) it.
    if (!hostAllowed(req) || !deployments.predict(req, res)) {
      app(req, res);
    }
  });
  const eventStream = attachEventStream(server, {
    hub: events,
    db,
    verifier: auth.verifier,
    logger,
    // Streams ended elsewhere (another sidecar, a hosted project) close this soon after.
    sessionCheckMs: Math.max(config.auth.sessionCheckMs, 1000)
  });
  let datasetsSwept: Promise<void> = Promise.resolve();
  // Scoring workers and jobs stop side by side (each within seconds), and
  // while requests in flight drain: a whole stop stays within its bound.
  let workStopped: Promise<void> | undefined;
  const stopWork = () =>
    (workStopped ??= Promise.all([deployments.close(), jobs.close()]).then(
      () => undefined
    ));
  const release = async () => {
    await datasetsSwept;
    await stopWork();
    await eventStream.close();
    await tracking.external?.close();
    await storage?.close();
    await auth.close();
    await db.close();
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async err => {
    await release();
    throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? new PortInUseError(config.host, config.port)
      : err;
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  // A wildcard listen address is not one to connect to.
  localUrl = ['0.0.0.0', '::'].includes(config.host)
    ? `http://127.0.0.1:${port}`
    : url;
  datasetsSwept = datasets.ingest.sweep(startedAt).then(
    result => {
      if (result.versions + result.datasets > 0) {
        logger.info(result, 'datasets: removed unfinished uploads');
      }
    },
    err =>
      logger.warn(
        { err },
        'datasets: the start-up sweep of unfinished uploads failed'
      )
  );
  if (new URL(linkUrl).port === '0') {
    linkUrl = url;
  }
  logger.info({ url, dataDir: config.dataDir, version: VERSION }, 'sidecar listening');
  // Jobs of the sidecar before this one: containers followed again, lost processes failed.
  void jobs.recover().catch(err => logger.error({ err }, 'jobs: could not take back the jobs of the last run'));
  // Deployments that served before the restart serve again.
  void deployments.restore().catch(err => logger.error({ err }, 'deployments: could not start the deployments of the last run'));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // WebSockets count as open connections: end them first, or close() waits for them.
      await eventStream.close();
      await Promise.all([
        new Promise<void>(resolve => {
          server.close(() => resolve());
          server.closeIdleConnections();
          const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
          force.unref();
        }),
        stopWork()
      ]);
      await release();
    })());
  return { server, app, url, close };
}
