-- Tracking: an MLflow-compatible store of experiments, runs (metrics, params,
-- tags, dataset inputs) and the model registry (registered models, versions,
-- tags, aliases), served by the sidecar at /api/2.0/mlflow. Everything belongs
-- to a project: the project's readers read it, its writers (the owner, and
-- members of the project's team with at least the member role) write it.
-- Every child row carries its project_id (kept equal to its parent's by
-- composite foreign keys), so each policy compares one column with the
-- caller's projects, computed once per statement rather than once per row:
-- a log-batch of 1,000 metrics is one insert checked once.
--
-- Timestamps are milliseconds since the epoch (bigint), as MLflow's API has
-- them. Names of experiments and registered models are unique across all
-- projects, as MLflow addresses them by name alone.

-- The projects the current user reads or writes: can_read_project() and
-- can_write_project() (datasets migration) as sets. A policy that compares
-- project_id with `any (array(select …))` computes the set once per
-- statement (an init plan) instead of calling a function once per row: a
-- log-batch inserts 1,000 metric rows in one statement.

create function public.readable_project_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select p.id from public.projects p where p.owner_id = (select auth.uid())
  union
  select p.id from public.projects p
  where p.visibility = 'team'
    and p.team_id = any (array(select public.team_ids_with_role('viewer')));
$$;
comment on function public.readable_project_ids() is
  'The ids of the projects the current user can read: their own and their teams'' (any role).';
revoke execute on function public.readable_project_ids() from public, anon;
grant execute on function public.readable_project_ids() to authenticated, service_role;

create function public.writable_project_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select p.id from public.projects p where p.owner_id = (select auth.uid())
  union
  select p.id from public.projects p
  where p.visibility = 'team'
    and p.team_id = any (array(select public.team_ids_with_role('member')));
$$;
comment on function public.writable_project_ids() is
  'The ids of the projects whose content the current user can change: their own, and their teams'' where they are at least a member.';
revoke execute on function public.writable_project_ids() from public, anon;
grant execute on function public.writable_project_ids() to authenticated, service_role;

-- Experiments

create table public.experiments (
  experiment_id bigint generated always as identity primary key,
  project_id uuid not null references public.projects (id) on delete cascade,
  name text not null unique check (char_length(name) between 1 and 500),
  -- Artifacts live in Storage (bucket `artifacts`, folder `<experiment_id>/`),
  -- reached through the sidecar's proxied mlflow-artifacts API.
  artifact_location text generated always as ('mlflow-artifacts:/' || experiment_id::text) stored,
  lifecycle_stage text not null default 'active' check (lifecycle_stage in ('active', 'deleted')),
  creation_time bigint not null,
  last_update_time bigint not null,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  unique (experiment_id, project_id)
);
comment on table public.experiments is
  'MLflow experiments; each belongs to a project (its default one is named after the project''s slug).';
create index experiments_project_id_idx on public.experiments (project_id);
alter table public.experiments enable row level security;

create table public.experiment_tags (
  experiment_id bigint not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 250),
  value text not null check (char_length(value) <= 5000),
  primary key (experiment_id, key),
  foreign key (experiment_id, project_id)
    references public.experiments (experiment_id, project_id) on delete cascade
);
alter table public.experiment_tags enable row level security;

-- Runs

