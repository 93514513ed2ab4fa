import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetRecord } from '../adapters/datasets-store';
import { canWriteProject } from '../adapters/datasets-store';
import {
  appendLogLines,
  findJob,
  finishJob,
  insertJob,
  listJobs,
  markRunning,
  readLogLines,
  TERMINAL_JOB_STATUSES,
  unfinishedJobs,
  type JobEnd,
  type JobLogLine,
  type JobRow,
  type JobStatus
} from '../adapters/jobs-store';
import { isNumericType } from '../datasets/profile/json-values';
import type { Database, JwtClaims } from '../db/types';
import type { EventHub, EventResource } from '../events/hub';
import { HttpError } from '../http/errors';
import {
  ALGORITHMS,
  algorithmSpec,
  resolveParams,
  type TrainJobBody,
  type TrainTask
} from '../jobs/algorithms';
import { DockerUnavailableError } from '../jobs/docker-runner';
import { channelUrl, type JobChannels } from '../jobs/job-channel';
import type { JobTokenIssuer } from '../jobs/job-tokens';
import {
  outOfMemoryMessage,
  type JobExit,
  type JobHandle,
  type JobLimits,
  type JobStats,
  type LogLine
} from '../jobs/runner';
import type { JobRunners } from '../jobs/runners';
import {
  scriptError,
  TRAIN_COMMAND,
  TrainExit
} from '../jobs/training-package';
import type { Logger } from '../logger';
import { MlflowError } from '../tracking/errors';
import type { RunStatus, TrackingStore } from '../tracking/tracking-store';
import type { DatasetsService } from './datasets';
import type { ProjectsService } from './projects';

/**
 * Training jobs: checks a request against the project, the dataset and the
 * algorithm's bounds; opens the MLflow run in the project's experiment;
 * starts the training script on a runner with a token of the user's; follows
 * it — log lines to the database, the event stream (`run.log`) and a log
 * file, uploaded as the run's `logs/job.log` at the end — and records how it
 * ended on the job and on the run (FAILED with the reason, KILLED on cancel)
 * with the model version it registered. After a restart, Docker jobs are
 * re-attached and process jobs marked failed with the reason.
 *
 * Requests run under the caller's claims (RLS decides what they see); what
 * the supervisor records later runs as the service, so a job keeps reporting
 * whoever reads it.
 *
 * Training reads user data with user-chosen parameters, so it runs in a
 * sandbox — a container, or bubblewrap for the process runner — with no
 * network: it reaches the sidecar through its own unix socket
 * (jobs/job-channel.ts), mounted into its sandbox alone. A process job is
 * refused (409) where bubblewrap cannot run.
 */
export interface JobsServiceOptions {
  db: Database;
  events: EventHub;
  tracking: TrackingStore;
  projects: ProjectsService;
  datasets: DatasetsService;
  runners: JobRunners;
  tokens: JobTokenIssuer;
  /** How a job reaches this sidecar (tracking API, dataset download): a socket of its own. */
  channels: JobChannels;
  dataDir: string;
  /** Which sidecar this is (jobs/worker-id.ts): it takes back its own jobs after a restart. */
  worker: string;
  limits: {
    memoryMb: number;
    cpus: number;
    maxMemoryMb: number;
    maxCpus: number;
  };
  /** Jobs running at once; more wait, queued. */
  maxRunning: number;
  logger: Logger;
  /** Log lines are published and stored at most this often. */
  logFlushMs?: number;
  /** Between SIGTERM and SIGKILL on cancel. */
  stopGraceMs?: number;
}

/** Lines kept in the database per job; the log file (and artifact) keeps all. */
export const MAX_STORED_LOG_LINES = 20_000;
const MAX_LOG_PAGE = 5000;
const MAX_LISTED_JOBS = 500;
/** stderr lines kept in memory to find the script's reason. */
const STDERR_TAIL = 200;
const CANCEL_WAIT_MS = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An integer target with at most this many values is taken as classes (as the script does). */
const MAX_CLASSES_FOR_INTEGER_TARGET = 20;

export const jobNotFound = () =>
  new HttpError(404, 'Job not found.', 'not_found');

