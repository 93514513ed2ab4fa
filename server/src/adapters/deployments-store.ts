import type { Queryable } from '../db/types';

/**
 * SQL for `public.deployments` and `public.deployment_keys`. Functions taking
 * the caller's transaction run under their claims (`withClaims`: row-level
 * security decides); those marked "as the service" are for the sidecar's own
 * bookkeeping (`asService`), e.g. a worker that became ready or crashed.
 */
export type DeploymentStatus =
  | 'pending'
  | 'starting'
  | 'ready'
  | 'failed'
  | 'stopped';

export type DeploymentRunner = 'process' | 'docker';

export interface DeploymentRow {
  id: string;
  project_id: string;
  /** The project's slug: the endpoint is /api/v1/predict/<slug>. */
  slug: string;
  model_name: string;
  model_version: number;
  status: DeploymentStatus;
  /** `/api/v1/predict/<slug>`. */
  url: string;
  runner: DeploymentRunner;
  runner_ref: string | null;
  error: string | null;
  created_by: string | null;
  /** ISO 8601 in UTC with milliseconds, as `Date.prototype.toJSON` writes it. */
  created_at: string;
  updated_at: string;
  ready_at: string | null;
  stopped_at: string | null;
  /** Predictions per minute each caller may make; null: no limit. */
  rate_limit_per_minute: number | null;
}

export interface NewDeployment {
  project_id: string;
  model_name: string;
  model_version: number;
  url: string;
  runner: DeploymentRunner;
  rate_limit_per_minute: number | null;
}

const DEPLOYMENT_COLUMNS = `
  d.id, d.project_id, p.slug, d.model_name, d.model_version, d.status, d.url,
  d.runner, d.runner_ref, d.error, d.created_by, d.rate_limit_per_minute,
  ${iso('d.created_at')} as created_at, ${iso('d.updated_at')} as updated_at,
  ${iso('d.ready_at')} as ready_at, ${iso('d.stopped_at')} as stopped_at`;

