import type { Queryable } from '../db/types';
import { deleteTag, upsertTags } from './tags-store';
import type {
  LifecycleStage,
  MlflowDatasetInput,
  MlflowMetric,
  MlflowParam,
  MlflowRunData,
  MlflowTag,
  RunStatus
} from './tracking-store';

/**
 * SQL for runs and what is logged to them: metrics, params, tags and dataset
 * inputs. Every function runs inside the caller's transaction (`withClaims`),
 * so row-level security decides what it sees and may change.
 */
export interface RunRow {
  id: string;
  experiment_id: string;
  project_id: string;
  name: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
  lifecycle_stage: LifecycleStage;
  artifact_uri: string;
  /** Whether the current user may log to it (writes its project). */
  writable: boolean;
}

export interface RunContents {
  data: MlflowRunData;
  inputs: MlflowDatasetInput[];
}

const RUN_COLUMNS = `
  r.id, r.experiment_id::text as experiment_id, r.project_id, r.name, r.user_id,
  r.status, r.start_time::float8 as start_time, r.end_time::float8 as end_time,
  r.lifecycle_stage, r.artifact_uri,
  r.project_id = any (array(select public.writable_project_ids())) as writable`;

export async function insertRun(
  tx: Queryable,
  run: {
    id: string;
    experiment_id: string;
    project_id: string;
    name: string;
    user_id: string;
    status: RunStatus;
    start_time: number;
  }
): Promise<RunRow> {
  const { rows } = await tx.query<RunRow>(
    `with r as (
       insert into public.runs (id, experiment_id, project_id, name, user_id, status, start_time)
       values ($1, $2::bigint, $3, $4, $5, $6, $7) returning *
     )
     select ${RUN_COLUMNS} from r`,
    [
      run.id,
      run.experiment_id,
      run.project_id,
      run.name,
      run.user_id,
      run.status,
      run.start_time
    ]
  );
  return rows[0];
}

export async function findRun(
  tx: Queryable,
  id: string
): Promise<RunRow | undefined> {
  const { rows } = await tx.query<RunRow>(
    `select ${RUN_COLUMNS} from public.runs r where r.id = $1`,
    [id]
  );
  return rows[0];
}

export async function updateRun(
  tx: Queryable,
  id: string,
  changes: {
    name?: string;
    status?: RunStatus;
    end_time?: number;
    lifecycle_stage?: LifecycleStage;
    deleted_time?: number | null;
  }
): Promise<RunRow | undefined> {
  const columns = (
    ['name', 'status', 'end_time', 'lifecycle_stage', 'deleted_time'] as const
  ).filter(column => changes[column] !== undefined);
  const assignments = columns.map((column, i) => `${column} = $${i + 2}`);
  const { rows } = await tx.query<RunRow>(
    `with r as (
       update public.runs set ${assignments.join(', ') || 'name = name'}
       where id = $1 returning *
     )
     select ${RUN_COLUMNS} from r`,
    [id, ...columns.map(column => changes[column])]
  );
  return rows[0];
}

/**
 * Appends metrics and moves each key's latest value forward, in one
 * statement: the values travel as four arrays, whatever their number.
 */
export async function insertMetrics(
  tx: Queryable,
  run: { id: string; project_id: string },
  metrics: MlflowMetric[]
): Promise<void> {
  if (metrics.length === 0) {
    return;
  }
  const keys: string[] = new Array(metrics.length);
  const values: number[] = new Array(metrics.length);
  const timestamps: number[] = new Array(metrics.length);
  const steps: number[] = new Array(metrics.length);
  metrics.forEach((metric, i) => {
    keys[i] = metric.key;
    values[i] = metric.value;
    timestamps[i] = metric.timestamp;
    steps[i] = metric.step;
  });
  await tx.query(
    `with m as (
       select * from unnest($3::text[], $4::float8[], $5::bigint[], $6::bigint[])
         as m(key, value, timestamp, step)
     ), appended as (
       insert into public.run_metrics (run_id, project_id, key, value, timestamp, step)
       select $1, $2, key, value, timestamp, step from m
     )
     insert into public.run_latest_metrics as l (run_id, project_id, key, value, timestamp, step)
     select distinct on (key) $1, $2, key, value, timestamp, step from m
     order by key, step desc, timestamp desc, value desc
     on conflict (run_id, key) do update
       set value = excluded.value, timestamp = excluded.timestamp, step = excluded.step
       where (excluded.step, excluded.timestamp, excluded.value) >= (l.step, l.timestamp, l.value)`,
    [run.id, run.project_id, keys, values, timestamps, steps]
  );
}

