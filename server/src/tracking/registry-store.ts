import type { Queryable } from '../db/types';
import { deleteTag, upsertTags } from './tags-store';
import type {
  MlflowModelVersion,
  MlflowTag,
  ModelStage
} from './tracking-store';

/**
 * SQL for the model registry: registered models, their versions, tags and
 * aliases. Every function runs inside the caller's transaction
 * (`withClaims`), so row-level security decides what it sees.
 */
export interface ModelRow {
  id: string;
  project_id: string;
  name: string;
  description: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  /** Whether the current user may change it (writes its project). */
  writable: boolean;
}

/** A version with what its JSON needs: its model's name, tags and aliases. */
export interface VersionRow {
  id: string;
  model_id: string;
  project_id: string;
  name: string;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: ModelStage;
  description: string;
  source: string;
  run_id: string | null;
  run_link: string;
  status: MlflowModelVersion['status'];
  status_message: string;
  tags: MlflowTag[] | null;
  aliases: string[] | null;
}

const MODEL_COLUMNS = `
  m.id, m.project_id, m.name, m.description,
  m.creation_timestamp::float8 as creation_timestamp,
  m.last_updated_timestamp::float8 as last_updated_timestamp,
  m.project_id = any (array(select public.writable_project_ids())) as writable`;

const VERSION_COLUMNS = `
  v.id, v.model_id, v.project_id, m.name, v.version,
  v.creation_timestamp::float8 as creation_timestamp,
  v.last_updated_timestamp::float8 as last_updated_timestamp,
  v.user_id, v.current_stage, v.description, v.source, v.run_id, v.run_link,
  v.status, v.status_message,
  (select json_agg(json_build_object('key', t.key, 'value', t.value) order by t.key)
   from public.model_version_tags t where t.version_id = v.id) as tags,
  (select json_agg(a.alias order by a.alias)
   from public.registered_model_aliases a
   where a.model_id = v.model_id and a.version = v.version) as aliases`;

export async function insertModel(
  tx: Queryable,
  model: { project_id: string; name: string; description: string; now: number }
): Promise<ModelRow> {
  const { rows } = await tx.query<ModelRow>(
    `with m as (
       insert into public.registered_models
         (project_id, name, description, creation_timestamp, last_updated_timestamp)
       values ($1, $2, $3, $4, $4) returning *
     )
     select ${MODEL_COLUMNS} from m`,
    [model.project_id, model.name, model.description, model.now]
  );
  return rows[0];
}

export async function findModel(
  tx: Queryable,
  name: string
): Promise<ModelRow | undefined> {
  const { rows } = await tx.query<ModelRow>(
    `select ${MODEL_COLUMNS} from public.registered_models m where m.name = $1`,
    [name]
  );
  return rows[0];
}

export async function updateModel(
  tx: Queryable,
  id: string,
  changes: { name?: string; description?: string; now: number }
): Promise<void> {
  await tx.query(
    `update public.registered_models
     set name = coalesce($2, name), description = coalesce($3, description),
         last_updated_timestamp = $4
     where id = $1`,
    [id, changes.name ?? null, changes.description ?? null, changes.now]
  );
}

export async function deleteModel(tx: Queryable, id: string): Promise<void> {
  await tx.query('delete from public.registered_models where id = $1', [id]);
}

/** One page of models matching `where` (SQL on alias `m`, built by the search). */
export async function searchModels(
  tx: Queryable,
  query: {
    where: string[];
    orderBy: string[];
    params: unknown[];
    limit: number;
    offset: number;
  }
): Promise<ModelRow[]> {
  const { rows } = await tx.query<ModelRow>(
    `select ${MODEL_COLUMNS} from public.registered_models m
     ${query.where.length ? `where ${query.where.join(' and ')}` : ''}
     order by ${query.orderBy.join(', ')}
     limit ${query.limit} offset ${query.offset}`,
    query.params
  );
  return rows;
}

/** Tags, aliases and the latest version of each stage, per model id. */
export async function modelDetails(
  tx: Queryable,
  modelIds: string[]
): Promise<
  Map<
    string,
    {
      tags: MlflowTag[];
      aliases: { alias: string; version: string }[];
      latest: VersionRow[];
    }
  >
> {
  const details = new Map<
    string,
    {
      tags: MlflowTag[];
      aliases: { alias: string; version: string }[];
      latest: VersionRow[];
    }
  >();
  if (modelIds.length === 0) {
    return details;
  }
  const { rows } = await tx.query<{
    id: string;
    tags: MlflowTag[] | null;
    aliases: { alias: string; version: number }[] | null;
  }>(
    `select m.id,
       (select json_agg(json_build_object('key', t.key, 'value', t.value) order by t.key)
        from public.registered_model_tags t where t.model_id = m.id) as tags,
       (select json_agg(json_build_object('alias', a.alias, 'version', a.version) order by a.alias)
        from public.registered_model_aliases a where a.model_id = m.id) as aliases
     from unnest($1::uuid[]) as m(id)`,
    [modelIds]
  );
  const latest = await tx.query<VersionRow>(
    `select distinct on (v.model_id, v.current_stage) ${VERSION_COLUMNS}
     from public.model_versions v join public.registered_models m on m.id = v.model_id
     where v.model_id = any($1::uuid[])
     order by v.model_id, v.current_stage, v.version desc`,
    [modelIds]
  );
  for (const row of rows) {
    details.set(row.id, {
      tags: row.tags ?? [],
      aliases: (row.aliases ?? []).map(a => ({
        alias: a.alias,
        version: String(a.version)
      })),
      latest: latest.rows.filter(v => v.model_id === row.id)
    });
  }
  return details;
}