export const SIDECAR_RESTARTED =
  'The sidecar restarted while the job was running: a job running as a local process cannot be followed again. Start it again (jobs in Docker survive restarts).';

/** One job this sidecar follows. */
interface Supervised {
  job: JobRow;
  /** The project's owner-side claims the supervisor acts with in tracking. */
  user: JwtClaims;
  handle?: JobHandle;
  cancelRequested: boolean;
  /** The job's row is gone (its project was deleted). */
  gone: boolean;
  /** Resolves once the end was recorded. */
  done: Promise<void>;
  settle: () => void;
  pump?: LogPump;
  /** It counts against `maxRunning` (started, or followed again). */
  holdsSlot: boolean;
  /** The sidecar is closing and stopped this process job. */
  stoppingForShutdown: boolean;
}

interface QueuedStart {
  sup: Supervised;
  start: () => Promise<void>;
}

export class JobsService {
  private readonly active = new Map<string, Supervised>();
  private readonly queue: QueuedStart[] = [];
  private running = 0;
  private closed = false;

  constructor(private readonly o: JobsServiceOptions) {}

  algorithms() {
    return { algorithms: ALGORITHMS };
  }

  async list(user: JwtClaims, projectId: string | null): Promise<JobRow[]> {
    if (projectId !== null && !UUID.test(projectId)) {
      throw new HttpError(404, 'Project not found.', 'not_found');
    }
    return this.o.db.withClaims(user, tx =>
      listJobs(tx, projectId, MAX_LISTED_JOBS)
    );
  }

  async get(user: JwtClaims, id: string): Promise<JobRow> {
    if (!UUID.test(id)) {
      throw jobNotFound();
    }
    const job = await this.o.db.withClaims(user, tx => findJob(tx, id));
    if (!job) {
      throw jobNotFound();
    }
    return job;
  }

  async logs(
    user: JwtClaims,
    id: string,
    since: number,
    limit = MAX_LOG_PAGE
  ): Promise<{ lines: JobLogLine[]; done: boolean }> {
    if (!UUID.test(id)) {
      throw jobNotFound();
    }
    const page = Math.min(Math.max(1, limit), MAX_LOG_PAGE);
    return this.o.db.withClaims(user, async tx => {
      const job = await findJob(tx, id);
      if (!job) {
        throw jobNotFound();
      }
      const lines = await readLogLines(tx, id, since, page);
      // A job records its last lines before its end: once ended, a short page is the last.
      return {
        lines,
        done: TERMINAL_JOB_STATUSES.has(job.status) && lines.length < page
      };
    });
  }

  async stats(user: JwtClaims, id: string): Promise<JobStats> {
    const job = await this.get(user, id);
    const handle = this.active.get(job.id)?.handle;
    if (job.status !== 'running' || !handle?.stats) {
      throw new HttpError(
        409,
        job.status === 'running'
          ? 'This job runs under another Insighter server: its resource use is not known here.'
          : `The job is ${job.status}: resource use is shown while it runs.`,
        'not_running'
      );
    }
    try {
      return await handle.stats();
    } catch {
      throw new HttpError(
        409,
        'The job just ended: resource use is shown while it runs.',
        'not_running'
      );
    }
  }

