/**
 * The sidecar called as scripts (and kernels) call it: on its own port,
 * with a user's bearer token. Tests use it to set up what the browser part
 * does not test (accounts, a teammate's upload) and to check what the
 * browser did against the server's own answer.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type RunningLab, waitFor } from '../extensions/app/test/support/lab';

/**
 * German Credit (1,000 rows, 62 columns), the shared test data: where
 * `npm test` found it (`INSIGHTER_TEST_GERMAN_CREDIT`), else `../shared`
 * beside the repository, else the workstation's copy.
 */
export const GERMAN_CREDIT =
  [
    process.env.INSIGHTER_TEST_GERMAN_CREDIT,
    path.resolve(__dirname, '../../shared/data/german_credit.csv'),
    '/work/shared/data/german_credit.csv'
  ].find((file): file is string => !!file && existsSync(file)) ??
  '/work/shared/data/german_credit.csv';

/** The password of every account these tests sign up (letters and digits, ≥ 8). */
export const PASSWORD = 'engine1843';

export interface IAccount {
  email: string;
  fullName: string;
  token: string;
}

export interface ISidecarAnswer<T> {
  status: number;
  body: T;
}

/** Calls the sidecar and returns its status and decoded answer, whatever the status. */
export async function callSidecar<T>(
  lab: RunningLab,
  method: string,
  relative: string,
  headers: Record<string, string> = {},
  body?: BodyInit
): Promise<ISidecarAnswer<T>> {
  const response = await fetch(`http://127.0.0.1:${lab.apiPort}/${relative}`, {
    method,
    headers,
    body
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T
  };
}

/** Calls the sidecar; an answer that is not 2xx fails the test with its body. */
export async function sidecar<T>(
  lab: RunningLab,
  method: string,
  relative: string,
  headers: Record<string, string> = {},
  body?: BodyInit
): Promise<T> {
  const answer = await callSidecar<T>(lab, method, relative, headers, body);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(
      `${method} ${relative} answered ${answer.status}: ${JSON.stringify(answer.body)}`
    );
  }
  return answer.body;
}

/** A confirmed account (the lab runs with INSIGHTER_AUTH_AUTOCONFIRM). */
export async function signUp(
  lab: RunningLab,
  name: string,
  fullName: string
): Promise<IAccount> {
  const { supabase_anon_key: anonKey } = await sidecar<{
    supabase_anon_key: string;
  }>(lab, 'GET', 'api/v1/config');
  const email = `${name}.${Date.now()}@example.com`;
  const session = await sidecar<{ access_token: string }>(
    lab,
    'POST',
    'auth/v1/signup',
    { apikey: anonKey, 'Content-Type': 'application/json' },
    JSON.stringify({
      email,
      password: PASSWORD,
      data: { full_name: fullName }
    })
  );
  return { email, fullName, token: session.access_token };
}

export function bearer(account: IAccount): Record<string, string> {
  return { Authorization: `Bearer ${account.token}` };
}

export interface ICreditProject {
  project: { id: string; slug: string };
  datasetId: string;
}

/** A new project with german_credit uploaded as a script would; resolves once the dataset is ready. */
export async function creditProject(
  lab: RunningLab,
  auth: Record<string, string>,
  name: string
): Promise<ICreditProject> {
  const project = await sidecar<{ id: string; slug: string }>(
    lab,
    'POST',
    'api/v1/projects',
    { ...auth, 'Content-Type': 'application/json' },
    JSON.stringify({ name })
  );
  const dataset = await sidecar<{ id: string }>(
    lab,
    'POST',
    `api/v1/datasets?${new URLSearchParams({ project_id: project.id, name: 'german_credit' })}`,
    { ...auth, 'Content-Type': 'text/csv' },
    readFileSync(GERMAN_CREDIT)
  );
  await waitFor(
    `dataset ${dataset.id} ready`,
    async () => {
      const { status } = await sidecar<{ status: string }>(
        lab,
        'GET',
        `api/v1/datasets/${dataset.id}`,
        auth
      );
      return status === 'ready';
    },
    60_000,
    500
  );
  return { project, datasetId: dataset.id };
}

/** Trains the project's model on german_credit's Class through the jobs API; answers the version it registered. */
export async function trainModel(
  lab: RunningLab,
  auth: Record<string, string>,
  { project, datasetId }: ICreditProject,
  params: Record<string, number>
): Promise<number> {
  const job = await sidecar<{ id: string }>(
    lab,
    'POST',
    'api/v1/jobs',
    { ...auth, 'Content-Type': 'application/json' },
    JSON.stringify({
      kind: 'train',
      project_id: project.id,
      dataset_id: datasetId,
      target: 'Class',
      algorithm: 'xgboost',
      params
    })
  );
  let done!: { status: string; error: string | null; model_version: number | null };
  await waitFor(
    `training job ${job.id}`,
    async () => {
      done = await sidecar(lab, 'GET', `api/v1/jobs/${job.id}`, auth);
      return done.status !== 'queued' && done.status !== 'running';
    },
    180_000,
    500
  );
  if (done.status !== 'succeeded' || done.model_version === null) {
    throw new Error(`Training job ${job.id} ended ${done.status}: ${done.error}`);
  }
  return done.model_version;
}
