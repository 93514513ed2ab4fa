import type { TokenVerifier } from '../auth/token-verifier';
import type { Database } from '../db/types';
import type { EventHub } from '../events/hub';
import type { Logger } from '../logger';
import { ApiKeyResolver } from './api-keys';
import type { ModelSource } from './model-source';
import { processServingRunners, type ServingRunners } from './placement';
import { createPredictHandler, type PredictHandler } from './predict-handler';
import { DeploymentRuntime, type RuntimeOptions } from './runtime';
import { DeploymentsService } from './service';

/**
 * Deployments wired together: the REST service, the prediction endpoint's
 * handler and the runtime that runs the scoring workers.
 */
export interface Deployments {
  service: DeploymentsService;
  /** Serve it before the Express app: `if (!predict(req, res)) app(req, res)`. */
  predict: PredictHandler;
  runtime: DeploymentRuntime;
  /** Starts again the deployments that were serving before the sidecar stopped. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export interface DeploymentsOptions {
  dataDir: string;
  db: Database;
  events: EventHub;
  logger: Logger;
  verifier: TokenVerifier;
  models: ModelSource;
  /**
   * Where the scoring workers run (placement.ts): the jobs' sandboxes;
   * default: bubblewrap processes of its own in <data dir>/deployments.
   */
  runners?: ServingRunners;
  /** Largest prediction request body. */
  maxBodyBytes: number;
  worker?: Partial<RuntimeOptions['worker']>;
  restartDelaysMs?: number[];
  metricsIntervalMs?: number;
}

export const DEFAULT_WORKER_OPTIONS: RuntimeOptions['worker'] = {
  startTimeoutMs: 120_000,
  memoryMb: 2048,
  // Batches of up to 1,000 rows cost the worker little more than one row;
  // one batch at a time, as the worker predicts one at a time.
  batch: { maxRows: 1000, maxInFlight: 1 },
  requestTimeoutMs: 60_000
};

export function createDeployments(options: DeploymentsOptions): Deployments {
  const runners = options.runners ?? processServingRunners(options.dataDir);
  const runtime = new DeploymentRuntime({
    dataDir: options.dataDir,
    runners,
    db: options.db,
    events: options.events,
    logger: options.logger,
    worker: { ...DEFAULT_WORKER_OPTIONS, ...options.worker },
    restartDelaysMs: options.restartDelaysMs,
    metricsIntervalMs: options.metricsIntervalMs
  });
  const keys = new ApiKeyResolver(options.db);
  const service = new DeploymentsService(options.db, runtime, options.models, keys, runners);
  const predict = createPredictHandler({
    runtime,
    verifier: options.verifier,
    db: options.db,
    keys,
    logger: options.logger,
    maxBodyBytes: options.maxBodyBytes
  });
  return {
    service,
    predict,
    runtime,
    restore: () => runtime.restore(),
    close: () => runtime.close()
  };
}