  async create(user: JwtClaims, body: TrainJobBody): Promise<JobRow> {
    if (this.closed) {
      throw new HttpError(
        503,
        'The server is shutting down: start the job again in a moment.',
        'unavailable'
      );
    }
    const resolved = resolveParams(body.algorithm, body.params);
    if ('problems' in resolved) {
      throw new HttpError(
        400,
        resolved.problems.map(p => p.message).join(' '),
        'invalid_input',
        { fields: resolved.problems }
      );
    }
    const project = await this.o.projects.get(user, body.project_id);
    const writable = await this.o.db.withClaims(user, tx =>
      canWriteProject(tx, project.id)
    );
    if (!writable) {
      throw new HttpError(
        403,
        'You can see this project but not train in it: ask a team admin to make you a member of its team.',
        'forbidden'
      );
    }
    const dataset = await this.datasetFor(user, body, project.id);
    const task = this.taskFor(body, dataset);
    const limits = this.limitsFor(body);
    const runner = body.runner ?? (await this.o.runners.defaultKind());
    if (runner === 'process') {
      const sandbox = await this.o.runners.process.availability();
      if (!sandbox.available) {
        throw new HttpError(
          409,
          `Training runs in a sandbox, and none can start here: ${sandbox.detail}`,
          'sandbox_unavailable'
        );
      }
    }

    // Before the run is opened: a job that cannot get a token leaves nothing behind.
    const jobId = randomUUID();
    const token = await this.o.tokens.issue(user, jobId);
    const { experiment_id, run } = await this.openRun(
      user,
      project,
      jobId,
      body,
      dataset
    );
    let job: JobRow;
    try {
      job = await this.o.db.withClaims(user, tx =>
        insertJob(tx, {
          id: jobId,
          project_id: project.id,
          run_id: run,
          experiment_id,
          dataset_id: dataset.id,
          dataset_version: dataset.version,
          target: body.target,
          algorithm: body.algorithm,
          task,
          params: resolved.params,
          runner,
          memory_limit_mb: limits.memoryMb,
          cpu_limit: limits.cpus,
          model_name: project.slug,
          worker: this.o.worker
        })
      );
    } catch (err) {
      // Nothing half-made: the run says why it never ran.
      await this.endRun(
        user,
        run,
        'FAILED',
        'The job could not be recorded.'
      ).catch(() => undefined);
      throw err;
    }
    this.publishUpdate(job);
    const sup = this.supervise(job, ownerClaims(job));
    const spec = {
      target: body.target,
      algorithm: body.algorithm,
      task,
      params: resolved.params,
      model_name: project.slug,
      dataset: {
        id: dataset.id,
        version: dataset.version,
        name: dataset.name,
        sha256: dataset.sha256
      }
    };
    this.enqueue(sup, () => this.start(sup, token, spec, limits));
    return job;
  }

