import type { JobScope } from '../auth/token-verifier';
import { permissionDenied, type MlflowError } from './errors';
import type { RequestInput } from './request-fields';

/**
 * What a training job's token may do in MLflow's API: read and log to its
 * own run, upload that run's artifacts, and register its project's model
 * from that run — the calls a training script makes. Any other endpoint, or
 * a field naming another run, experiment or model, is refused with 403
 * PERMISSION_DENIED (jobs/job-tokens.ts has the rest of a job's reach).
 */
const RUN_CALLS = new Set([
  '/runs/get',
  '/runs/update',
  '/runs/log-metric',
  '/runs/log-parameter',
  '/runs/set-tag',
  '/runs/delete-tag',
  '/runs/log-batch',
  '/runs/log-model',
  '/runs/log-inputs',
  '/metrics/get-history',
  '/artifacts/list'
]);
const MODEL_CALLS = new Set([
  '/registered-models/create',
  '/registered-models/get',
  '/model-versions/create',
  '/model-versions/get'
]);

/** Refuses a job's MLflow call (`endpoint` as `/runs/log-batch`) beyond its run and model. */
export function checkJobCall(
  job: JobScope,
  endpoint: string,
  input: RequestInput
): void {
  const runIds = ['run_id', 'run_uuid']
    .map(field => input[field])
    .filter(value => value !== undefined);
  if (RUN_CALLS.has(endpoint)) {
    if (runIds.length === 0 || runIds.some(id => id !== job.runId)) {
      throw outsideJob(job);
    }
    return;
  }
  if (MODEL_CALLS.has(endpoint)) {
    const source = input.source;
    if (
      job.modelName === null ||
      input.name !== job.modelName ||
      runIds.some(id => id !== job.runId) ||
      (source !== undefined && !fromJobRun(job, source))
    ) {
      throw outsideJob(job);
    }
    return;
  }
  throw outsideJob(job);
}

/** Refuses a job's artifact path (`<experiment_id>/<run_id>/…`) outside its run. */
export function checkJobArtifactPath(job: JobScope, path: string): void {
  const segments = path.split('/');
  if (
    segments[0] !== job.experimentId ||
    segments[1] !== job.runId ||
    segments.some(segment => segment === '..' || segment === '.')
  ) {
    throw outsideJob(job);
  }
}

function fromJobRun(job: JobScope, source: unknown): boolean {
  if (typeof source !== 'string') {
    return false;
  }
  const roots = [
    `runs:/${job.runId}`,
    `mlflow-artifacts:/${job.experimentId}/${job.runId}`
  ];
  return roots.some(
    root =>
      (source === root || source.startsWith(`${root}/`)) &&
      !source.split('/').includes('..')
  );
}

function outsideJob(job: JobScope): MlflowError {
  return permissionDenied(
    `This is a training job's token: it can only log to its own run (${job.runId}) and register its project's model from it.`
  );
}
