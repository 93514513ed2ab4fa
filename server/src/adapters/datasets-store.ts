import type { Queryable } from '../db/types';
import { iso } from './projects-store';

/**
 * SQL for `public.datasets` and `public.dataset_versions`. Every function
 * runs inside the caller's transaction (`withClaims`, or `asService` for
 * the start-up sweep), so row-level security decides what it sees.
 */
export type DatasetFormat = 'csv' | 'parquet';
export type DatasetStatus = 'uploading' | 'validating' | 'ready' | 'failed';

export interface ColumnStats {
  name: string;
  type: string;
  null_count: number;
  distinct_count: number;
  min: unknown;
  max: unknown;
  mean: number | null;
  std: number | null;
  q25: number | null;
  q50: number | null;
  q75: number | null;
  top_values: { value: unknown; count: number }[] | null;
  histogram: { lower: number; upper: number; count: number }[] | null;
}

export interface VersionSummary {
  version: number;
  status: DatasetStatus;
  format: DatasetFormat;
  size_bytes: number | null;
  row_count: number | null;
  sha256: string | null;
  created_at: string;
  uploaded_by: string;
}

/** A dataset as the API answers it: the dataset, one version's fields, and every version. */
export interface DatasetRecord {
  id: string;
  project_id: string;
  name: string;
  description: string;
  owner_id: string;
  created_at: string;
  updated_at: string;
  version: number;
  status: DatasetStatus;
  error: string | null;
  format: DatasetFormat;
  delimiter: string | null;
  file_name: string;
  content_type: string;
  size_bytes: number | null;
  sha256: string | null;
  row_count: number | null;
  column_count: number | null;
  columns?: ColumnStats[] | null;
  profiled_at: string | null;
  versions: VersionSummary[];
}

/** What a download needs to know about one version. */
export interface StoredVersion {
  dataset_id: string;
  project_id: string;
  name: string;
  version: number;
  status: DatasetStatus;
  format: DatasetFormat;
  delimiter: string | null;
  file_name: string;
  content_type: string;
  object_path: string;
  size_bytes: number | null;
  sha256: string | null;
  preview: { columns: string[]; rows: unknown[][] } | null;
}

export interface DatasetRow {
  id: string;
  project_id: string;
  name: string;
  owner_id: string;
}

export interface NewVersion {
  dataset_id: string;
  version: number;
  format: DatasetFormat;
  file_name: string;
  content_type: string;
  object_path: string;
  ingest_instance: string;
}

export interface ReadyVersion {
  delimiter: string | null;
  size_bytes: number;
  sha256: string;
  row_count: number;
  column_count: number;
  columns: ColumnStats[];
  preview: { columns: string[]; rows: unknown[][] };
}

const VERSION_SUMMARIES = `(
  select coalesce(jsonb_agg(jsonb_build_object(
           'version', x.version, 'status', x.status, 'format', x.format,
           'size_bytes', x.size_bytes, 'row_count', x.row_count, 'sha256', x.sha256,
           'created_at', ${iso('x.created_at')}, 'uploaded_by', x.uploaded_by
         ) order by x.version), '[]'::jsonb)
  from public.dataset_versions x where x.dataset_id = d.id
) as versions`;

/** Numbers leave as JSON numbers: `pg` would turn bigint into text. */
const RECORD_COLUMNS = `
  d.id, d.project_id, d.name, d.description, d.owner_id,
  ${iso('d.created_at')} as created_at, ${iso('d.updated_at')} as updated_at,
  v.version, v.status, v.error, v.format, v.delimiter, v.file_name, v.content_type,
  v.size_bytes::float8 as size_bytes, v.sha256, v.row_count::float8 as row_count,
  v.column_count, ${iso('v.profiled_at')} as profiled_at`;

/**
 * The version a record shows when none is asked for: the newest ready one,
 * so a download keeps working while a newer file is still arriving; a
 * dataset with no ready version yet shows its newest.
 */
const CHOSEN_VERSION = `
  join lateral (
    select * from public.dataset_versions v
    where v.dataset_id = d.id and ($2::int is null or v.version = $2::int)
    order by (v.status = 'ready') desc, v.version desc
    limit 1
  ) v on true`;

/** Datasets the user can read (of one project, or all), most recently changed first. */
export async function listDatasets(
  tx: Queryable,
  projectId: string | null
): Promise<DatasetRecord[]> {
  const { rows } = await tx.query<DatasetRecord>(
    `select ${RECORD_COLUMNS}, ${VERSION_SUMMARIES}
     from public.datasets d ${CHOSEN_VERSION}
     where ($1::uuid is null or d.project_id = $1::uuid)
     order by d.updated_at desc, d.id`,
    [projectId, null]
  );
  return rows;
}