  async cancel(user: JwtClaims, id: string): Promise<JobRow> {
    const job = await this.get(user, id);
    if (
      !(await this.o.db.withClaims(user, tx =>
        canWriteProject(tx, job.project_id)
      ))
    ) {
      throw new HttpError(
        403,
        "Only the project's members can cancel its jobs: you can only see this one.",
        'forbidden'
      );
    }
    if (TERMINAL_JOB_STATUSES.has(job.status)) {
      throw new HttpError(
        409,
        `The job already ended: it ${endedAs(job.status)}.`,
        'conflict'
      );
    }
    const sup = this.active.get(job.id);
    if (!sup) {
      throw new HttpError(
        409,
        'This job is run by another Insighter server (another session or machine): cancel it there.',
        'conflict'
      );
    }
    sup.cancelRequested = true;
    const queued = this.queue.findIndex(q => q.sup === sup);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      void this.complete(sup, { kind: 'cancelled' });
    } else if (sup.handle) {
      void sup.handle
        .stop(this.o.stopGraceMs ?? 5000)
        .catch(err =>
          this.o.logger.warn(
            { err, jobId: job.id },
            'jobs: could not stop a job'
          )
        );
    }
    // A start in progress sees the request as soon as its handle is there.
    await Promise.race([sup.done, delay(CANCEL_WAIT_MS)]);
    return this.get(user, id);
  }

  /**
   * After a start: this sidecar's jobs that had not ended. Docker jobs are
   * followed again; process jobs and jobs that never started are failed with
   * the reason (their runs too).
   */
  async recover(): Promise<void> {
    const rows = await this.o.db.asService(tx =>
      unfinishedJobs(tx, this.o.worker)
    );
    for (const row of rows) {
      const sup = this.supervise(row, ownerClaims(row));
      if (row.status === 'queued') {
        await this.complete(sup, {
          kind: 'failed',
          error: 'The sidecar restarted before the job started: start it again.'
        });
        continue;
      }
      if (row.runner === 'process') {
        if (row.runner_ref) {
          await this.o.runners.process
            .endLost(row.runner_ref, row.id)
            .catch(() => false);
        }
        await this.complete(sup, { kind: 'failed', error: SIDECAR_RESTARTED });
        continue;
      }
      let handle: JobHandle | undefined;
      try {
        handle = await this.o.runners.docker.reattach(row.id, row.log_lines);
      } catch (err) {
        await this.complete(sup, {
          kind: 'failed',
          error: `The sidecar restarted while the job was running, and the Docker engine at ${this.o.runners.docker.where} could not be reached to follow it again (${(err as Error).message}).`
        });
        continue;
      }
      if (!handle) {
        await this.complete(sup, {
          kind: 'failed',
          error:
            'The sidecar restarted while the job was running, and its container is gone.'
        });
        continue;
      }
      try {
        await this.openChannel(row);
      } catch (err) {
        this.o.logger.warn(
          { err, jobId: row.id },
          'jobs: could not listen for a container followed again'
        );
      }
      this.o.logger.info(
        { jobId: row.id },
        'jobs: following a container again after a restart'
      );
      this.running += 1;
      sup.holdsSlot = true;
      sup.handle = handle;
      void this.follow(sup, handle, row.log_lines, {
        memoryMb: row.limits.memory_mb,
        cpus: row.limits.cpus
      });
    }
  }

  /**
   * Stops taking jobs. Process jobs end with the sidecar (they are stopped
   * and failed with the reason); Docker jobs go on and are re-attached by the
   * next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const { sup } of this.queue.splice(0)) {
      await this.complete(sup, {
        kind: 'failed',
        error: 'Insighter stopped before the job started: start it again.'
      });
    }
    const ending: Promise<void>[] = [];
    for (const sup of this.active.values()) {
      if (sup.handle?.runner === 'process') {
        sup.stoppingForShutdown = true;
        void sup.handle.stop(1000);
        ending.push(sup.done);
      } else {
        sup.handle?.detach?.();
        ending.push(sup.pump?.close() ?? Promise.resolve());
      }
    }
    await Promise.race([Promise.all(ending), delay(5000)]);
    await this.o.channels.closeAll();
  }

  // -- request checks --------------------------------------------------------

  private async datasetFor(
    user: JwtClaims,
    body: TrainJobBody,
    projectId: string
  ): Promise<DatasetRecord> {
    let dataset: DatasetRecord;
    try {
      dataset = await this.o.datasets.get(
        user,
        body.dataset_id,
        body.dataset_version ?? null
      );
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) {
        throw new HttpError(
          400,
          body.dataset_version
            ? `The dataset has no version ${body.dataset_version} (or you cannot read the dataset): choose another version.`
            : 'The dataset was not found (or you cannot read it): choose a dataset of the project.',
          'invalid_input',
          {
            fields: [
              {
                field: body.dataset_version ? 'dataset_version' : 'dataset_id',
                message: err.message
              }
            ]
          }
        );
      }
      throw err;
    }
    if (dataset.project_id !== projectId) {
      throw new HttpError(
        400,
        'The dataset belongs to another project: choose a dataset of this project.',
        'invalid_input',
        {
          fields: [
            { field: 'dataset_id', message: 'Not a dataset of this project.' }
          ]
        }
      );
    }
    if (dataset.status !== 'ready') {
      throw new HttpError(
        409,
        dataset.status === 'failed'
          ? `Version ${dataset.version} of "${dataset.name}" failed validation and cannot be trained on: upload a corrected file.`
          : `Version ${dataset.version} of "${dataset.name}" is still being checked: train once it is ready.`,
        'not_ready'
      );
    }
    return dataset;
  }

  private taskFor(body: TrainJobBody, dataset: DatasetRecord): TrainTask {
    const columns = dataset.columns ?? [];
    const column = columns.find(c => c.name === body.target);
    if (!column) {
      const shown = columns
        .slice(0, 20)
        .map(c => c.name)
        .join(', ');
      const more =
        columns.length > 20 ? ` (and ${columns.length - 20} more)` : '';
      throw new HttpError(
        400,
        `The target column "${body.target}" is not in the dataset. Its columns are: ${shown}${more}.`,
        'invalid_input',
        {
          fields: [{ field: 'target', message: 'Not a column of the dataset.' }]
        }
      );
    }
    const numeric = isNumericType(column.type);
    const task: TrainTask =
      body.task ??
      (!numeric
        ? 'classification'
        : /INT/.test(column.type) &&
            column.distinct_count <= MAX_CLASSES_FOR_INTEGER_TARGET
          ? 'classification'
          : 'regression');
    const examples = (column.top_values ?? [])
      .slice(0, 3)
      .map(v => `'${String(v.value)}'`)
      .join(', ');
    if (task === 'regression' && !numeric) {
      throw new HttpError(
        400,
        `The target column "${body.target}" holds text${examples ? ` (e.g. ${examples})` : ''}: a regressor needs numbers. Train a classifier instead, or choose a numeric target.`,
        'invalid_input',
        {
          fields: [
            { field: 'task', message: 'A regressor needs a numeric target.' }
          ]
        }
      );
    }
    if (task === 'classification' && column.distinct_count < 2) {
      throw new HttpError(
        400,
        `The target column "${body.target}" has only one value${examples ? ` (${examples})` : ''}: a classifier needs at least two classes to tell apart.`,
        'invalid_input',
        { fields: [{ field: 'target', message: 'One value only.' }] }
      );
    }
    const spec = algorithmSpec(body.algorithm);
    if (!spec.tasks.includes(task)) {
      throw new HttpError(
        400,
        `${spec.label} only does ${spec.tasks.join(' and ')}: choose XGBoost or a random forest for a ${task}.`,
        'invalid_input',
        { fields: [{ field: 'algorithm', message: `No ${task}.` }] }
      );
    }
    return task;
  }

  private limitsFor(body: TrainJobBody): JobLimits {
    const { limits } = this.o;
    const memoryMb = body.limits?.memory_mb ?? limits.memoryMb;
    const cpus = body.limits?.cpus ?? limits.cpus;
    if (memoryMb > limits.maxMemoryMb) {
      throw new HttpError(
        400,
        `limits.memory_mb may be at most ${limits.maxMemoryMb} on this server.`,
        'invalid_input',
        {
          fields: [
            {
              field: 'limits.memory_mb',
              message: `At most ${limits.maxMemoryMb}.`
            }
          ]
        }
      );
    }
    if (cpus > limits.maxCpus) {
      throw new HttpError(
        400,
        `limits.cpus may be at most ${limits.maxCpus} on this server.`,
        'invalid_input',
        {
          fields: [
            { field: 'limits.cpus', message: `At most ${limits.maxCpus}.` }
          ]
        }
      );
    }
    return { memoryMb, cpus };
  }

  private async openRun(
    user: JwtClaims,
    project: { id: string; slug: string },
    jobId: string,
    body: TrainJobBody,
    dataset: DatasetRecord
  ): Promise<{ experiment_id: string; run: string }> {
    try {
      const { experiment_id } =
        await this.o.tracking.getOrCreateProjectExperiment(user, project);
      const run = await this.o.tracking.createRun(user, {
        experiment_id,
        start_time: Date.now(),
        tags: [
          { key: 'mlflow.source.name', value: 'insighter_train' },
          { key: 'mlflow.source.type', value: 'JOB' },
          { key: 'insighter.job_id', value: jobId },
          { key: 'insighter.algorithm', value: body.algorithm },
          { key: 'insighter.dataset_id', value: dataset.id },
          { key: 'insighter.dataset_version', value: String(dataset.version) }
        ]
      });
      return { experiment_id, run: run.info.run_id };
    } catch (err) {
      if (err instanceof MlflowError) {
        throw new HttpError(
          err.status >= 500 ? 503 : err.status,
          `Tracking could not open the job's run: ${err.message}`,
          err.status >= 500 ? 'tracking_unavailable' : 'tracking_refused'
        );
      }
      throw err;
    }
  }

  // -- running ---------------------------------------------------------------

  private supervise(job: JobRow, user: JwtClaims): Supervised {
    let settle!: () => void;
    const done = new Promise<void>(resolve => (settle = resolve));
    const sup: Supervised = {
      job,
      user,
      cancelRequested: false,
      gone: false,
      done,
      settle,
      holdsSlot: false,
      stoppingForShutdown: false
    };
    this.active.set(job.id, sup);
    return sup;
  }

  private enqueue(sup: Supervised, start: () => Promise<void>): void {
    this.queue.push({ sup, start });
    this.startQueued();
  }

  private startQueued(): void {
    while (
      !this.closed &&
      this.running < this.o.maxRunning &&
      this.queue.length
    ) {
      const next = this.queue.shift()!;
      this.running += 1;
      next.sup.holdsSlot = true;
      void next.start().catch(err => {
        this.o.logger.error(
          { err, jobId: next.sup.job.id },
          'jobs: a start failed unexpectedly'
        );
        return this.complete(next.sup, {
          kind: 'failed',
          error: `The job could not be started: ${(err as Error).message}`
        });
      });
    }
  }

  private async start(
    sup: Supervised,
    token: string,
    spec: Record<string, unknown>,
    limits: JobLimits
  ): Promise<void> {
    const { job } = sup;
    const channelDir = this.channelDir(job.id);
    let handle: JobHandle;
    try {
      const base = channelUrl(await this.openChannel(job));
      const datasetUrl = `${base}/api/v1/datasets/${job.dataset_id}/content?version=${job.dataset_version}&format=csv`;
      handle = await this.o.runners.get(job.runner).start({
        jobId: job.id,
        projectId: job.project_id,
        // The job id marks the process as this job's (see ProcessRunner.endLost).
        command: [...TRAIN_COMMAND, job.id],
        env: {
          MLFLOW_TRACKING_URI: base,
          MLFLOW_TRACKING_TOKEN: token,
          MLFLOW_RUN_ID: job.run_id,
          INSIGHTER_DATASET_URL: datasetUrl,
          INSIGHTER_TRAIN_SPEC: JSON.stringify(spec)
        },
        limits,
        mounts: [{ path: channelDir }]
      });
    } catch (err) {
      const error =
        err instanceof DockerUnavailableError
          ? err.message
          : `The job could not be started on the ${job.runner} runner: ${(err as Error).message}`;
      await this.complete(sup, { kind: 'failed', error });
      return;
    }
    sup.handle = handle;
    const row = await this.o.db
      .asService(tx => markRunning(tx, job.id, handle.ref))
      .catch(err => {
        this.o.logger.error(
          { err, jobId: job.id },
          'jobs: could not record a start'
        );
        return undefined;
      });
    if (row) {
      sup.job = row;
      this.publishUpdate(row);
    } else {
      // Its project went away (or a cancel came first): it must not run.
      void handle.stop(0);
    }
    if (sup.cancelRequested) {
      void handle.stop(this.o.stopGraceMs ?? 5000);
    }
    await this.follow(sup, handle, 0, limits);
  }

  /** Pumps the logs, waits for the end, records it. */
  private async follow(
    sup: Supervised,
    handle: JobHandle,
    firstLine: number,
    limits: JobLimits
  ): Promise<void> {
    const pump = new LogPump(this, sup, firstLine);
    sup.pump = pump;
    const pumping = (async () => {
      for await (const line of handle.logs) {
        pump.add(line);
      }
    })();
    let exit: JobExit;
    try {
      exit = await handle.wait();
      await pumping;
    } catch (err) {
      if (this.closed) {
        return;
      }
      await this.complete(sup, {
        kind: 'failed',
        error: `The ${handle.runner} runner lost the job: ${(err as Error).message}`
      });
      return;
    }
    if (this.closed && handle.runner === 'docker') {
      // Detached at shutdown: the next sidecar follows it.
      return;
    }
    await this.complete(sup, { kind: 'exited', exit, limits });
  }

  // -- the end ---------------------------------------------------------------

  private async complete(sup: Supervised, outcome: Outcome): Promise<void> {
    if (!this.active.has(sup.job.id) || this.active.get(sup.job.id) !== sup) {
      return;
    }
    this.active.delete(sup.job.id);
    const { job, user } = sup;
    // The job's process is gone: whatever still holds its token loses access now.
    this.o.tokens.ended(job.id);
    try {
      await this.o.channels.close(job.id);
      await sup.pump?.close();
      const end = await this.endOf(sup, outcome);
      if (!sup.gone) {
        await this.uploadLog(sup);
        const runStatus: RunStatus =
          end.status === 'succeeded'
            ? 'FINISHED'
            : end.status === 'cancelled'
              ? 'KILLED'
              : 'FAILED';
        await this.endRun(
          user,
          job.run_id,
          runStatus,
          end.error ?? undefined
        ).catch(err =>
          this.o.logger.warn(
            { err, jobId: job.id },
            'jobs: could not end the run'
          )
        );
        const row = await this.o.db.asService(tx => finishJob(tx, job.id, end));
        if (row) {
          this.publishUpdate(row);
        }
      }
      await fs.promises.rm(this.jobDir(job.id), {
        recursive: true,
        force: true
      });
    } catch (err) {
      this.o.logger.error(
        { err, jobId: job.id },
        'jobs: could not record how a job ended'
      );
    } finally {
      if (sup.holdsSlot) {
        sup.holdsSlot = false;
        this.running -= 1;
      }
      sup.settle();
      this.startQueued();
    }
  }

  private async endOf(sup: Supervised, outcome: Outcome): Promise<JobEnd> {
    if (outcome.kind === 'cancelled') {
      return {
        status: 'cancelled',
        error: null,
        exitCode: null,
        modelVersion: null
      };
    }
    if (outcome.kind === 'failed') {
      return {
        status: 'failed',
        error: outcome.error,
        exitCode: null,
        modelVersion: null
      };
    }
    const { exit, limits } = outcome;
    if (exit.stopped && sup.cancelRequested) {
      return {
        status: 'cancelled',
        error: null,
        exitCode: exit.exitCode,
        modelVersion: null
      };
    }
    if (sup.stoppingForShutdown) {
      return {
        status: 'failed',
        error: 'Insighter stopped while the job was running: start it again.',
        exitCode: exit.exitCode,
        modelVersion: null
      };
    }
    if (exit.exitCode === 0) {
      return {
        status: 'succeeded',
        error: null,
        exitCode: 0,
        modelVersion: await this.registeredVersion(sup)
      };
    }
    const error =
      exit.oomKilled || exit.exitCode === TrainExit.outOfMemory
        ? outOfMemoryMessage(limits)
        : (scriptError(sup.pump?.stderrTail ?? []) ??
          (exit.signal
            ? `The training process was ended by ${exit.signal}.`
            : `The training process failed with exit code ${exit.exitCode}; its log has the details.`));
    return {
      status: 'failed',
      error,
      exitCode: exit.exitCode,
      modelVersion: null
    };
  }

  private async registeredVersion(sup: Supervised): Promise<number | null> {
    try {
      const versions = await this.o.tracking.searchModelVersions(
        sup.user,
        `run_id = '${sup.job.run_id}'`
      );
      const numbers = versions
        .map(v => Number(v.version))
        .filter(Number.isFinite);
      return numbers.length ? Math.max(...numbers) : null;
    } catch (err) {
      this.o.logger.warn(
        { err, jobId: sup.job.id },
        'jobs: could not look up the registered version'
      );
      return null;
    }
  }

  /** Ends the run unless the script already did (it ends it itself when it can). */
  private async endRun(
    user: JwtClaims,
    runId: string,
    status: RunStatus,
    error?: string
  ): Promise<void> {
    const run = await this.o.tracking.getRun(user, runId);
    if (run.info.status !== 'RUNNING' && run.info.status !== 'SCHEDULED') {
      return;
    }
    await this.o.tracking.updateRun(user, runId, {
      status,
      end_time: Date.now(),
      ...(error ? { error } : {})
    });
  }

  private async uploadLog(sup: Supervised): Promise<void> {
    const file = this.logFile(sup.job.id);
    if (!fs.existsSync(file)) {
      return;
    }
    try {
      await this.o.tracking.uploadArtifact(
        sup.user,
        sup.job.run_id,
        'logs/job.log',
        fs.createReadStream(file),
        'text/plain; charset=utf-8'
      );
    } catch (err) {
      this.o.logger.warn(
        { err, jobId: sup.job.id },
        'jobs: could not keep the log as an artifact'
      );
    }
  }

  // -- shared with the log pump ---------------------------------------------

  jobDir(jobId: string): string {
    return path.join(this.o.dataDir, 'jobs', jobId);
  }

  logFile(jobId: string): string {
    return path.join(this.jobDir(jobId), 'job.log');
  }

  /** The folder of the job's socket: the one folder of the host its sandbox sees. */
  private channelDir(jobId: string): string {
    return path.join(this.jobDir(jobId), 'run');
  }

  private openChannel(job: JobRow): Promise<string> {
    return this.o.channels.open(
      { jobId: job.id, runId: job.run_id, datasetId: job.dataset_id },
      this.channelDir(job.id)
    );
  }

  get flushMs(): number {
    return this.o.logFlushMs ?? 100;
  }

  publishLines(sup: Supervised, lines: LogLine[]): void {
    // One event per run of lines from the same stream, in order.
    let start = 0;
    for (let i = 1; i <= lines.length; i++) {
      if (i === lines.length || lines[i].stream !== lines[start].stream) {
        this.o.events.publish({
          type: 'run.log',
          payload: {
            runId: sup.job.run_id,
            lines: lines.slice(start, i).map(l => l.text),
            stream: lines[start].stream,
            timestamp: lines[i - 1].timestamp
          },
          resource: jobResource(sup.job.id)
        });
        start = i;
      }
    }
  }

  async storeLines(sup: Supervised, lines: LogLine[]): Promise<void> {
    if (sup.gone) {
      return;
    }
    const present = await this.o.db
      .asService(tx =>
        appendLogLines(tx, sup.job.id, lines, MAX_STORED_LOG_LINES)
      )
      .catch(err => {
        this.o.logger.warn(
          { err, jobId: sup.job.id },
          'jobs: could not store log lines'
        );
        return true;
      });
    if (!present) {
      // The project (and with it the job) was deleted: nobody wants it to go on.
      sup.gone = true;
      void sup.handle?.stop(0);
    }
  }

  private publishUpdate(job: JobRow): void {
    this.o.events.publish({
      type: 'job.updated',
      payload: {
        jobId: job.id,
        projectId: job.project_id,
        runId: job.run_id,
        status: job.status,
        ...(job.error ? { error: job.error } : {}),
        ...(job.model_version ? { modelVersion: job.model_version } : {}),
        timestamp: Date.now()
      },
      resource: jobResource(job.id)
    });
  }
}

