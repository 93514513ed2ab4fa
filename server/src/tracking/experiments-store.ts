import type { Queryable } from '../db/types';
import type { LifecycleStage, MlflowTag } from './tracking-store';
import { deleteTag, upsertTags } from './tags-store';

/**
 * SQL for experiments and their tags, and for the projects they belong to.
 * Every function runs inside the caller's transaction (`withClaims`), so
 * row-level security decides what it sees.
 */
export interface ExperimentRow {
  experiment_id: string;
  project_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  creation_time: number;
  last_update_time: number;
  /** Whether the current user may change it (writes its project). */
  writable: boolean;
}

export interface ProjectAccess {
  id: string;
  slug: string;
  writable: boolean;
}

/** Bigints leave as text (ids) or float8 (milliseconds: exact up to 2^53). */
const EXPERIMENT_COLUMNS = `
  e.experiment_id::text as experiment_id, e.project_id, e.name, e.artifact_location,
  e.lifecycle_stage, e.creation_time::float8 as creation_time,
  e.last_update_time::float8 as last_update_time,
  e.project_id = any (array(select public.writable_project_ids())) as writable`;

/** A project the user can read, by id or slug, and whether they can write it. */
export async function findProjectAccess(
  tx: Queryable,
  by: { id: string } | { slug: string }
): Promise<ProjectAccess | undefined> {
  const [column, value] = 'id' in by ? ['id', by.id] : ['slug', by.slug];
  const { rows } = await tx.query<ProjectAccess>(
    `select p.id, p.slug, p.id = any (array(select public.writable_project_ids())) as writable
     from public.projects p where p.${column} = $1`,
    [value]
  );
  return rows[0];
}

export async function insertExperiment(
  tx: Queryable,
  experiment: { project_id: string; name: string; now: number }
): Promise<ExperimentRow> {
  const { rows } = await tx.query<ExperimentRow>(
    `with e as (
       insert into public.experiments (project_id, name, creation_time, last_update_time)
       values ($1, $2, $3, $3) returning *
     )
     select ${EXPERIMENT_COLUMNS} from e`,
    [experiment.project_id, experiment.name, experiment.now]
  );
  return rows[0];
}

export async function findExperiment(
  tx: Queryable,
  id: string
): Promise<ExperimentRow | undefined> {
  const { rows } = await tx.query<ExperimentRow>(
    `select ${EXPERIMENT_COLUMNS} from public.experiments e where e.experiment_id = $1::bigint`,
    [id]
  );
  return rows[0];
}

export async function findExperimentByName(
  tx: Queryable,
  name: string
): Promise<ExperimentRow | undefined> {
  const { rows } = await tx.query<ExperimentRow>(
    `select ${EXPERIMENT_COLUMNS} from public.experiments e where e.name = $1`,
    [name]
  );
  return rows[0];
}

export async function updateExperiment(
  tx: Queryable,
  id: string,
  changes: { name?: string; lifecycle_stage?: LifecycleStage; now: number }
): Promise<number> {
  const result = await tx.query(
    `update public.experiments
     set name = coalesce($2, name), lifecycle_stage = coalesce($3, lifecycle_stage),
         last_update_time = $4
     where experiment_id = $1::bigint`,
    [id, changes.name ?? null, changes.lifecycle_stage ?? null, changes.now]
  );
  return result.rowCount;
}

/** Sets tags (the last write wins) of one experiment. */
export async function upsertExperimentTags(
  tx: Queryable,
  experiment: { experiment_id: string; project_id: string },
  tags: MlflowTag[]
): Promise<void> {
  await upsertTags(
    tx,
    'experiment',
    experiment.experiment_id,
    experiment.project_id,
    tags
  );
}

export async function deleteExperimentTag(
  tx: Queryable,
  experimentId: string,
  key: string
): Promise<number> {
  return deleteTag(tx, 'experiment', experimentId, key);
}

/** The tags of each experiment, by experiment id. */
export async function experimentTags(
  tx: Queryable,
  ids: string[]
): Promise<Map<string, MlflowTag[]>> {
  const byExperiment = new Map<string, MlflowTag[]>();
  if (ids.length === 0) {
    return byExperiment;
  }
  const { rows } = await tx.query<{
    experiment_id: string;
    key: string;
    value: string;
  }>(
    `select experiment_id::text as experiment_id, key, value from public.experiment_tags
     where experiment_id = any($1::bigint[]) order by key`,
    [ids]
  );
  for (const row of rows) {
    const tags = byExperiment.get(row.experiment_id) ?? [];
    tags.push({ key: row.key, value: row.value });
    byExperiment.set(row.experiment_id, tags);
  }
  return byExperiment;
}

/** One page of experiments matching `where` (SQL on alias `e`, built by the search). */
export async function searchExperiments(
  tx: Queryable,
  query: {
    where: string[];
    orderBy: string[];
    params: unknown[];
    limit: number;
    offset: number;
  }
): Promise<ExperimentRow[]> {
  const { rows } = await tx.query<ExperimentRow>(
    `select ${EXPERIMENT_COLUMNS} from public.experiments e
     ${query.where.length ? `where ${query.where.join(' and ')}` : ''}
     order by ${query.orderBy.join(', ')}
     limit ${query.limit} offset ${query.offset}`,
    query.params
  );
  return rows;
}