/** The dataset with `version`'s fields (the chosen version when null), profile included. */
export async function findDatasetRecord(
  tx: Queryable,
  id: string,
  version: number | null
): Promise<DatasetRecord | undefined> {
  const { rows } = await tx.query<DatasetRecord>(
    `select ${RECORD_COLUMNS}, v.columns, ${VERSION_SUMMARIES}
     from public.datasets d ${CHOSEN_VERSION}
     where d.id = $1`,
    [id, version]
  );
  return rows[0];
}

export async function findStoredVersion(
  tx: Queryable,
  id: string,
  version: number | null
): Promise<StoredVersion | undefined> {
  const { rows } = await tx.query<StoredVersion>(
    `select d.id as dataset_id, d.project_id, d.name, v.version, v.status, v.format,
            v.delimiter, v.file_name, v.content_type, v.object_path,
            v.size_bytes::float8 as size_bytes, v.sha256, v.preview
     from public.datasets d ${CHOSEN_VERSION}
     where d.id = $1`,
    [id, version]
  );
  return rows[0];
}

export async function findDataset(
  tx: Queryable,
  id: string
): Promise<DatasetRow | undefined> {
  const { rows } = await tx.query<DatasetRow>(
    'select id, project_id, name, owner_id from public.datasets where id = $1',
    [id]
  );
  return rows[0];
}

/** Whether the project exists for the user, and whether they may add to it. */
export async function projectAccess(
  tx: Queryable,
  projectId: string
): Promise<{ readable: boolean; writable: boolean }> {
  const { rows } = await tx.query<{ readable: boolean; writable: boolean }>(
    `select public.can_read_project($1) as readable,
            public.can_write_project($1) as writable`,
    [projectId]
  );
  return rows[0];
}

export async function canWriteProject(
  tx: Queryable,
  projectId: string
): Promise<boolean> {
  return (await projectAccess(tx, projectId)).writable;
}

/**
 * The dataset called `name` in the project, created (owned by the current
 * user) when there is none, and locked until the transaction ends so that
 * concurrent uploads under one name take distinct version numbers.
 * Undefined when it vanished between the insert and the lock (a failed
 * upload removed it): the caller tries again.
 */
export async function lockOrCreateDataset(
  tx: Queryable,
  input: { projectId: string; name: string; description: string | undefined }
): Promise<(DatasetRow & { created: boolean }) | undefined> {
  const inserted = await tx.query<DatasetRow>(
    `insert into public.datasets (project_id, name, description)
     values ($1, $2, coalesce($3, ''))
     on conflict (project_id, name) do nothing
     returning id, project_id, name, owner_id`,
    [input.projectId, input.name, input.description ?? null]
  );
  if (inserted.rows[0]) {
    return { ...inserted.rows[0], created: true };
  }
  const { rows } = await tx.query<DatasetRow>(
    `select id, project_id, name, owner_id from public.datasets
     where project_id = $1 and name = $2
     for update`,
    [input.projectId, input.name]
  );
  return rows[0] ? { ...rows[0], created: false } : undefined;
}

export async function nextVersionNumber(
  tx: Queryable,
  datasetId: string
): Promise<number> {
  const { rows } = await tx.query<{ next: number }>(
    'select coalesce(max(version), 0) + 1 as next from public.dataset_versions where dataset_id = $1',
    [datasetId]
  );
  return rows[0].next;
}

export async function insertVersion(
  tx: Queryable,
  version: NewVersion
): Promise<{ id: string }> {
  const { rows } = await tx.query<{ id: string }>(
    `insert into public.dataset_versions
       (dataset_id, version, format, file_name, content_type, object_path, ingest_instance)
     values ($1, $2, $3, $4, $5, $6, $7)
     returning id`,
    [
      version.dataset_id,
      version.version,
      version.format,
      version.file_name,
      version.content_type,
      version.object_path,
      version.ingest_instance
    ]
  );
  return rows[0];
}

/** False when the version is gone (deleted meanwhile) or no longer the user's to change. */
export async function markValidating(
  tx: Queryable,
  versionId: string
): Promise<boolean> {
  const { rowCount } = await tx.query(
    "update public.dataset_versions set status = 'validating' where id = $1 and status = 'uploading'",
    [versionId]
  );
  return rowCount > 0;
}