type Outcome =
  | { kind: 'exited'; exit: JobExit; limits: JobLimits }
  | { kind: 'failed'; error: string }
  | { kind: 'cancelled' };

/**
 * A job's lines on their way: to the log file at once, to the event stream
 * and the database in batches (leading edge, then at most every `flushMs`),
 * in order.
 */
class LogPump {
  private pending: LogLine[] = [];
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;
  private flushing: Promise<void> = Promise.resolve();
  private closing?: Promise<void>;
  private readonly file: fs.WriteStream;
  readonly stderrTail: string[] = [];

  constructor(
    private readonly service: JobsService,
    private readonly sup: Supervised,
    firstLine: number
  ) {
    fs.mkdirSync(service.jobDir(sup.job.id), { recursive: true });
    this.file = fs.createWriteStream(service.logFile(sup.job.id), {
      flags: firstLine > 0 ? 'a' : 'w'
    });
  }

  add(line: LogLine): void {
    if (this.closing) {
      return;
    }
    this.file.write(`${line.text}\n`);
    if (line.stream === 'stderr') {
      this.stderrTail.push(line.text);
      if (this.stderrTail.length > STDERR_TAIL) {
        this.stderrTail.shift();
      }
    }
    this.pending.push(line);
    if (this.timer) {
      return;
    }
    const wait = this.lastFlush + this.service.flushMs - Date.now();
    if (wait <= 0) {
      this.flush();
    } else {
      this.timer = setTimeout(() => this.flush(), wait);
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastFlush = Date.now();
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) {
      return;
    }
    this.service.publishLines(this.sup, batch);
    this.flushing = this.flushing.then(() =>
      this.service.storeLines(this.sup, batch)
    );
  }

  /** Everything written and stored. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.flush();
      await this.flushing;
      await new Promise<void>(resolve => this.file.end(() => resolve()));
    })());
  }
}

function jobResource(id: string): EventResource {
  return { table: 'jobs', id };
}

/** The claims the supervisor acts with for a job: those of the person who started it. */
function ownerClaims(job: JobRow): JwtClaims {
  return { sub: job.created_by, role: 'authenticated', aud: 'authenticated' };
}

function endedAs(status: JobStatus): string {
  return status === 'succeeded'
    ? 'succeeded'
    : status === 'failed'
      ? 'failed'
      : 'was cancelled';
}

function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref());
}