create table public.runs (
  -- MLflow's run_uuid; the event stream checks who may read `runs.id`.
  id text primary key check (id ~ '^[0-9a-f]{32}$'),
  experiment_id bigint not null,
  project_id uuid not null,
  name text not null check (char_length(name) <= 250),
  -- MLflow's free-text user (its clients send the OS user name).
  user_id text not null default '' check (char_length(user_id) <= 256),
  status text not null default 'RUNNING'
    check (status in ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
  start_time bigint not null,
  end_time bigint,
  lifecycle_stage text not null default 'active' check (lifecycle_stage in ('active', 'deleted')),
  deleted_time bigint,
  artifact_uri text generated always as (
    'mlflow-artifacts:/' || experiment_id::text || '/' || id || '/artifacts'
  ) stored,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  unique (id, project_id),
  foreign key (experiment_id, project_id)
    references public.experiments (experiment_id, project_id) on delete cascade
);
create index runs_experiment_start_idx on public.runs (experiment_id, start_time desc);
create index runs_project_id_idx on public.runs (project_id);
alter table public.runs enable row level security;

-- Every value ever logged: metrics append (a value logged twice is kept
-- twice, as MLflow's file store does). Postgres' double precision holds NaN
-- and ±Infinity, which MLflow allows.
create table public.run_metrics (
  run_id text not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 250),
  value double precision not null,
  timestamp bigint not null,
  step bigint not null default 0,
  is_nan boolean generated always as (value = 'NaN'::double precision) stored
);
-- get-history reads one key of one run in step order.
create index run_metrics_history_idx on public.run_metrics (run_id, key, step, timestamp);
alter table public.run_metrics enable row level security;

-- Metrics arrive a thousand at a time, and a foreign key checks each row on
-- its own (half the cost of a log-batch on PGlite): instead, one check per
-- statement keeps every metric with the run and project it names, and a
-- run's metrics go with it.
create function public.check_metrics_belong_to_runs()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (
    select 1
    from (select distinct m.run_id, m.project_id from inserted m) m
    where not exists (
      select 1 from public.runs r where r.id = m.run_id and r.project_id = m.project_id
    )
  ) then
    raise exception 'Metrics must name a run of their project.'
      using errcode = '23503';
  end if;
  return null;
end;
$$;
revoke execute on function public.check_metrics_belong_to_runs() from public, anon, authenticated;

create trigger check_metrics_belong_to_runs
  after insert on public.run_metrics
  referencing new table as inserted
  for each statement execute function public.check_metrics_belong_to_runs();

create function public.delete_metrics_of_deleted_runs()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.run_metrics m using gone g where m.run_id = g.id;
  return null;
end;
$$;
revoke execute on function public.delete_metrics_of_deleted_runs() from public, anon, authenticated;

create trigger delete_metrics_of_deleted_runs
  after delete on public.runs
  referencing old table as gone
  for each statement execute function public.delete_metrics_of_deleted_runs();

-- The latest value of each metric (highest step, then timestamp, then value,
-- as MLflow orders them): what runs/get and runs/search show.
create table public.run_latest_metrics (
  run_id text not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 250),
  value double precision not null,
  timestamp bigint not null,
  step bigint not null,
  is_nan boolean generated always as (value = 'NaN'::double precision) stored,
  primary key (run_id, key),
  foreign key (run_id, project_id) references public.runs (id, project_id) on delete cascade
);
alter table public.run_latest_metrics enable row level security;

-- Params are written once: the sidecar refuses another value for a key.
create table public.run_params (
  run_id text not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 250),
  value text not null check (char_length(value) <= 6000),
  primary key (run_id, key),
  foreign key (run_id, project_id) references public.runs (id, project_id) on delete cascade
);
alter table public.run_params enable row level security;

-- Tags: the last write wins.
create table public.run_tags (
  run_id text not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 250),
  value text not null check (char_length(value) <= 5000),
  primary key (run_id, key),
  foreign key (run_id, project_id) references public.runs (id, project_id) on delete cascade
);
alter table public.run_tags enable row level security;

-- Dataset lineage (runs/log-inputs): a dataset is recorded once per
-- experiment by name and digest; a run's input points at it, with tags
-- (e.g. mlflow.data.context = training).

create table public.experiment_datasets (
  id uuid primary key default gen_random_uuid(),
  experiment_id bigint not null,
  project_id uuid not null,
  name text not null check (char_length(name) between 1 and 500),
  digest text not null check (char_length(digest) between 1 and 36),
  source_type text not null check (char_length(source_type) between 1 and 36),
  source text not null check (char_length(source) <= 65535),
  schema text check (char_length(schema) <= 1048575),
  profile text check (char_length(profile) <= 16777215),
  unique (experiment_id, name, digest),
  unique (id, project_id),
  foreign key (experiment_id, project_id)
    references public.experiments (experiment_id, project_id) on delete cascade
);
alter table public.experiment_datasets enable row level security;

create table public.run_inputs (
  id uuid primary key default gen_random_uuid(),
  run_id text not null,
  project_id uuid not null,
  dataset_id uuid not null,
  unique (run_id, dataset_id),
  unique (id, project_id),
  foreign key (run_id, project_id) references public.runs (id, project_id) on delete cascade,
  foreign key (dataset_id, project_id)
    references public.experiment_datasets (id, project_id) on delete cascade
);
create index run_inputs_dataset_id_idx on public.run_inputs (dataset_id);
alter table public.run_inputs enable row level security;

create table public.run_input_tags (
  input_id uuid not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 255),
  value text not null check (char_length(value) <= 500),
  primary key (input_id, key),
  foreign key (input_id, project_id) references public.run_inputs (id, project_id) on delete cascade
);
alter table public.run_input_tags enable row level security;

-- Model registry