export async function upsertModelTags(
  tx: Queryable,
  model: { id: string; project_id: string },
  tags: MlflowTag[]
): Promise<void> {
  await upsertTags(tx, 'model', model.id, model.project_id, tags);
}

export async function deleteModelTag(
  tx: Queryable,
  modelId: string,
  key: string
): Promise<number> {
  return deleteTag(tx, 'model', modelId, key);
}

/**
 * The model's next version number. The update locks the model's row until
 * commit, so concurrent registrations get 1, 2, 3 in turn.
 */
export async function takeVersionNumber(
  tx: Queryable,
  modelId: string,
  now: number
): Promise<number> {
  const { rows } = await tx.query<{ version: number }>(
    `update public.registered_models
     set next_version = next_version + 1, last_updated_timestamp = $2
     where id = $1 returning next_version - 1 as version`,
    [modelId, now]
  );
  return rows[0].version;
}

export async function insertVersion(
  tx: Queryable,
  version: {
    model_id: string;
    project_id: string;
    version: number;
    now: number;
    user_id: string;
    description: string;
    source: string;
    run_id: string | null;
    run_link: string;
  }
): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `insert into public.model_versions
       (model_id, project_id, version, creation_timestamp, last_updated_timestamp,
        user_id, description, source, run_id, run_link)
     values ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)
     returning id`,
    [
      version.model_id,
      version.project_id,
      version.version,
      version.now,
      version.user_id,
      version.description,
      version.source,
      version.run_id,
      version.run_link
    ]
  );
  return rows[0].id;
}

export async function upsertVersionTags(
  tx: Queryable,
  version: { id: string; project_id: string },
  tags: MlflowTag[]
): Promise<void> {
  await upsertTags(tx, 'version', version.id, version.project_id, tags);
}

export async function deleteVersionTag(
  tx: Queryable,
  versionId: string,
  key: string
): Promise<number> {
  return deleteTag(tx, 'version', versionId, key);
}

export async function findVersion(
  tx: Queryable,
  modelId: string,
  version: number
): Promise<VersionRow | undefined> {
  const { rows } = await tx.query<VersionRow>(
    `select ${VERSION_COLUMNS}
     from public.model_versions v join public.registered_models m on m.id = v.model_id
     where v.model_id = $1 and v.version = $2`,
    [modelId, version]
  );
  return rows[0];
}

/** One page of versions matching `where` (SQL on aliases `v` and `m`). */
export async function searchVersions(
  tx: Queryable,
  query: {
    where: string[];
    orderBy: string[];
    params: unknown[];
    limit: number;
    offset: number;
  }
): Promise<VersionRow[]> {
  const { rows } = await tx.query<VersionRow>(
    `select ${VERSION_COLUMNS}
     from public.model_versions v join public.registered_models m on m.id = v.model_id
     ${query.where.length ? `where ${query.where.join(' and ')}` : ''}
     order by ${query.orderBy.join(', ')}
     limit ${query.limit} offset ${query.offset}`,
    query.params
  );
  return rows;
}

export async function updateVersion(
  tx: Queryable,
  id: string,
  changes: { description?: string; current_stage?: ModelStage; now: number }
): Promise<void> {
  await tx.query(
    `update public.model_versions
     set description = coalesce($2, description),
         current_stage = coalesce($3, current_stage),
         last_updated_timestamp = $4
     where id = $1`,
    [
      id,
      changes.description ?? null,
      changes.current_stage ?? null,
      changes.now
    ]
  );
}

/** Moves the model's other versions in `stage` to Archived. */
export async function archiveOthersInStage(
  tx: Queryable,
  modelId: string,
  keepVersion: number,
  stage: ModelStage,
  now: number
): Promise<void> {
  await tx.query(
    `update public.model_versions
     set current_stage = 'Archived', last_updated_timestamp = $4
     where model_id = $1 and version <> $2 and current_stage = $3`,
    [modelId, keepVersion, stage, now]
  );
}

export async function deleteVersion(tx: Queryable, id: string): Promise<void> {
  await tx.query('delete from public.model_versions where id = $1', [id]);
}

export async function upsertAlias(
  tx: Queryable,
  model: { id: string; project_id: string },
  alias: string,
  version: number
): Promise<void> {
  await tx.query(
    `insert into public.registered_model_aliases (model_id, project_id, alias, version)
     values ($1, $2, $3, $4)
     on conflict (model_id, alias) do update set version = excluded.version`,
    [model.id, model.project_id, alias, version]
  );
}

export async function deleteAlias(
  tx: Queryable,
  modelId: string,
  alias: string
): Promise<number> {
  const result = await tx.query(
    'delete from public.registered_model_aliases where model_id = $1 and alias = $2',
    [modelId, alias]
  );
  return result.rowCount;
}

export async function findAlias(
  tx: Queryable,
  modelId: string,
  alias: string
): Promise<number | undefined> {
  const { rows } = await tx.query<{ version: number }>(
    'select version from public.registered_model_aliases where model_id = $1 and alias = $2',
    [modelId, alias]
  );
  return rows[0]?.version;
}
