-- Embedded-only bootstrap of the `storage` schema: Supabase Storage's tables
-- (the columns its API and policies use) and path helpers. RLS is on; the
-- data catalog's migrations add the policies.

create table if not exists storage.buckets (
  id text not null,
  name text not null,
  owner uuid null,
  owner_id text null,
  created_at timestamptz null default now(),
  updated_at timestamptz null default now(),
  public boolean null default false,
  avif_autodetection boolean null default false,
  file_size_limit bigint null,
  allowed_mime_types text[] null,
  constraint buckets_pkey primary key (id)
);
create unique index if not exists bname on storage.buckets using btree (name);
alter table storage.buckets enable row level security;

create table if not exists storage.objects (
  id uuid not null default gen_random_uuid(),
  bucket_id text null,
  name text null,
  owner uuid null,
  owner_id text null,
  created_at timestamptz null default now(),
  updated_at timestamptz null default now(),
  last_accessed_at timestamptz null default now(),
  metadata jsonb null,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  version text null,
  user_metadata jsonb null,
  constraint objects_pkey primary key (id),
  constraint "objects_bucketId_fkey" foreign key (bucket_id) references storage.buckets (id)
);
create unique index if not exists bucketid_objname on storage.objects using btree (bucket_id, name);
create index if not exists name_prefix_search on storage.objects using btree (name text_pattern_ops);
alter table storage.objects enable row level security;

-- Path helpers policies use, e.g. (storage.foldername(name))[1] = auth.uid()::text.
do $do$
begin
  if pg_catalog.to_regprocedure('storage.foldername(text)') is null then
    create function storage.foldername(name text) returns text[]
      language plpgsql immutable
      set search_path to ''
    as $fn$
    declare
      _parts text[];
    begin
      select pg_catalog.string_to_array(name, '/') into _parts;
      return _parts[1:pg_catalog.array_length(_parts, 1) - 1];
    end
    $fn$;
  end if;
  if pg_catalog.to_regprocedure('storage.filename(text)') is null then
    create function storage.filename(name text) returns text
      language plpgsql immutable
      set search_path to ''
    as $fn$
    declare
      _parts text[];
    begin
      select pg_catalog.string_to_array(name, '/') into _parts;
      return _parts[pg_catalog.array_length(_parts, 1)];
    end
    $fn$;
  end if;
  if pg_catalog.to_regprocedure('storage.extension(text)') is null then
    create function storage.extension(name text) returns text
      language plpgsql immutable
      set search_path to ''
    as $fn$
    declare
      _parts text[];
      _filename text;
    begin
      select pg_catalog.string_to_array(name, '/') into _parts;
      select _parts[pg_catalog.array_length(_parts, 1)] into _filename;
      return pg_catalog.reverse(pg_catalog.split_part(pg_catalog.reverse(_filename), '.', 1));
    end
    $fn$;
  end if;
end
$do$;

grant all on storage.buckets, storage.objects to anon, authenticated, service_role;
