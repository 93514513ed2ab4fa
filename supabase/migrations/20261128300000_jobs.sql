-- Jobs: training runs started from Insighter (POST /api/v1/jobs). A job
-- belongs to a project: the project's readers see it and its log, its
-- writers start and cancel it. What happens to a job after it started (status,
-- exit code, log lines, the registered model version) is written by the
-- sidecar that supervises it, as the service role: nobody edits a job's
-- history by hand, and a job keeps reporting even if its starter lost access.
--
-- run_id and dataset_id are kept as plain values, not foreign keys: tracking
-- may be an external MLflow server, and a job's record must outlive a
-- dataset deleted after (or while) it ran.

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references public.projects (id) on delete cascade,
  kind text not null default 'train' check (kind in ('train')),
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  -- Why it failed, in words a person can act on.
  error text check (char_length(error) <= 4000),
  -- The MLflow run (and its experiment) the job logs to.
  run_id text not null check (char_length(run_id) between 1 and 64),
  experiment_id text check (char_length(experiment_id) <= 64),
  dataset_id uuid not null,
  dataset_version integer check (dataset_version >= 1),
  target text not null check (char_length(target) between 1 and 1000),
  algorithm text not null check (algorithm in ('xgboost', 'logistic_regression', 'random_forest')),
  task text check (task in ('classification', 'regression')),
  params jsonb not null default '{}'::jsonb check (jsonb_typeof(params) = 'object'),
  runner text not null check (runner in ('process', 'docker')),
  memory_limit_mb integer not null check (memory_limit_mb > 0),
  cpu_limit real not null check (cpu_limit > 0),
  model_name text check (char_length(model_name) <= 500),
  model_version integer check (model_version >= 1),
  exit_code integer,
  -- What the engine knows the job by (`pid:<n>` or a container id), and which
  -- sidecar supervises it (an id kept in its data dir): after a restart a
  -- sidecar takes back its own jobs only.
  runner_ref text check (char_length(runner_ref) <= 200),
  worker text check (char_length(worker) <= 1000),
  -- Lines recorded in job_log_lines (the next line's number).
  log_lines integer not null default 0 check (log_lines >= 0),
  created_by uuid not null default auth.uid() references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint jobs_finished_has_time check (
    (status in ('succeeded', 'failed', 'cancelled')) = (finished_at is not null)
  )
);
comment on table public.jobs is
  'Training jobs of a project: what was asked, where it runs, and how it ended.';
create index jobs_project_created_idx on public.jobs (project_id, created_at desc);
-- A restarted sidecar looks for its unfinished jobs.
create index jobs_unfinished_idx on public.jobs (worker) where status in ('queued', 'running');
alter table public.jobs enable row level security;

create trigger set_jobs_updated_at
  before update on public.jobs
  for each row execute function public.set_updated_at();

-- People ask for a job; everything after that is the supervising sidecar's.
revoke insert, update, delete on public.jobs from anon, authenticated;
-- The id too: the job's run is created, and tagged with it, before the row.
grant insert (
  id, project_id, kind, run_id, experiment_id, dataset_id, dataset_version, target,
  algorithm, task, params, runner, memory_limit_mb, cpu_limit, model_name, worker
) on public.jobs to authenticated;

create policy "Project readers can read its jobs"
  on public.jobs for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));

create policy "Project writers can start jobs"
  on public.jobs for insert to authenticated
  with check (
    created_by = (select auth.uid())
    and status = 'queued'
    and project_id = any (array(select public.writable_project_ids()))
  );

-- Log lines, numbered from 0 per job in the order the runner delivered them.
-- project_id is the job's (kept equal by the composite foreign key), so the
-- read policy compares one column per statement, not one lookup per line.
alter table public.jobs add constraint jobs_id_project_key unique (id, project_id);

create table public.job_log_lines (
  job_id uuid not null,
  project_id uuid not null,
  n integer not null check (n >= 0),
  stream text not null check (stream in ('stdout', 'stderr')),
  line text not null check (char_length(line) <= 8192),
  -- Milliseconds since the epoch, as the events carry them.
  logged_at bigint not null,
  primary key (job_id, n),
  foreign key (job_id, project_id)
    references public.jobs (id, project_id) on delete cascade
);
comment on table public.job_log_lines is
  'What a job printed, line by line (stdout and stderr), as its runner delivered it.';
alter table public.job_log_lines enable row level security;

revoke insert, update, delete on public.job_log_lines from anon, authenticated;

create policy "Project readers can read its job logs"
  on public.job_log_lines for select to authenticated
  using (project_id = any (array(select public.readable_project_ids())));
