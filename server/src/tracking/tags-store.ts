import type { Queryable } from '../db/types';
import type { MlflowTag } from './tracking-store';

/**
 * MLflow's four tag tables share one shape: `(<owner>, project_id, key,
 * value)`, unique per owner and key, the last write winning. The table and
 * column names come only from this list, never from a request.
 */
const TAG_TABLES = {
  experiment: {
    table: 'experiment_tags',
    owner: 'experiment_id',
    cast: '::bigint'
  },
  run: { table: 'run_tags', owner: 'run_id', cast: '' },
  model: { table: 'registered_model_tags', owner: 'model_id', cast: '' },
  version: { table: 'model_version_tags', owner: 'version_id', cast: '' }
} as const;

export type TagOwner = keyof typeof TAG_TABLES;

/** Sets tags of one experiment, run, model or version; for a key already set, the new value wins. */
export async function upsertTags(
  tx: Queryable,
  kind: TagOwner,
  ownerId: string,
  projectId: string,
  tags: MlflowTag[]
): Promise<void> {
  if (tags.length === 0) {
    return;
  }
  const { table, owner, cast } = TAG_TABLES[kind];
  await tx.query(
    `insert into public.${table} (${owner}, project_id, key, value)
     select $1${cast}, $2, t.key, t.value from unnest($3::text[], $4::text[]) as t(key, value)
     on conflict (${owner}, key) do update set value = excluded.value`,
    [ownerId, projectId, tags.map(t => t.key), tags.map(t => t.value)]
  );
}

/** Removes one tag; answers how many rows went (0: there was none). */
export async function deleteTag(
  tx: Queryable,
  kind: TagOwner,
  ownerId: string,
  key: string
): Promise<number> {
  const { table, owner, cast } = TAG_TABLES[kind];
  const result = await tx.query(
    `delete from public.${table} where ${owner} = $1${cast} and key = $2`,
    [ownerId, key]
  );
  return result.rowCount;
}
