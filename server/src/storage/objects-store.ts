import type { Queryable } from '../db/types';

/**
 * SQL for Supabase Storage's own tables (`storage.buckets`, `storage.objects`).
 * Callers choose the transaction: under `withClaims`, row-level security
 * decides what a person may see and change, exactly as in Supabase.
 */
export interface BucketRow {
  id: string;
  public: boolean | null;
  file_size_limit: string | number | null;
  allowed_mime_types: string[] | null;
}

/** An object's metadata, as Supabase stores it in `storage.objects.metadata`. */
export interface ObjectMetadata {
  eTag: string;
  size: number;
  mimetype: string;
  cacheControl: string;
  lastModified: string;
  contentLength: number;
  httpStatusCode: number;
}

export interface ObjectRow {
  id: string;
  bucket_id: string;
  name: string;
  owner: string | null;
  owner_id: string | null;
  created_at: Date;
  updated_at: Date;
  last_accessed_at: Date;
  metadata: ObjectMetadata;
  user_metadata: Record<string, unknown> | null;
  version: string | null;
}

/** One entry of a folder listing: a file, or a folder (null id and times). */
export interface ListEntry {
  name: string;
  id: string | null;
  updated_at: Date | null;
  created_at: Date | null;
  last_accessed_at: Date | null;
  metadata: ObjectMetadata | null;
}

export type ListSortColumn =
  'name' | 'created_at' | 'updated_at' | 'last_accessed_at';

const OBJECT_COLUMNS =
  'id, bucket_id, name, owner, owner_id, created_at, updated_at, last_accessed_at, metadata, user_metadata, version';

/** Fixed SQL per sort column: never built from input. */
const SORT_SQL: Record<ListSortColumn, string> = {
  name: 'name collate "C"',
  created_at: 'created_at',
  updated_at: 'updated_at',
  last_accessed_at: 'last_accessed_at'
};

export async function findBucket(
  tx: Queryable,
  id: string
): Promise<BucketRow | undefined> {
  const { rows } = await tx.query<BucketRow>(
    'select id, public, file_size_limit, allowed_mime_types from storage.buckets where id = $1',
    [id]
  );
  return rows[0];
}

export async function insertObject(
  tx: Queryable,
  object: {
    bucket: string;
    name: string;
    owner: string | null;
    metadata: ObjectMetadata | Record<string, never>;
    userMetadata: Record<string, unknown> | null;
    upsert: boolean;
  }
): Promise<{ id: string }> {
  const { rows } = await tx.query<{ id: string }>(
    `insert into storage.objects (bucket_id, name, owner, owner_id, metadata, user_metadata)
     values ($1, $2, $3::uuid, $3::uuid::text, $4, $5)
     ${
       object.upsert
         ? `on conflict (bucket_id, name) do update set
              owner = excluded.owner, owner_id = excluded.owner_id,
              metadata = excluded.metadata, user_metadata = excluded.user_metadata,
              updated_at = now(), last_accessed_at = now()`
         : ''
     }
     returning id`,
    [
      object.bucket,
      object.name,
      object.owner,
      object.metadata,
      object.userMetadata
    ]
  );
  return rows[0];
}

export async function findObject(
  tx: Queryable,
  bucket: string,
  name: string
): Promise<ObjectRow | undefined> {
  const { rows } = await tx.query<ObjectRow>(
    `select ${OBJECT_COLUMNS} from storage.objects where bucket_id = $1 and name = $2`,
    [bucket, name]
  );
  return rows[0];
}

/**
 * The entries directly inside `prefix` (a folder, '' for the bucket's top):
 * files with their metadata, and one entry per sub-folder that holds at
 * least one object the caller can see.
 */
export async function listFolder(
  tx: Queryable,
  query: {
    bucket: string;
    prefix: string;
    search: string;
    limit: number;
    offset: number;
    sortBy: ListSortColumn;
    order: 'asc' | 'desc';
  }
): Promise<ListEntry[]> {
  const folder = query.prefix === '' ? '' : `${query.prefix}/`;
  const direction = query.order === 'desc' ? 'desc' : 'asc';
  const { rows } = await tx.query<ListEntry>(
    `with visible as (
       select id, substr(name, $2::int + 1) as rest, updated_at, created_at,
              last_accessed_at, metadata
       from storage.objects
       where bucket_id = $1 and left(name, $2::int) = $3
     ), entries as (
       select split_part(rest, '/', 1) as name, null::uuid as id,
              null::timestamptz as updated_at, null::timestamptz as created_at,
              null::timestamptz as last_accessed_at, null::jsonb as metadata
       from visible where strpos(rest, '/') > 0
       group by 1
       union all
       select rest, id, updated_at, created_at, last_accessed_at, metadata
       from visible where strpos(rest, '/') = 0
     )
     select name, id, updated_at, created_at, last_accessed_at, metadata
     from entries
     where left(lower(name), length($4::text)) = lower($4::text)
     order by ${SORT_SQL[query.sortBy]} ${direction} nulls last, name collate "C"
     limit $5 offset $6`,
    [
      query.bucket,
      folder.length,
      folder,
      query.search,
      query.limit,
      query.offset
    ]
  );
  return rows;
}

/** Deletes the named objects the caller may delete; answers those deleted. */
export async function deleteObjects(
  tx: Queryable,
  bucket: string,
  names: string[]
): Promise<ObjectRow[]> {
  const { rows } = await tx.query<ObjectRow>(
    `delete from storage.objects where bucket_id = $1 and name = any($2::text[])
     returning ${OBJECT_COLUMNS}`,
    [bucket, names]
  );
  return rows;
}

/** Of `names`, those that have a row (for the orphan sweep; run as service). */
export async function existingNames(
  tx: Queryable,
  bucket: string,
  names: string[]
): Promise<Set<string>> {
  const { rows } = await tx.query<{ name: string }>(
    'select name from storage.objects where bucket_id = $1 and name = any($2::text[])',
    [bucket, names]
  );
  return new Set(rows.map(r => r.name));
}