/** Timestamps leave the database as the JSON text the API answers with (see projects-store). */
function iso(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

const FROM = 'public.deployments d join public.projects p on p.id = d.project_id';

/** Newest first; only `projectId`'s when given. */
export async function listDeployments(
  tx: Queryable,
  projectId?: string
): Promise<DeploymentRow[]> {
  const result = await tx.query<DeploymentRow>(
    `select ${DEPLOYMENT_COLUMNS} from ${FROM}
     ${projectId ? 'where d.project_id = $1' : ''}
     order by d.created_at desc, d.id`,
    projectId ? [projectId] : []
  );
  return result.rows;
}

export async function findDeployment(
  tx: Queryable,
  id: string
): Promise<DeploymentRow | undefined> {
  const result = await tx.query<DeploymentRow>(
    `select ${DEPLOYMENT_COLUMNS} from ${FROM} where d.id = $1`,
    [id]
  );
  return result.rows[0];
}

/** As the user: RLS lets only the project's writers insert. */
export async function insertDeployment(
  tx: Queryable,
  deployment: NewDeployment
): Promise<DeploymentRow> {
  const inserted = await tx.query<{ id: string }>(
    `insert into public.deployments (project_id, model_name, model_version, url, runner, rate_limit_per_minute)
     values ($1, $2, $3, $4, $5, $6) returning id`,
    [
      deployment.project_id,
      deployment.model_name,
      deployment.model_version,
      deployment.url,
      deployment.runner,
      deployment.rate_limit_per_minute
    ]
  );
  return (await findDeployment(tx, inserted.rows[0].id)) as DeploymentRow;
}

/** The rate limit of the project's newest deployment (what a new one carries over). */
export async function latestRateLimit(
  tx: Queryable,
  projectId: string
): Promise<number | null> {
  const result = await tx.query<{ rate_limit_per_minute: number | null }>(
    `select rate_limit_per_minute from public.deployments
     where project_id = $1 order by created_at desc, id limit 1`,
    [projectId]
  );
  return result.rows[0]?.rate_limit_per_minute ?? null;
}

/** As the user: false when the deployment is not there or not theirs to change. */
export async function setDeploymentRateLimit(
  tx: Queryable,
  id: string,
  limit: number | null
): Promise<boolean> {
  const result = await tx.query<{ changed: boolean }>(
    'select public.set_deployment_rate_limit($1, $2) as changed',
    [id, limit]
  );
  return result.rows[0]?.changed ?? false;
}

/**
 * As the user: stops it if they may (the project's writers). Undefined when
 * the row is not there, not theirs to stop, or stopped already.
 */
export async function stopDeploymentAsUser(
  tx: Queryable,
  id: string,
  reason: string
): Promise<DeploymentRow | undefined> {
  const result = await tx.query<{ id: string }>(
    `update public.deployments set status = 'stopped', error = $2, stopped_at = now()
     where id = $1 and status <> 'stopped' returning id`,
    [id, reason]
  );
  return result.rows[0] ? findDeployment(tx, id) : undefined;
}

export interface StatusChange {
  status: DeploymentStatus;
  /** `null` clears it; undefined leaves it. */
  error?: string | null;
  runner_ref?: string | null;
}

/**
 * As the service. Only moves a deployment that is not stopped (a stop is
 * final), so a worker reporting late cannot revive a stopped deployment.
 * Undefined when nothing changed.
 */
export async function setDeploymentStatus(
  tx: Queryable,
  id: string,
  change: StatusChange
): Promise<DeploymentRow | undefined> {
  const result = await tx.query<{ id: string }>(
    `update public.deployments set
       status = $2,
       error = case when $3::boolean then $4 else error end,
       runner_ref = case when $5::boolean then $6 else runner_ref end,
       ready_at = case when $2 = 'ready' then coalesce(ready_at, now()) else ready_at end,
       stopped_at = case when $2 = 'stopped' then now() else stopped_at end
     where id = $1 and status <> 'stopped'
     returning id`,
    [
      id,
      change.status,
      change.error !== undefined,
      // The column holds 2,000 characters: a model's long output must not keep its status from changing.
      change.error === undefined || change.error === null ? null : truncate(change.error, MAX_ERROR_CHARS),
      change.runner_ref !== undefined,
      change.runner_ref ?? null
    ]
  );
  return result.rows[0] ? findDeployment(tx, id) : undefined;
}

/** As the service: the deployments a restarted sidecar serves again. */
export async function servingDeployments(
  tx: Queryable
): Promise<DeploymentRow[]> {
  const result = await tx.query<DeploymentRow>(
    `select ${DEPLOYMENT_COLUMNS} from ${FROM}
     where d.status in ('pending', 'starting', 'ready', 'failed') and d.stopped_at is null
     order by d.created_at`
  );
  return result.rows;
}

/** Whether the current user may change the project's contents (RLS helper). */
export async function canWriteProject(
  tx: Queryable,
  projectId: string
): Promise<boolean> {
  const result = await tx.query<{ allowed: boolean }>(
    'select $1::uuid = any (array(select public.writable_project_ids())) as allowed',
    [projectId]
  );
  return result.rows[0]?.allowed ?? false;
}

// API keys

export interface DeploymentKeyRow {
  id: string;
  project_id: string;
  deployment_id: string | null;
  name: string;
  /** The key's first characters (`ink_` and 8 more), to tell keys apart. */
  prefix: string;
  created_by: string | null;
  created_at: string;
  revoked_at: string | null;
}

const KEY_COLUMNS = `
  k.id, k.project_id, k.deployment_id, k.name, k.prefix, k.created_by,
  ${iso('k.created_at')} as created_at, ${iso('k.revoked_at')} as revoked_at`;

export async function insertDeploymentKey(
  tx: Queryable,
  key: {
    project_id: string;
    deployment_id: string;
    name: string;
    prefix: string;
    key_hash: string;
  }
): Promise<DeploymentKeyRow> {
  const inserted = await tx.query<{ id: string }>(
    `insert into public.deployment_keys (project_id, deployment_id, name, prefix, key_hash)
     values ($1, $2, $3, $4, $5) returning id`,
    [key.project_id, key.deployment_id, key.name, key.prefix, key.key_hash]
  );
  const result = await tx.query<DeploymentKeyRow>(
    `select ${KEY_COLUMNS} from public.deployment_keys k where k.id = $1`,
    [inserted.rows[0].id]
  );
  return result.rows[0];
}

/** Oldest first, revoked ones included (they show when they were revoked). */
export async function listDeploymentKeys(
  tx: Queryable,
  projectId: string
): Promise<DeploymentKeyRow[]> {
  const result = await tx.query<DeploymentKeyRow>(
    `select ${KEY_COLUMNS} from public.deployment_keys k
     where k.project_id = $1 order by k.created_at, k.id`,
    [projectId]
  );
  return result.rows;
}

/** Undefined when the key is not there or not the user's to revoke; a revoked key stays as it was. */
export async function revokeDeploymentKey(
  tx: Queryable,
  projectId: string,
  keyId: string
): Promise<DeploymentKeyRow | undefined> {
  await tx.query(
    `update public.deployment_keys set revoked_at = now()
     where id = $1 and project_id = $2 and revoked_at is null`,
    [keyId, projectId]
  );
  const result = await tx.query<DeploymentKeyRow>(
    `select ${KEY_COLUMNS} from public.deployment_keys k where k.id = $1 and k.project_id = $2`,
    [keyId, projectId]
  );
  return result.rows[0];
}

/** As the service: the live key with this hash, if any. */
export async function findLiveKeyByHash(
  tx: Queryable,
  keyHash: string
): Promise<{ id: string; project_id: string; prefix: string } | undefined> {
  const result = await tx.query<{
    id: string;
    project_id: string;
    prefix: string;
  }>(
    `select id, project_id, prefix from public.deployment_keys
     where key_hash = $1 and revoked_at is null`,
    [keyHash]
  );
  return result.rows[0];
}

const MAX_ERROR_CHARS = 2000;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
