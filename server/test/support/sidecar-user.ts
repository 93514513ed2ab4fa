import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openDatabase } from '../../src/db/open';
import { GOOD_PASSWORD, makeClient, uniqueEmail } from '../auth/support';

/**
 * Talking to a sidecar in a child process (support/sidecar-process.ts) the
 * way its users do — a sign-up through supabase-js, then the REST API with
 * the session's token — for tests and benchmarks that start, kill and
 * restart the real thing.
 */
export interface SidecarUser {
  id: string;
  email: string;
  password: string;
  token: string;
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One call: a JSON body, or raw bytes with their content type. */
export type SidecarApi = (
  method: string,
  pathname: string,
  body?: unknown,
  contentType?: string
) => Promise<ApiAnswer>;

/**
 * A new data dir whose embedded database starts as the given PGlite
 * snapshot (the test run's migrated one, `pgliteSnapshot('migrated')`), so
 * the child sidecar reopens it instead of running initdb (≈ 5 s); without
 * one, the database is created here.
 */
export async function seededDataDir(
  prefix: string,
  snapshot?: Blob
): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const { db } = await openDatabase(
    {
      backend: 'pglite',
      dataDir: path.join(dataDir, 'db'),
      loadFrom: snapshot
    },
    { logger: pino({ level: 'silent' }) }
  );
  await db.close();
  return dataDir;
}

/** Signs up on a sidecar that confirms new users itself (INSIGHTER_AUTH_AUTOCONFIRM). */
export async function signUpOnSidecar(
  url: string,
  fullName: string
): Promise<SidecarUser> {
  const config = (await (await fetch(`${url}/api/v1/config`)).json()) as {
    supabase_anon_key: string;
  };
  const email = uniqueEmail(fullName.split(' ')[0].toLowerCase());
  const { data, error } = await makeClient(
    url,
    config.supabase_anon_key
  ).auth.signUp({
    email,
    password: GOOD_PASSWORD,
    options: { data: { full_name: fullName } }
  });
  if (error || !data.session || !data.user) {
    throw new Error(`Sign-up failed: ${error?.message ?? 'no session'}`);
  }
  return {
    id: data.user.id,
    email,
    password: GOOD_PASSWORD,
    token: data.session.access_token
  };
}

/** Calls as `token` on whatever URL `baseUrl()` answers (it changes when a restarted sidecar gets another port). */
export function sidecarApi(baseUrl: () => string, token: string): SidecarApi {
  return async (method, pathname, body, contentType) => {
    const raw =
      typeof body === 'string' ||
      Buffer.isBuffer(body) ||
      body instanceof Uint8Array;
    const res = await fetch(`${baseUrl()}${pathname}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined
          ? {}
          : { 'content-type': contentType ?? 'application/json' })
      },
      body:
        body === undefined
          ? undefined
          : raw
            ? (body as string | Uint8Array)
            : JSON.stringify(body)
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: the text as it came.
    }
    return { status: res.status, body: parsed };
  };
}

/** The id of a project's MLflow experiment (named by its slug), made if it has none yet. */
export async function projectExperimentId(
  api: SidecarApi,
  slug: string
): Promise<string> {
  const created = await api('POST', '/api/2.0/mlflow/experiments/create', {
    name: slug
  });
  if (created.status === 200) {
    return created.body.experiment_id as string;
  }
  const found = await api(
    'GET',
    `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(slug)}`
  );
  if (found.status !== 200) {
    throw new Error(
      `No experiment for ${slug}: ${created.status} ${JSON.stringify(created.body)}, then ${found.status} ${JSON.stringify(found.body)}`
    );
  }
  return found.body.experiment.experiment_id as string;
}