create table public.registered_models (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  name text not null unique check (char_length(name) between 1 and 256),
  description text not null default '' check (char_length(description) <= 5000),
  creation_timestamp bigint not null,
  last_updated_timestamp bigint not null,
  -- Versions are numbered 1, 2, 3, … and a number is never given twice, even
  -- after a delete; taking one locks this row, so concurrent registrations
  -- queue instead of colliding.
  next_version integer not null default 1 check (next_version >= 1),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  unique (id, project_id)
);
comment on table public.registered_models is
  'MLflow registered models; each belongs to a project (its default one is named after the project''s slug).';
create index registered_models_project_id_idx on public.registered_models (project_id);
alter table public.registered_models enable row level security;

create table public.registered_model_tags (
  model_id uuid not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 250),
  value text not null check (char_length(value) <= 5000),
  primary key (model_id, key),
  foreign key (model_id, project_id)
    references public.registered_models (id, project_id) on delete cascade
);
alter table public.registered_model_tags enable row level security;

create table public.model_versions (
  -- The event stream checks who may read `model_versions.id`.
  id uuid primary key default gen_random_uuid(),
  model_id uuid not null,
  project_id uuid not null,
  version integer not null check (version >= 1),
  creation_timestamp bigint not null,
  last_updated_timestamp bigint not null,
  user_id text not null default '' check (char_length(user_id) <= 256),
  current_stage text not null default 'None'
    check (current_stage in ('None', 'Staging', 'Production', 'Archived')),
  description text not null default '' check (char_length(description) <= 5000),
  source text not null check (char_length(source) <= 5000),
  -- The run that produced it, when there is one (MLflow does not require it).
  run_id text check (char_length(run_id) <= 32),
  run_link text not null default '' check (char_length(run_link) <= 500),
  status text not null default 'READY'
    check (status in ('PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY')),
  status_message text not null default '' check (char_length(status_message) <= 500),
  unique (model_id, version),
  unique (id, project_id),
  foreign key (model_id, project_id)
    references public.registered_models (id, project_id) on delete cascade
);
create index model_versions_run_id_idx on public.model_versions (run_id) where run_id is not null;
alter table public.model_versions enable row level security;

create table public.model_version_tags (
  version_id uuid not null,
  project_id uuid not null,
  key text not null check (char_length(key) between 1 and 250),
  value text not null check (char_length(value) <= 5000),
  primary key (version_id, key),
  foreign key (version_id, project_id)
    references public.model_versions (id, project_id) on delete cascade
);
alter table public.model_version_tags enable row level security;

-- An alias (e.g. `champion`) names one version of a model; it goes with
-- the version it names.
create table public.registered_model_aliases (
  model_id uuid not null,
  project_id uuid not null,
  alias text not null check (char_length(alias) between 1 and 255),
  version integer not null,
  primary key (model_id, alias),
  foreign key (model_id, project_id)
    references public.registered_models (id, project_id) on delete cascade,
  foreign key (model_id, version)
    references public.model_versions (model_id, version) on delete cascade
);
alter table public.registered_model_aliases enable row level security;

-- What people may change: never which project a row belongs to, nor its id.
revoke update on
  public.experiments, public.experiment_tags, public.runs, public.run_metrics,
  public.run_latest_metrics, public.run_params, public.run_tags,
  public.experiment_datasets, public.run_inputs, public.run_input_tags,
  public.registered_models, public.registered_model_tags, public.model_versions,
  public.model_version_tags, public.registered_model_aliases
  from anon, authenticated;
grant update (name, lifecycle_stage, last_update_time) on public.experiments to authenticated;
grant update (value) on public.experiment_tags to authenticated;
grant update (name, status, end_time, lifecycle_stage, deleted_time) on public.runs to authenticated;
grant update (value, timestamp, step) on public.run_latest_metrics to authenticated;
grant update (value) on public.run_tags to authenticated;
grant update (name, description, last_updated_timestamp, next_version)
  on public.registered_models to authenticated;
grant update (value) on public.registered_model_tags to authenticated;
grant update (description, current_stage, last_updated_timestamp, status, status_message)
  on public.model_versions to authenticated;
grant update (value) on public.model_version_tags to authenticated;
grant update (version) on public.registered_model_aliases to authenticated;

-- Policies: readers of the project read, writers of the project write.

-- public.experiments
create policy "Project readers can read experiments"
  on public.experiments for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add experiments"
  on public.experiments for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change experiments"
  on public.experiments for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.experiment_tags
create policy "Project readers can read experiment tags"
  on public.experiment_tags for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add experiment tags"
  on public.experiment_tags for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change experiment tags"
  on public.experiment_tags for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can remove experiment tags"
  on public.experiment_tags for delete to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

-- public.runs
create policy "Project readers can read runs"
  on public.runs for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add runs"
  on public.runs for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change runs"
  on public.runs for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.run_metrics