/** Ready with its profile; false when the version is gone meanwhile. */
export async function markReady(
  tx: Queryable,
  versionId: string,
  ready: ReadyVersion
): Promise<boolean> {
  const { rows } = await tx.query<{ dataset_id: string }>(
    `update public.dataset_versions set
       status = 'ready', error = null, delimiter = $2, size_bytes = $3, sha256 = $4,
       row_count = $5, column_count = $6, columns = $7, preview = $8, profiled_at = now()
     where id = $1 and status = 'validating'
     returning dataset_id`,
    [
      versionId,
      ready.delimiter,
      ready.size_bytes,
      ready.sha256,
      ready.row_count,
      ready.column_count,
      JSON.stringify(ready.columns),
      JSON.stringify(ready.preview)
    ]
  );
  if (!rows[0]) {
    return false;
  }
  // The dataset changed when a version arrived (lists sort by it).
  await tx.query('update public.datasets set name = name where id = $1', [
    rows[0].dataset_id
  ]);
  return true;
}

export async function updateDataset(
  tx: Queryable,
  id: string,
  changes: { name?: string; description?: string }
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `update public.datasets
     set name = coalesce($2, name), description = coalesce($3, description)
     where id = $1`,
    [id, changes.name ?? null, changes.description ?? null]
  );
  return rowCount > 0;
}

/** The object paths of every version (to remove the files first). */
export async function versionObjects(
  tx: Queryable,
  datasetId: string,
  version: number | null
): Promise<{ version: number; status: DatasetStatus; object_path: string }[]> {
  const { rows } = await tx.query<{
    version: number;
    status: DatasetStatus;
    object_path: string;
  }>(
    `select version, status, object_path from public.dataset_versions
     where dataset_id = $1 and ($2::int is null or version = $2::int)
     order by version`,
    [datasetId, version]
  );
  return rows;
}

/** Deleted rows (0 when not there or not the user's to delete). */
export async function deleteDataset(
  tx: Queryable,
  id: string
): Promise<number> {
  const { rowCount } = await tx.query(
    'delete from public.datasets where id = $1',
    [id]
  );
  return rowCount;
}

export async function deleteVersion(
  tx: Queryable,
  datasetId: string,
  version: number
): Promise<number> {
  const { rowCount } = await tx.query(
    'delete from public.dataset_versions where dataset_id = $1 and version = $2',
    [datasetId, version]
  );
  return rowCount;
}

/**
 * Removes a version by id (a failed or abandoned upload) and its dataset
 * when no other version is left; true when the dataset went with it.
 */
export async function discardVersion(
  tx: Queryable,
  versionId: string
): Promise<boolean> {
  const { rows } = await tx.query<{ dataset_id: string }>(
    'delete from public.dataset_versions where id = $1 returning dataset_id',
    [versionId]
  );
  if (!rows[0]) {
    return false;
  }
  return deleteDatasetIfEmpty(tx, rows[0].dataset_id);
}

export async function deleteDatasetIfEmpty(
  tx: Queryable,
  datasetId: string
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `delete from public.datasets d where d.id = $1
       and not exists (select 1 from public.dataset_versions v where v.dataset_id = d.id)`,
    [datasetId]
  );
  return rowCount > 0;
}

export interface UnfinishedVersion {
  id: string;
  dataset_id: string;
  object_path: string;
}

/**
 * Uploads that will never finish (run as service): those this sidecar was
 * receiving when it stopped, and anyone's left for longer than `staleAfter`.
 */
export async function unfinishedVersions(
  tx: Queryable,
  instance: string,
  startedAt: Date,
  staleBefore: Date
): Promise<UnfinishedVersion[]> {
  const { rows } = await tx.query<UnfinishedVersion>(
    `select id, dataset_id, object_path from public.dataset_versions
     where status in ('uploading', 'validating')
       and ((ingest_instance = $1 and created_at < $2) or created_at < $3)`,
    [instance, startedAt, staleBefore]
  );
  return rows;
}

/** Datasets without any version, created before `before` (run as service). */
export async function deleteEmptyDatasets(
  tx: Queryable,
  before: Date
): Promise<number> {
  const { rowCount } = await tx.query(
    `delete from public.datasets d where d.created_at < $1
       and not exists (select 1 from public.dataset_versions v where v.dataset_id = d.id)`,
    [before]
  );
  return rowCount;
}

/** The database's clock, which `created_at` is written with. */
export async function databaseNow(tx: Queryable): Promise<Date> {
  const { rows } = await tx.query<{ now: Date }>('select now() as now');
  return new Date(rows[0].now);
}