/**
 * Params are written once: new keys are added, and each key that already
 * had another value is answered (the caller refuses the whole batch).
 */
export async function insertParams(
  tx: Queryable,
  run: { id: string; project_id: string },
  params: MlflowParam[]
): Promise<{ key: string; old_value: string; new_value: string }[]> {
  if (params.length === 0) {
    return [];
  }
  // The final select sees the table as it was before this statement: only
  // values logged earlier can conflict.
  const { rows } = await tx.query<{
    key: string;
    old_value: string;
    new_value: string;
  }>(
    `with incoming as (
       select * from unnest($3::text[], $4::text[]) as p(key, value)
     ), added as (
       insert into public.run_params (run_id, project_id, key, value)
       select $1, $2, key, value from incoming
       on conflict (run_id, key) do nothing
     )
     select i.key, p.value as old_value, i.value as new_value
     from incoming i join public.run_params p on p.run_id = $1 and p.key = i.key
     where p.value <> i.value
     order by i.key`,
    [run.id, run.project_id, params.map(p => p.key), params.map(p => p.value)]
  );
  return rows;
}

/** Sets tags; for a key already set, the new value wins. */
export async function upsertRunTags(
  tx: Queryable,
  run: { id: string; project_id: string },
  tags: MlflowTag[]
): Promise<void> {
  await upsertTags(tx, 'run', run.id, run.project_id, tags);
}

export async function deleteRunTag(
  tx: Queryable,
  runId: string,
  key: string
): Promise<number> {
  return deleteTag(tx, 'run', runId, key);
}

/** Records dataset inputs: each dataset once per experiment, each input once per run. */
export async function insertInputs(
  tx: Queryable,
  run: { id: string; experiment_id: string; project_id: string },
  inputs: MlflowDatasetInput[]
): Promise<void> {
  for (const { dataset, tags } of inputs) {
    await tx.query(
      `insert into public.experiment_datasets
         (experiment_id, project_id, name, digest, source_type, source, schema, profile)
       values ($1::bigint, $2, $3, $4, $5, $6, $7, $8)
       on conflict (experiment_id, name, digest) do nothing`,
      [
        run.experiment_id,
        run.project_id,
        dataset.name,
        dataset.digest,
        dataset.source_type,
        dataset.source,
        dataset.schema ?? null,
        dataset.profile ?? null
      ]
    );
    await tx.query(
      `insert into public.run_inputs (run_id, project_id, dataset_id)
       select $1, $2, d.id from public.experiment_datasets d
       where d.experiment_id = $3::bigint and d.name = $4 and d.digest = $5
       on conflict (run_id, dataset_id) do nothing`,
      [run.id, run.project_id, run.experiment_id, dataset.name, dataset.digest]
    );
    if (tags?.length) {
      await tx.query(
        `insert into public.run_input_tags (input_id, project_id, key, value)
         select i.id, $2, t.key, t.value
         from public.run_inputs i
         join public.experiment_datasets d on d.id = i.dataset_id
         cross join unnest($6::text[], $7::text[]) as t(key, value)
         where i.run_id = $1 and d.experiment_id = $3::bigint and d.name = $4 and d.digest = $5
         on conflict (input_id, key) do nothing`,
        [
          run.id,
          run.project_id,
          run.experiment_id,
          dataset.name,
          dataset.digest,
          tags.map(t => t.key),
          tags.map(t => t.value)
        ]
      );
    }
  }
}

