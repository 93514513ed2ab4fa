-- Deployments: a registered model version of a project served at the
-- project's endpoint, /api/v1/predict/<project slug>. Each deploy request is
-- one row (pending → starting → ready | failed → stopped); deploying another
-- version starts a new row while the serving one keeps answering, and the
-- sidecar switches traffic and stops the old row once the new one is ready.
-- The project's readers see its deployments; its writers (the owner, and
-- members of its team with at least the member role) deploy and stop them.
-- Status changes made by the sidecar itself (a worker ready, crashed,
-- restarted) run as the service role.

create table public.deployments (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  -- The registered model and version served (MLflow's names: the project's
  -- own model is named after its slug).
  model_name text not null check (char_length(model_name) between 1 and 256),
  model_version integer not null check (model_version >= 1),
  status text not null default 'pending'
    check (status in ('pending', 'starting', 'ready', 'failed', 'stopped')),
  -- The endpoint's path, /api/v1/predict/<project slug> (slugs never change).
  url text not null check (url ~ '^/api/v1/predict/[a-z0-9]+(-[a-z0-9]+)*$'),
  runner text not null default 'process' check (runner in ('process', 'docker')),
  -- What runs it while it runs: `pid:<n>` or a container id.
  runner_ref text check (char_length(runner_ref) <= 200),
  -- Why it failed or stopped, in words a person can act on.
  error text check (char_length(error) <= 2000),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  ready_at timestamptz,
  stopped_at timestamptz
);
comment on table public.deployments is
  'A model version served at /api/v1/predict/<project slug>; one row per deploy request.';
create index deployments_project_id_idx on public.deployments (project_id, created_at desc);
-- One endpoint per project: at most one deployment serves it, and at most
-- one is on its way to replace it.
create unique index deployments_one_serving_per_project
  on public.deployments (project_id) where status = 'ready';
create unique index deployments_one_starting_per_project
  on public.deployments (project_id) where status in ('pending', 'starting');
alter table public.deployments enable row level security;

create trigger set_deployments_updated_at
  before update on public.deployments
  for each row execute function public.set_updated_at();

-- People choose what to deploy and may stop it; the rest is the sidecar's.
revoke insert, update, delete on public.deployments from anon, authenticated;
grant insert (project_id, model_name, model_version, url, runner) on public.deployments to authenticated;
grant update (status, error, stopped_at) on public.deployments to authenticated;

create policy "Project readers can read its deployments"
  on public.deployments for select
  to authenticated
  using (project_id = any (array(select public.readable_project_ids())));

create policy "Project writers can deploy its models"
  on public.deployments for insert
  to authenticated
  with check (
    project_id = any (array(select public.writable_project_ids()))
    and created_by = (select auth.uid())
    and status = 'pending'
  );

create policy "Project writers can stop its deployments"
  on public.deployments for update
  to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())) and status = 'stopped');

-- API keys of a project's endpoint: `Authorization: Bearer ink_…` or
-- `X-API-Key` on /api/v1/predict/<slug>. A key belongs to the endpoint, not
-- to one version, so clients keep working when another version is deployed.
-- Only a SHA-256 of the key is stored (keys are 256 random bits: a slow hash
-- adds nothing) and its first characters, to tell keys apart.

create table public.deployment_keys (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  -- The deployment it was created from (for the record).
  deployment_id uuid references public.deployments (id) on delete set null,
  name text not null default '' check (char_length(name) <= 100),
  prefix text not null check (prefix ~ '^ink_[A-Za-z0-9_-]{4,12}$'),
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
comment on table public.deployment_keys is
  'API keys of a project''s prediction endpoint; only their SHA-256 is kept.';
create index deployment_keys_project_id_idx on public.deployment_keys (project_id, created_at);
alter table public.deployment_keys enable row level security;

-- The hash is the sidecar's to compare (as the service role); people see the prefix.
revoke select, insert, update, delete on public.deployment_keys from anon, authenticated;
grant select (id, project_id, deployment_id, name, prefix, created_by, created_at, revoked_at)
  on public.deployment_keys to authenticated;
grant insert (project_id, deployment_id, name, prefix, key_hash) on public.deployment_keys to authenticated;
grant update (revoked_at) on public.deployment_keys to authenticated;

create policy "Project writers can read its API keys"
  on public.deployment_keys for select
  to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

create policy "Project writers can create API keys"
  on public.deployment_keys for insert
  to authenticated
  with check (
    project_id = any (array(select public.writable_project_ids()))
    and created_by = (select auth.uid())
    and revoked_at is null
  );

create policy "Project writers can revoke API keys"
  on public.deployment_keys for update
  to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())) and revoked_at is not null);
