-- The data catalog: a project's datasets. A dataset is a name in a project;
-- every file uploaded under that name is a new version (1, 2, …) whose bytes
-- live in Storage's `uploads` bucket at `<uploader id>/<dataset id>/<file>`
-- (`<uploader id>/<dataset id>/v<N>/<file>` from version 2 on). Whoever can
-- read the project reads its datasets and their files; its writers (the
-- project's owner, and for a team project the team's members, admins and
-- owners, not its viewers) add, change and delete them.

-- Project access for policies. Security definer so the checks do not depend
-- on which other policies the caller passes; they mirror the projects
-- table's own read and update policies.

create function public.can_read_project(p_project_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.projects p
    where p.id = p_project_id
      and (
        p.owner_id = (select auth.uid())
        or (p.visibility = 'team' and public.has_team_role(p.team_id, 'viewer'))
      )
  );
$$;
comment on function public.can_read_project(uuid) is
  'Whether the current user can read the project (its owner, or a member of its team in any role).';
revoke execute on function public.can_read_project(uuid) from public, anon;
grant execute on function public.can_read_project(uuid) to authenticated, service_role;

create function public.can_write_project(p_project_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.projects p
    where p.id = p_project_id
      and (
        p.owner_id = (select auth.uid())
        or (p.visibility = 'team' and public.has_team_role(p.team_id, 'member'))
      )
  );
$$;
comment on function public.can_write_project(uuid) is
  'Whether the current user can change the project''s contents (its owner, or a member, admin or owner of its team).';
revoke execute on function public.can_write_project(uuid) from public, anon;
grant execute on function public.can_write_project(uuid) to authenticated, service_role;

-- Datasets

create table public.datasets (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  -- Names become file and folder names in notebooks and downloads: no path
  -- separators, no control characters, no "..".
  name text not null check (
    char_length(name) between 1 and 200
    and name = btrim(name)
    and name !~ '[/\\[:cntrl:]]'
    and strpos(name, '..') = 0
  ),
  description text not null default '' check (char_length(description) <= 2000),
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint datasets_project_id_name_key unique (project_id, name)
);
comment on table public.datasets is
  'A named dataset of a project; its files are the rows of dataset_versions.';
create index datasets_owner_id_idx on public.datasets (owner_id);
alter table public.datasets enable row level security;

create trigger set_datasets_updated_at
  before update on public.datasets
  for each row execute function public.set_updated_at();

revoke insert, update on public.datasets from anon, authenticated;
grant insert (project_id, name, description) on public.datasets to authenticated;
grant update (name, description) on public.datasets to authenticated;

create policy "Project readers can read its datasets"
  on public.datasets for select
  to authenticated
  using (public.can_read_project(project_id));

create policy "Project writers can add datasets"
  on public.datasets for insert
  to authenticated
  with check (owner_id = (select auth.uid()) and public.can_write_project(project_id));

create policy "Project writers can change its datasets"
  on public.datasets for update
  to authenticated
  using (public.can_write_project(project_id))
  with check (public.can_write_project(project_id));

create policy "Project writers can delete its datasets"
  on public.datasets for delete
  to authenticated
  using (public.can_write_project(project_id));

-- Versions

create function public.can_write_dataset(p_dataset_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.datasets d
    where d.id = p_dataset_id and public.can_write_project(d.project_id)
  );
$$;
comment on function public.can_write_dataset(uuid) is
  'Whether the current user can add, change and delete the dataset''s versions.';
revoke execute on function public.can_write_dataset(uuid) from public, anon;
grant execute on function public.can_write_dataset(uuid) to authenticated, service_role;