/**
 * The latest metrics, params, tags and inputs of each run, in one round
 * trip. Non-finite metric values come back from JSON as "NaN", "Infinity"
 * and "-Infinity", which `Number()` reads.
 */
export async function runContents(
  tx: Queryable,
  runIds: string[]
): Promise<Map<string, RunContents>> {
  const contents = new Map<string, RunContents>();
  if (runIds.length === 0) {
    return contents;
  }
  const { rows } = await tx.query<{
    id: string;
    metrics:
      | {
          key: string;
          value: number | string;
          timestamp: number;
          step: number;
        }[]
      | null;
    params: MlflowParam[] | null;
    tags: MlflowTag[] | null;
    inputs: MlflowDatasetInput[] | null;
  }>(
    `select r.id,
       (select json_agg(json_build_object('key', m.key, 'value', m.value,
                'timestamp', m.timestamp, 'step', m.step) order by m.key)
        from public.run_latest_metrics m where m.run_id = r.id) as metrics,
       (select json_agg(json_build_object('key', p.key, 'value', p.value) order by p.key)
        from public.run_params p where p.run_id = r.id) as params,
       (select json_agg(json_build_object('key', t.key, 'value', t.value) order by t.key)
        from public.run_tags t where t.run_id = r.id) as tags,
       (select json_agg(json_strip_nulls(json_build_object(
                'tags', (select json_agg(json_build_object('key', it.key, 'value', it.value) order by it.key)
                         from public.run_input_tags it where it.input_id = i.id),
                'dataset', json_strip_nulls(json_build_object('name', d.name, 'digest', d.digest,
                  'source_type', d.source_type, 'source', d.source,
                  'schema', d.schema, 'profile', d.profile))))
                order by d.name, d.digest)
        from public.run_inputs i join public.experiment_datasets d on d.id = i.dataset_id
        where i.run_id = r.id) as inputs
     from unnest($1::text[]) as r(id)`,
    [runIds]
  );
  for (const row of rows) {
    const data: MlflowRunData = {};
    if (row.metrics) {
      data.metrics = row.metrics.map(m => ({
        key: m.key,
        value: Number(m.value),
        timestamp: Number(m.timestamp),
        step: Number(m.step)
      }));
    }
    if (row.params) {
      data.params = row.params;
    }
    if (row.tags) {
      data.tags = row.tags;
    }
    contents.set(row.id, { data, inputs: row.inputs ?? [] });
  }
  return contents;
}

/** One page of a metric's values, in step order. */
export async function metricHistory(
  tx: Queryable,
  runId: string,
  key: string,
  page: { limit: number | 'all'; offset: number }
): Promise<MlflowMetric[]> {
  const { rows } = await tx.query<MlflowMetric>(
    `select key, value, timestamp::float8 as timestamp, step::float8 as step
     from public.run_metrics where run_id = $1 and key = $2
     order by step, timestamp, value
     limit ${page.limit} offset ${page.offset}`,
    [runId, key]
  );
  return rows;
}

/** One page of runs matching `where` (SQL on alias `r`, built by the search). */
export async function searchRuns(
  tx: Queryable,
  query: {
    joins: string[];
    where: string[];
    orderBy: string[];
    params: unknown[];
    limit: number;
    offset: number;
  }
): Promise<RunRow[]> {
  const { rows } = await tx.query<RunRow>(
    `select ${RUN_COLUMNS} from public.runs r
     ${query.joins.join('\n')}
     ${query.where.length ? `where ${query.where.join(' and ')}` : ''}
     order by ${query.orderBy.join(', ')}
     limit ${query.limit} offset ${query.offset}`,
    query.params
  );
  return rows;
}
