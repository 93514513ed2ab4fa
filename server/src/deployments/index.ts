import path from 'node:path';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Database } from '../db/types';
import type { EventHub } from '../events/hub';
import { ProcessRunner } from '../jobs/process-runner';
import type { JobRunner } from '../jobs/runner';
import { TRAINING_PYTHON_DIR } from '../jobs/training-package';
import type { Logger } from '../logger';
import { ApiKeyResolver } from './api-keys';
import type { ModelSource } from './model-source';
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
   * Runs the scoring workers: the jobs' process runner (Docker needs the
   * model folder mounted, which job specs cannot ask for yet); default: one
   * of its own in <data dir>/deployments.
   */
  runner?: JobRunner;
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
  const runner =
    options.runner ??
    new ProcessRunner({
      workDir: path.join(options.dataDir, 'deployments'),
      pythonPath: TRAINING_PYTHON_DIR
    });
  const runtime = new DeploymentRuntime({
    dataDir: options.dataDir,
    runner,
    db: options.db,
    events: options.events,
    logger: options.logger,
    worker: { ...DEFAULT_WORKER_OPTIONS, ...options.worker },
    restartDelaysMs: options.restartDelaysMs,
    metricsIntervalMs: options.metricsIntervalMs
  });
  const keys = new ApiKeyResolver(options.db);
  const service = new DeploymentsService(options.db, runtime, options.models, keys, runner.kind);
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
