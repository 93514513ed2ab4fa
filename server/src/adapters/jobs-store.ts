import type { Queryable } from '../db/types';
import type { RunnerKind } from '../jobs/runner';
import type { ParamValue, TrainAlgorithm, TrainTask } from '../jobs/algorithms';
import { iso } from './projects-store';

/**
 * SQL for `public.jobs` and `public.job_log_lines`. Reads and the insert run
 * under the caller's claims (`withClaims`); what the supervising sidecar
 * records afterwards (status, log lines) runs as the service (`asService`).
 */
export type JobStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set([
  'succeeded',
  'failed',
  'cancelled'
]);

/** A job as the API answers it. */
export interface JobRow {
  id: string;
  project_id: string;
  kind: 'train';
  status: JobStatus;
  error: string | null;
  run_id: string;
  experiment_id: string | null;
  dataset_id: string;
  dataset_version: number | null;
  target: string;
  algorithm: TrainAlgorithm;
  task: TrainTask | null;
  params: Record<string, ParamValue>;
  runner: RunnerKind;
  limits: { memory_mb: number; cpus: number };
  model_name: string | null;
  model_version: number | null;
  exit_code: number | null;
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** What only the supervising sidecar needs. */
export interface JobSupervision {
  runner_ref: string | null;
  worker: string | null;
  log_lines: number;
}

export interface NewJob {
  id: string;
  project_id: string;
  run_id: string;
  experiment_id: string | null;
  dataset_id: string;
  dataset_version: number | null;
  target: string;
  algorithm: TrainAlgorithm;
  task: TrainTask | null;
  params: Record<string, ParamValue>;
  runner: RunnerKind;
  memory_limit_mb: number;
  cpu_limit: number;
  model_name: string | null;
  worker: string;
}

export interface JobLogLine {
  n: number;
  stream: 'stdout' | 'stderr';
  text: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

const JOB_COLUMNS = `
  j.id, j.project_id, j.kind, j.status, j.error, j.run_id, j.experiment_id,
  j.dataset_id, j.dataset_version, j.target, j.algorithm, j.task, j.params, j.runner,
  json_build_object('memory_mb', j.memory_limit_mb, 'cpus', j.cpu_limit) as limits,
  j.model_name, j.model_version, j.exit_code, j.created_by,
  ${iso('j.created_at')} as created_at, ${iso('j.started_at')} as started_at,
  ${iso('j.finished_at')} as finished_at`;

const RETURNING_COLUMNS = JOB_COLUMNS.replace(/\bj\./g, 'jobs.');

export async function insertJob(tx: Queryable, job: NewJob): Promise<JobRow> {
  const result = await tx.query<JobRow>(
    `insert into public.jobs
       (id, project_id, run_id, experiment_id, dataset_id, dataset_version, target,
        algorithm, task, params, runner, memory_limit_mb, cpu_limit, model_name, worker)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     returning ${RETURNING_COLUMNS}`,
    [
      job.id,
      job.project_id,
      job.run_id,
      job.experiment_id,
      job.dataset_id,
      job.dataset_version,
      job.target,
      job.algorithm,
      job.task,
      JSON.stringify(job.params),
      job.runner,
      job.memory_limit_mb,
      job.cpu_limit,
      job.model_name,
      job.worker
    ]
  );
  return result.rows[0];
}

export async function findJob(
  tx: Queryable,
  id: string
): Promise<JobRow | undefined> {
  const result = await tx.query<JobRow>(
    `select ${JOB_COLUMNS} from public.jobs j where j.id = $1`,
    [id]
  );
  return result.rows[0];
}

/** The jobs the caller can read, newest first; of one project when given. */
export async function listJobs(
  tx: Queryable,
  projectId: string | null,
  limit: number
): Promise<JobRow[]> {
  const result = await tx.query<JobRow>(
    `select ${JOB_COLUMNS} from public.jobs j
     where ($1::uuid is null or j.project_id = $1)
     order by j.created_at desc, j.id
     limit $2`,
    [projectId, limit]
  );
  return result.rows;
}

export async function findSupervision(
  tx: Queryable,
  id: string
): Promise<(JobRow & JobSupervision) | undefined> {
  const result = await tx.query<JobRow & JobSupervision>(
    `select ${JOB_COLUMNS}, j.runner_ref, j.worker, j.log_lines from public.jobs j where j.id = $1`,
    [id]
  );
  return result.rows[0];
}

/** This sidecar's jobs that had not ended when it stopped. */
export async function unfinishedJobs(
  tx: Queryable,
  worker: string
): Promise<(JobRow & JobSupervision)[]> {
  const result = await tx.query<JobRow & JobSupervision>(
    `select ${JOB_COLUMNS}, j.runner_ref, j.worker, j.log_lines from public.jobs j
     where j.worker = $1 and j.status in ('queued', 'running')
     order by j.created_at`,
    [worker]
  );
  return result.rows;
}

/** queued → running; undefined when the job is gone or no longer queued. */
export async function markRunning(
  tx: Queryable,
  id: string,
  runnerRef: string
): Promise<JobRow | undefined> {
  const result = await tx.query<JobRow>(
    `update public.jobs set status = 'running', runner_ref = $2, started_at = now()
     where id = $1 and status = 'queued'
     returning ${RETURNING_COLUMNS}`,
    [id, runnerRef]
  );
  return result.rows[0];
}

export interface JobEnd {
  status: 'succeeded' | 'failed' | 'cancelled';
  error: string | null;
  exitCode: number | null;
  modelVersion: number | null;
}

/** The first end wins: undefined when the job is gone or had already ended. */
export async function finishJob(
  tx: Queryable,
  id: string,
  end: JobEnd
): Promise<JobRow | undefined> {
  const result = await tx.query<JobRow>(
    `update public.jobs
     set status = $2, error = $3, exit_code = $4, model_version = $5, finished_at = now()
     where id = $1 and status in ('queued', 'running')
     returning ${RETURNING_COLUMNS}`,
    [
      id,
      end.status,
      end.error?.slice(0, 4000) ?? null,
      end.exitCode,
      end.modelVersion
    ]
  );
  return result.rows[0];
}

/**
 * Counts lines numbered from the job's count on and stores those numbered
 * below `maxStored` (a runaway job must not fill the database; its log file
 * keeps everything). False when the job is gone (its project was deleted):
 * the caller stops the job.
 */
export async function appendLogLines(
  tx: Queryable,
  jobId: string,
  lines: Omit<JobLogLine, 'n'>[],
  maxStored: number
): Promise<boolean> {
  const counted = await tx.query<{ project_id: string; first: number }>(
    `update public.jobs set log_lines = log_lines + $2
     where id = $1
     returning project_id, log_lines - $2 as first`,
    [jobId, lines.length]
  );
  const job = counted.rows[0];
  if (!job) {
    return false;
  }
  if (lines.length && job.first < maxStored) {
    await tx.query(
      `insert into public.job_log_lines (job_id, project_id, n, stream, line, logged_at)
       select $1, $2, $3::int + t.i - 1, t.stream, t.line, t.logged_at
       from unnest($4::text[], $5::text[], $6::bigint[]) with ordinality as t(stream, line, logged_at, i)
       where $3::int + t.i - 1 < $7`,
      [
        jobId,
        job.project_id,
        job.first,
        lines.map(l => l.stream),
        lines.map(l => l.text),
        lines.map(l => l.timestamp),
        maxStored
      ]
    );
  }
  return true;
}

/** Lines numbered `since` and after, in order. */
export async function readLogLines(
  tx: Queryable,
  jobId: string,
  since: number,
  limit: number
): Promise<JobLogLine[]> {
  const result = await tx.query<JobLogLine>(
    `select n, stream, line as text, logged_at::float8 as timestamp
     from public.job_log_lines
     where job_id = $1 and n >= $2
     order by n
     limit $3`,
    [jobId, since, limit]
  );
  return result.rows;
}