create table public.dataset_versions (
  id uuid primary key default gen_random_uuid(),
  dataset_id uuid not null references public.datasets (id) on delete cascade,
  version integer not null check (version >= 1),
  -- uploading → validating → ready; an upload that fails is removed, not kept.
  status text not null default 'uploading'
    check (status in ('uploading', 'validating', 'ready', 'failed')),
  error text,
  -- Decided from the first bytes, never from the file's name.
  format text not null check (format in ('csv', 'parquet')),
  -- CSV only: the field separator found in the content.
  delimiter text check (delimiter in (',', ';', E'\t', '|')),
  file_name text not null check (char_length(file_name) between 1 and 255),
  content_type text not null,
  -- The object's name in the `uploads` bucket. It must lie in the uploader's
  -- own folder under this dataset: the policy that lets project readers
  -- read dataset files trusts this column, so nobody may point it at
  -- someone else's object.
  object_path text not null unique check (
    starts_with(object_path, uploaded_by::text || '/' || dataset_id::text || '/')
    and object_path !~ '(^|/)\.\.?(/|$)'
  ),
  size_bytes bigint check (size_bytes >= 0),
  sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
  row_count bigint check (row_count >= 0),
  column_count integer check (column_count >= 0),
  columns jsonb,
  preview jsonb,
  profiled_at timestamptz,
  uploaded_by uuid not null default auth.uid() references auth.users (id) on delete cascade,
  -- Which sidecar is receiving the upload (an id kept in its data dir): at
  -- start a sidecar removes the unfinished uploads it was receiving when it
  -- stopped, never another one's.
  ingest_instance text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint dataset_versions_dataset_id_version_key unique (dataset_id, version)
);
comment on table public.dataset_versions is
  'One uploaded file of a dataset: its status, where it is stored, and its profile (schema, statistics, preview).';
create index dataset_versions_unfinished_idx on public.dataset_versions (created_at)
  where status in ('uploading', 'validating');
alter table public.dataset_versions enable row level security;

create trigger set_dataset_versions_updated_at
  before update on public.dataset_versions
  for each row execute function public.set_updated_at();

revoke insert, update on public.dataset_versions from anon, authenticated;
grant insert (
  dataset_id, version, status, format, delimiter, file_name, content_type,
  object_path, ingest_instance
) on public.dataset_versions to authenticated;
grant update (
  status, error, delimiter, size_bytes, sha256, row_count, column_count,
  columns, preview, profiled_at
) on public.dataset_versions to authenticated;

create policy "Project readers can read its dataset versions"
  on public.dataset_versions for select
  to authenticated
  using (exists (select 1 from public.datasets d where d.id = dataset_id));

create policy "Project writers can add dataset versions of their own"
  on public.dataset_versions for insert
  to authenticated
  with check (uploaded_by = (select auth.uid()) and public.can_write_dataset(dataset_id));

create policy "Project writers can change dataset versions"
  on public.dataset_versions for update
  to authenticated
  using (public.can_write_dataset(dataset_id))
  with check (public.can_write_dataset(dataset_id));

create policy "Project writers can delete dataset versions"
  on public.dataset_versions for delete
  to authenticated
  using (public.can_write_dataset(dataset_id));

-- Dataset files in Storage. Uploaders write into their own folder (the
-- uploads bucket's own policies); these let the project's other readers
-- read the files and its other writers delete them with the dataset.

create function public.can_read_dataset_object(p_name text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.dataset_versions v
    join public.datasets d on d.id = v.dataset_id
    where v.object_path = p_name and public.can_read_project(d.project_id)
  );
$$;
comment on function public.can_read_dataset_object(text) is
  'Whether the uploads object is a dataset file of a project the current user can read.';
revoke execute on function public.can_read_dataset_object(text) from public, anon;
grant execute on function public.can_read_dataset_object(text) to authenticated, service_role;

create function public.can_delete_dataset_object(p_name text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.dataset_versions v
    join public.datasets d on d.id = v.dataset_id
    where v.object_path = p_name and public.can_write_project(d.project_id)
  );
$$;
comment on function public.can_delete_dataset_object(text) is
  'Whether the uploads object is a dataset file of a project the current user can write.';
revoke execute on function public.can_delete_dataset_object(text) from public, anon;
grant execute on function public.can_delete_dataset_object(text) to authenticated, service_role;

create policy "Project readers can read its dataset files"
  on storage.objects for select to authenticated
  using (bucket_id = 'uploads' and public.can_read_dataset_object(name));

create policy "Project writers can delete its dataset files"
  on storage.objects for delete to authenticated
  using (bucket_id = 'uploads' and public.can_delete_dataset_object(name));
