-- Which model versions Insighter's own training jobs produced. A job
-- registers its version over its own socket; the sidecar then records the
-- job and the digest of the version's files (sha256 over each file's path
-- and sha256). Deploying such a version serves it from the files that
-- execute nothing when loaded (JSON, XGBoost's UBJSON) — if its files still
-- have that digest. Every other version, or one whose files changed since,
-- is only ever served inside a sandbox.
--
-- Only the sidecar writes here, as the service role: nobody can mark a
-- version of their own as a job's, not even through Supabase's REST API.

create table public.model_version_provenance (
  version_id uuid primary key,
  project_id uuid not null,
  -- The job that trained and registered it (kept if the job's row goes:
  -- the version and its files are what the mark is about).
  job_id uuid not null,
  files_digest text not null check (files_digest ~ '^[0-9a-f]{64}$'),
  recorded_at timestamptz not null default now(),
  foreign key (version_id, project_id)
    references public.model_versions (id, project_id) on delete cascade
);
comment on table public.model_version_provenance is
  'Model versions produced by an Insighter training job, with the digest of their files at registration.';
create index model_version_provenance_project_idx on public.model_version_provenance (project_id);
alter table public.model_version_provenance enable row level security;

revoke insert, update, delete on public.model_version_provenance from anon, authenticated;

create policy "Project readers can read model provenance"
  on public.model_version_provenance for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
