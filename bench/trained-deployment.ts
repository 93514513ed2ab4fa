// The real sidecar (src/main.ts in a child process, embedded PGlite) with a
// model trained the way a user trains one — german_credit uploaded, a
// training job (XGBoost, in the sandbox), the version it registered deployed
// and serving from its safe format — and an API key for its endpoint. For
// the benchmarks that need a deployed model (deployments, load).
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { openDatabase } from '../server/src/db/open';
import { GERMAN_CREDIT } from '../server/test/deployments/harness';
import {
  startSidecarProcess,
  type SidecarProcess
} from '../server/test/support/sidecar-process';
import {
  sidecarApi,
  signUpOnSidecar,
  type SidecarApi,
  type SidecarUser
} from '../server/test/support/sidecar-user';

export interface TrainedDeployment {
  sidecar: SidecarProcess;
  /** The sidecar's URL. */
  base: string;
  /** The model's owner, signed up through supabase-js. */
  owner: SidecarUser;
  /** Calls as the owner. */
  api: SidecarApi;
  project: { id: string; slug: string };
  /** The finished training job (experiment_id, run_id, model_version). */
  job: { experiment_id: string; run_id: string; model_version: number };
  deployment: { id: string; url: string; loader: string; sandbox: string };
  /** An API key of the deployment (`x-api-key`). */
  apiKey: string;
}

/**
 * Starts the sidecar on `work` (its data dir; `env` added to its
 * environment) and brings a model to serving; throws if any step fails or
 * the version is not served from its safe format.
 */
export async function startTrainedDeployment(
  work: string,
  env: Record<string, string> = {}
): Promise<TrainedDeployment> {
  // The first start of an embedded database (initdb, migrations) is slow on a
  // busy machine: done here, so the sidecar's own start is a reopen.
  const { db } = await openDatabase(
    { backend: 'pglite', dataDir: path.join(work, 'db') },
    { logger: pino({ level: 'silent' }) }
  );
  await db.close();
  const sidecar = await startSidecarProcess(work, {
    INSIGHTER_AUTH_AUTOCONFIRM: 'true',
    INSIGHTER_JOBS_RUNNER: 'process',
    ...env
  });
  try {
    const base = sidecar.url;
    const owner = await signUpOnSidecar(base, 'Bench Marker');
    const api = sidecarApi(() => base, owner.token);
    const ok = async (
      step: string,
      answer: Promise<{ status: number; body: any }> // eslint-disable-line @typescript-eslint/no-explicit-any
    ) => {
      const { status, body } = await answer;
      if (status < 200 || status > 299) {
        throw new Error(`${step}: ${status} ${JSON.stringify(body)}`);
      }
      return body;
    };
    const project = await ok(
      'creating the project',
      api('POST', '/api/v1/projects', { name: 'Credit Risk Alpha' })
    );
    const dataset = await ok(
      'uploading german_credit',
      api(
        'POST',
        `/api/v1/datasets?${new URLSearchParams({ project_id: project.id, name: 'german_credit' })}`,
        fs.readFileSync(GERMAN_CREDIT),
        'text/csv'
      )
    );
    let job = await ok(
      'starting the training job',
      api('POST', '/api/v1/jobs', {
        project_id: project.id,
        dataset_id: dataset.id,
        target: 'Class',
        algorithm: 'xgboost',
        params: { n_estimators: 40, max_depth: 3 }
      })
    );
    while (!['succeeded', 'failed', 'cancelled'].includes(job.status)) {
      await sleep(200);
      job = await ok('following the job', api('GET', `/api/v1/jobs/${job.id}`));
    }
    if (job.status !== 'succeeded') {
      throw new Error(`The training job ${job.status}: ${job.error}`);
    }
    const created = await ok(
      'deploying',
      api('POST', '/api/v1/deployments', {
        project_id: project.id,
        version: job.model_version
      })
    );
    let deployment = created;
    while (deployment.status !== 'ready') {
      if (deployment.status === 'failed') {
        throw new Error(`The deployment failed: ${deployment.error}`);
      }
      await sleep(200);
      deployment = await ok(
        'following the deployment',
        api('GET', `/api/v1/deployments/${created.id}`)
      );
    }
    if (deployment.loader !== 'json') {
      throw new Error(
        `The job's version is served with the ${deployment.loader} loader, not from its safe format.`
      );
    }
    const { key } = await ok(
      'making an API key',
      api('POST', `/api/v1/deployments/${created.id}/keys`, { name: 'bench' })
    );
    return {
      sidecar,
      base,
      owner,
      api,
      project,
      job,
      deployment,
      apiKey: key
    };
  } catch (err) {
    sidecar.process.kill('SIGTERM');
    throw err;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