create policy "Project readers can read metrics"
  on public.run_metrics for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add metrics"
  on public.run_metrics for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.run_latest_metrics
create policy "Project readers can read latest metrics"
  on public.run_latest_metrics for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add latest metrics"
  on public.run_latest_metrics for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change latest metrics"
  on public.run_latest_metrics for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.run_params
create policy "Project readers can read params"
  on public.run_params for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add params"
  on public.run_params for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.run_tags
create policy "Project readers can read run tags"
  on public.run_tags for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add run tags"
  on public.run_tags for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change run tags"
  on public.run_tags for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can remove run tags"
  on public.run_tags for delete to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

-- public.experiment_datasets
create policy "Project readers can read datasets logged as run inputs"
  on public.experiment_datasets for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add datasets logged as run inputs"
  on public.experiment_datasets for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.run_inputs
create policy "Project readers can read run inputs"
  on public.run_inputs for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add run inputs"
  on public.run_inputs for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.run_input_tags
create policy "Project readers can read run input tags"
  on public.run_input_tags for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add run input tags"
  on public.run_input_tags for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));

-- public.registered_models
create policy "Project readers can read registered models"
  on public.registered_models for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add registered models"
  on public.registered_models for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change registered models"
  on public.registered_models for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can remove registered models"
  on public.registered_models for delete to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

-- public.registered_model_tags
create policy "Project readers can read registered model tags"
  on public.registered_model_tags for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add registered model tags"
  on public.registered_model_tags for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change registered model tags"
  on public.registered_model_tags for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can remove registered model tags"
  on public.registered_model_tags for delete to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

-- public.registered_model_aliases
create policy "Project readers can read model aliases"
  on public.registered_model_aliases for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add model aliases"
  on public.registered_model_aliases for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change model aliases"
  on public.registered_model_aliases for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can remove model aliases"
  on public.registered_model_aliases for delete to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

-- public.model_versions
create policy "Project readers can read model versions"
  on public.model_versions for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add model versions"
  on public.model_versions for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change model versions"
  on public.model_versions for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can remove model versions"
  on public.model_versions for delete to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

-- public.model_version_tags
create policy "Project readers can read model version tags"
  on public.model_version_tags for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
create policy "Project writers can add model version tags"
  on public.model_version_tags for insert to authenticated
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can change model version tags"
  on public.model_version_tags for update to authenticated
  using (project_id = any (array(select public.writable_project_ids())))
  with check (project_id = any (array(select public.writable_project_ids())));
create policy "Project writers can remove model version tags"
  on public.model_version_tags for delete to authenticated
  using (project_id = any (array(select public.writable_project_ids())));

-- Artifacts: the private `artifacts` bucket of Storage. Objects live at
-- `<experiment_id>/<run_id>/artifacts/<path>` (a run's artifact_uri is
-- `mlflow-artifacts:/<experiment_id>/<run_id>/artifacts`); whoever reads the
-- experiment's project reads them, its writers add, replace and delete them.

insert into storage.buckets (id, name, public)
values ('artifacts', 'artifacts', false)
on conflict (id) do nothing;

-- The project of the experiment an artifact's path starts with; null when
-- the first folder is not an experiment id.
create function public.artifact_project_id(p_name text)
returns uuid
language sql
stable
security definer
set search_path = ''
as $$
  select e.project_id
  from public.experiments e
  where split_part(p_name, '/', 1) ~ '^[0-9]{1,18}$'
    and e.experiment_id = split_part(p_name, '/', 1)::bigint;
$$;
comment on function public.artifact_project_id(text) is
  'The project of the experiment named by the first folder of an artifact path, or null.';
revoke execute on function public.artifact_project_id(text) from public, anon;
grant execute on function public.artifact_project_id(text) to authenticated, service_role;

create policy "Project readers can read run artifacts"
  on storage.objects for select to authenticated
  using (
    bucket_id = 'artifacts'
    and public.can_read_project(public.artifact_project_id(name))
  );

create policy "Project writers can add run artifacts"
  on storage.objects for insert to authenticated
  with check (
    bucket_id = 'artifacts'
    and public.can_write_project(public.artifact_project_id(name))
  );

create policy "Project writers can replace run artifacts"
  on storage.objects for update to authenticated
  using (
    bucket_id = 'artifacts'
    and public.can_write_project(public.artifact_project_id(name))
  )
  with check (
    bucket_id = 'artifacts'
    and public.can_write_project(public.artifact_project_id(name))
  );

create policy "Project writers can delete run artifacts"
  on storage.objects for delete to authenticated
  using (
    bucket_id = 'artifacts'
    and public.can_write_project(public.artifact_project_id(name))
  );
