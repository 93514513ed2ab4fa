import fs from 'node:fs';
import path from 'node:path';
import {
  findDeployment,
  servingDeployments,
  setDeploymentStatus,
  type DeploymentRow,
  type StatusChange
} from '../adapters/deployments-store';
import type { Database } from '../db/types';
import type { DeploymentState } from '../events/event-types';
import type { EventHub } from '../events/hub';
import type { Logger } from '../logger';
import { folderDigest } from '../tracking/model-digest';
import { DeploymentMetrics } from './metrics';
import {
  NO_SANDBOX_FOR_PICKLE,
  type SandboxKind,
  type ServingRunners
} from './placement';
import { SignatureChecker } from './predict-input';
import {
  describeExit,
  ServingWorker,
  WorkerStartError,
  type ModelLoader,
  type WorkerOptions
} from './worker';

/**
 * The deployments this sidecar serves: one scoring worker per running
 * deployment, and per project slug the one deployment traffic goes to.
 *
 * - A deployment's worker starts (pending → starting); traffic switches to
 *   it only once it answers (ready). Another deployment of the same project
 *   that was serving keeps answering until then, is stopped in the same
 *   transaction that marks the new one ready, and finishes the requests it
 *   holds before its worker ends: an upgrade or rollback drops no request.
 * - A worker that dies while serving marks its deployment failed (with why)
 *   and is started again, with growing pauses, until it serves or has failed
 *   `MAX_RESTARTS` times in a row; meanwhile requests get 503.
 * - On start (`restore`), deployments that were serving are started again.
 *
 * Status changes are the sidecar's bookkeeping: they run as the service
 * role and are announced as `deployment.changed`.
 *
 * How a model is loaded is decided once its files are here: a version an
 * Insighter job produced whose files still have the digest recorded at
 * registration, and that has its safe format, is served from that format
 * (`json`: nothing in it runs); any other is unpickled (`pickle`), only ever
 * inside a sandbox (placement.ts). The choice is kept beside the model
 * (`serving.json`) for restarts.
 */
export interface RuntimeOptions {
  dataDir: string;
  runners: ServingRunners;
  db: Database;
  events: EventHub;
  logger: Logger;
  worker: Pick<
    WorkerOptions,
    'startTimeoutMs' | 'memoryMb' | 'batch' | 'requestTimeoutMs'
  >;
  /** Pauses before restart attempts 1, 2, …; the last repeats. */
  restartDelaysMs?: number[];
  /** How often `deployment.metrics` is published for deployments with new traffic. */
  metricsIntervalMs?: number;
}

/** A deployment that has run here; `worker` while one answers for it. */
export interface ManagedDeployment {
  row: DeploymentRow;
  worker?: ServingWorker;
  checker?: SignatureChecker;
  state: 'starting' | 'serving' | 'restarting' | 'stopped';
  /** One row of the model's input example in the signature's columns, for the UI's curl example. */
  example?: { columns: string[]; data: unknown[][] };
  /** How its worker loads the model, once decided. */
  loader?: ModelLoader;
  /** What its worker runs in, while one runs. */
  sandbox?: SandboxKind;
  /** Failed restarts in a row. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

export const MAX_RESTARTS = 5;

/** The safe format's document (insighter_serve/safe_format.py): a model without it is unpickled. */
const SAFE_DOCUMENT = 'insighter_model.json';
const SERVING_FILE = 'serving.json';
const DEFAULT_RESTART_DELAYS_MS = [250, 1000, 2000, 5000, 10000];

export class DeploymentRuntime {
  /** By project slug: the deployment traffic goes to. */
  private readonly endpoints = new Map<string, ManagedDeployment>();
  /** By deployment id. */
  private readonly deployments = new Map<string, ManagedDeployment>();
  private readonly metrics = new Map<string, DeploymentMetrics>();
  private readonly metricsPublished = new Map<string, number>();
  private readonly metricsTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: RuntimeOptions) {
    this.metricsTimer = setInterval(
      () => this.publishMetrics(),
      options.metricsIntervalMs ?? 2000
    );
    this.metricsTimer.unref();
  }

  /** The folder of a deployment's model files and worker log. */
  deploymentDir(id: string): string {
    return path.join(this.options.dataDir, 'deployments', id);
  }

  modelDir(id: string): string {
    return path.join(this.deploymentDir(id), 'model');
  }

  /** What `/api/v1/predict/<slug>` goes to, if anything. */
  endpoint(slug: string): ManagedDeployment | undefined {
    return this.endpoints.get(slug);
  }

  /** How a served deployment's model is loaded and what its worker runs in. */
  servingOf(id: string): { loader: ModelLoader; sandbox: SandboxKind } | undefined {
    const managed = this.deployments.get(id);
    return managed?.worker && managed.loader && managed.sandbox
      ? { loader: managed.loader, sandbox: managed.sandbox }
      : undefined;
  }

  /** Whether a worker answers for this deployment now. */
  isServing(id: string): boolean {
    const managed = this.deployments.get(id);
    return !!managed?.worker && managed.state === 'serving';
  }

  metricsOf(id: string): DeploymentMetrics {
    let metrics = this.metrics.get(id);
    if (!metrics) {
      metrics = new DeploymentMetrics(id);
      this.metrics.set(id, metrics);
    }
    return metrics;
  }

  /**
   * Starts the deployment in the background: `prepare` puts its model files
   * in `modelDir(id)` (e.g. downloads them), then its worker starts and, once
   * it answers, takes the project's traffic. `builtInDigest`: the digest
   * recorded when an Insighter job registered the version.
   */
  launch(row: DeploymentRow, prepare: () => Promise<void>, builtInDigest?: string): void {
    const managed: ManagedDeployment = { row, state: 'starting', failures: 0 };
    this.deployments.set(row.id, managed);
    void this.startFirst(managed, prepare, builtInDigest);
  }

  /**
   * Ends a deployment here (its row was already marked stopped): no more
   * traffic, the requests it holds are answered, then its worker ends.
   */
  async stop(id: string): Promise<void> {
    const managed = this.deployments.get(id);
    if (!managed) {
      return;
    }
    managed.state = 'stopped';
    clearTimeout(managed.restartTimer);
    if (this.endpoints.get(managed.row.slug) === managed) {
      this.endpoints.delete(managed.row.slug);
    }
    await this.retire(managed);
  }

  /** Serves again what was serving before the sidecar stopped. */
  async restore(): Promise<void> {
    const rows = await this.options.db.asService(servingDeployments);
    const byProject = new Map<string, DeploymentRow>();
    for (const row of rows) {
      if (row.status === 'pending' || row.status === 'starting') {
        await this.changeStatus(row, {
          status: 'failed',
          error:
            'The sidecar restarted while this deployment was starting: deploy it again.'
        });
        continue;
      }
      // Ready, or failed after having served (a restart was under way):
      // the newest such deployment of each project takes its traffic again.
      if (row.status === 'ready' || row.ready_at) {
        const current = byProject.get(row.project_id);
        if (!current || current.status !== 'ready' || row.status === 'ready') {
          byProject.set(row.project_id, row);
        }
      }
    }
    for (const row of byProject.values()) {
      const managed: ManagedDeployment = { row, state: 'restarting', failures: 0 };
      this.deployments.set(row.id, managed);
      // Requests get "starting" (503) instead of "nothing deployed" (404).
      this.endpoints.set(row.slug, managed);
      await this.endLostWorker(row);
      managed.loader = this.keptLoader(row.id);
      if (!fs.existsSync(path.join(this.modelDir(row.id), 'MLmodel'))) {
        managed.state = 'stopped';
        this.endpoints.delete(row.slug);
        await this.changeStatus(row, {
          status: 'failed',
          error: "The model's files are missing from the data folder: deploy the version again.",
          runner_ref: null
        });
        continue;
      }
      void this.restart(managed);
    }
  }

  /** Stops every worker; deployments stay marked as they are, so `restore` brings them back. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.metricsTimer);
    const running = [...this.deployments.values()];
    for (const managed of running) {
      clearTimeout(managed.restartTimer);
    }
    await Promise.all(running.map(managed => managed.worker?.stop(2000)));
  }

  // -- starting and switching -----------------------------------------------

  private async startFirst(
    managed: ManagedDeployment,
    prepare: () => Promise<void>,
    builtInDigest: string | undefined
  ): Promise<void> {
    const { row } = managed;
    await this.changeStatus(row, { status: 'starting', error: null });
    let worker: ServingWorker;
    try {
      await fs.promises.rm(this.deploymentDir(row.id), { recursive: true, force: true });
      await fs.promises.mkdir(this.modelDir(row.id), { recursive: true });
      await prepare();
      if (this.ended(managed)) {
        return;
      }
      managed.loader = await this.chooseLoader(row.id, builtInDigest);
      worker = await this.startWorker(managed);
    } catch (err) {
      if (this.ended(managed)) {
        return;
      }
      managed.state = 'stopped';
      this.deployments.delete(row.id);
      this.options.logger.warn({ err, deploymentId: row.id }, 'deployment failed to start');
      await this.changeStatus(row, {
        status: 'failed',
        error: messageOf(err),
        runner_ref: null
      });
      return;
    }
    if (this.ended(managed)) {
      await worker.stop(1000);
      return;
    }
    await this.promote(managed, worker);
  }

  /** The new worker takes the project's traffic; the one serving before is drained and stopped. */
  private async promote(managed: ManagedDeployment, worker: ServingWorker): Promise<void> {
    const { row } = managed;
    const previous = this.endpoints.get(row.slug);
    const replaced: DeploymentRow[] = [];
    let updated: DeploymentRow | undefined;
    try {
      updated = await this.options.db.asService(async tx => {
        // First the old one, then the new: one serving deployment per project.
        const others = await tx.query<{ id: string }>(
          `update public.deployments set status = 'stopped', stopped_at = now(), runner_ref = null,
             error = $3
           where project_id = $1 and id <> $2
             and (status = 'ready' or (status = 'failed' and ready_at is not null))
           returning id`,
          [row.project_id, row.id, `Replaced by version ${row.model_version}.`]
        );
        for (const other of others.rows) {
          const stopped = await findDeployment(tx, other.id);
          if (stopped) {
            replaced.push(stopped);
          }
        }
        return setDeploymentStatus(tx, row.id, {
          status: 'ready',
          error: null,
          runner_ref: worker.handle.ref
        });
      });
    } catch (err) {
      this.options.logger.error({ err, deploymentId: row.id }, 'could not mark a deployment ready');
    }
    if (!updated) {
      // Stopped meanwhile (or the database refused): it never takes traffic.
      managed.state = 'stopped';
      this.deployments.delete(row.id);
      await worker.stop(1000);
      return;
    }
    managed.row = updated;
    this.attach(managed, worker);
    this.endpoints.set(row.slug, managed);
    this.announce(updated);
    for (const old of replaced) {
      this.announce(old);
    }
    if (previous && previous !== managed) {
      previous.state = 'stopped';
      clearTimeout(previous.restartTimer);
      await this.retire(previous);
    }
  }

  private attach(managed: ManagedDeployment, worker: ServingWorker): void {
    managed.worker = worker;
    managed.state = 'serving';
    managed.failures = 0;
    managed.checker = worker.metadata.signature
      ? new SignatureChecker(worker.metadata.signature)
      : undefined;
    managed.example = this.readExample(managed.row.id, managed.checker);
    void worker.exited.then(exit => {
      if (managed.worker !== worker || managed.state === 'stopped' || worker.isStopping || this.closed) {
        return;
      }
      managed.worker = undefined;
      managed.state = 'restarting';
      this.options.logger.warn(
        { deploymentId: managed.row.id, exit },
        'a model server stopped unexpectedly'
      );
      void this.changeStatus(managed.row, {
        status: 'failed',
        error: `The model server stopped unexpectedly (${describeExit(exit)}); restarting it.${worker.lastOutput()}`,
        runner_ref: null
      }).then(() => this.scheduleRestart(managed));
    });
  }

  private scheduleRestart(managed: ManagedDeployment): void {
    if (this.ended(managed)) {
      return;
    }
    const delays = this.options.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS;
    const delay = delays[Math.min(managed.failures, delays.length - 1)];
    managed.restartTimer = setTimeout(() => void this.restart(managed), delay);
  }

  private async restart(managed: ManagedDeployment): Promise<void> {
    if (this.ended(managed)) {
      return;
    }
    let worker: ServingWorker;
    try {
      worker = await this.startWorker(managed);
    } catch (err) {
      if (this.ended(managed)) {
        return;
      }
      managed.failures++;
      if (managed.failures >= MAX_RESTARTS) {
        managed.state = 'stopped';
        if (this.endpoints.get(managed.row.slug) === managed) {
          this.endpoints.delete(managed.row.slug);
        }
        await this.changeStatus(managed.row, {
          status: 'failed',
          error: `The model server could not be restarted (${MAX_RESTARTS} attempts): ${messageOf(err)}`,
          runner_ref: null
        });
        return;
      }
      this.scheduleRestart(managed);
      return;
    }
    if (this.ended(managed)) {
      await worker.stop(1000);
      return;
    }
    const updated = await this.changeStatus(managed.row, {
      status: 'ready',
      error: null,
      runner_ref: worker.handle.ref
    });
    if (!updated) {
      await worker.stop(1000);
      return;
    }
    this.attach(managed, worker);
  }

  /** The first row of the model's input_example.json, checked against its signature. */
  private readExample(
    id: string,
    checker: SignatureChecker | undefined
  ): ManagedDeployment['example'] {
    if (!checker) {
      return undefined;
    }
    try {
      const example = JSON.parse(
        fs.readFileSync(path.join(this.modelDir(id), 'input_example.json'), 'utf8')
      );
      const [row] = checker.fromDocument({ dataframe_split: example });
      return { columns: checker.names, data: [row] };
    } catch {
      // No example, or one that does not fit: the UI shows the columns alone.
      return undefined;
    }
  }

  /** The example row of a deployment served here. */
  exampleOf(id: string): ManagedDeployment['example'] {
    return this.deployments.get(id)?.example;
  }

  /**
   * `json` when the files are the ones the version's job registered (same
   * digest) and hold the safe format; otherwise `pickle`. Kept beside the
   * model for restarts.
   */
  private async chooseLoader(id: string, builtInDigest: string | undefined): Promise<ModelLoader> {
    const dir = this.modelDir(id);
    const loader: ModelLoader =
      builtInDigest !== undefined &&
      fs.existsSync(path.join(dir, SAFE_DOCUMENT)) &&
      (await folderDigest(dir)) === builtInDigest
        ? 'json'
        : 'pickle';
    await fs.promises.writeFile(
      path.join(this.deploymentDir(id), SERVING_FILE),
      JSON.stringify({ loader })
    );
    return loader;
  }

  /** The loader chosen when the deployment first started (`pickle` when unknown: the sandbox). */
  private keptLoader(id: string): ModelLoader {
    try {
      const kept = JSON.parse(
        fs.readFileSync(path.join(this.deploymentDir(id), SERVING_FILE), 'utf8')
      ) as { loader?: string };
      return kept.loader === 'json' ? 'json' : 'pickle';
    } catch {
      return 'pickle';
    }
  }

  private async startWorker(managed: ManagedDeployment): Promise<ServingWorker> {
    const { row } = managed;
    const loader = managed.loader ?? 'pickle';
    const placement =
      loader === 'json'
        ? await this.options.runners.safe()
        : await this.options.runners.sandboxed();
    if (!placement) {
      throw new WorkerStartError(NO_SANDBOX_FOR_PICKLE);
    }
    const worker = await ServingWorker.start(placement.runner, {
      ...this.options.worker,
      deploymentId: row.id,
      projectId: row.project_id,
      modelDir: this.modelDir(row.id),
      loader,
      socketDir: path.join(this.deploymentDir(row.id), 'run'),
      logFile: path.join(this.deploymentDir(row.id), 'worker.log')
    });
    managed.sandbox = placement.sandbox;
    return worker;
  }

  /** Lets a deployment's worker finish what it holds, ends it, and removes its files. */
  private async retire(managed: ManagedDeployment): Promise<void> {
    const worker = managed.worker;
    managed.worker = undefined;
    if (worker) {
      await worker.stop();
    }
    if (this.deployments.get(managed.row.id) === managed) {
      this.deployments.delete(managed.row.id);
      await fs.promises
        .rm(this.deploymentDir(managed.row.id), { recursive: true, force: true })
        .catch(() => undefined);
    }
  }

  /** A worker of the sidecar before this one may still run (a container, or a process not yet ended with its parent). */
  private async endLostWorker(row: DeploymentRow): Promise<void> {
    if (row.runner_ref) {
      await this.options.runners.endLost(row.runner_ref, row.id).catch(() => undefined);
    }
  }

  /** Stopped, or the sidecar is closing: whatever was under way gives up. (A method, so
   * TypeScript does not assume the state is unchanged across an await.) */
  private ended(managed: ManagedDeployment): boolean {
    return managed.state === 'stopped' || this.closed;
  }

  // -- records and events -----------------------------------------------------

  private async changeStatus(
    row: DeploymentRow,
    change: StatusChange
  ): Promise<DeploymentRow | undefined> {
    let updated: DeploymentRow | undefined;
    try {
      updated = await this.options.db.asService(tx =>
        setDeploymentStatus(tx, row.id, change)
      );
    } catch (err) {
      this.options.logger.error({ err, deploymentId: row.id }, 'could not record a deployment status');
      return undefined;
    }
    if (updated) {
      const managed = this.deployments.get(row.id);
      if (managed) {
        managed.row = updated;
      }
      this.announce(updated);
    }
    return updated;
  }

  /** `deployment.changed` for the row as it is now. */
  announce(row: DeploymentRow): void {
    const state: DeploymentState =
      row.status === 'ready'
        ? 'running'
        : row.status === 'failed'
          ? 'failed'
          : row.status === 'stopped'
            ? 'stopped'
            : 'starting';
    this.options.events.publish({
      type: 'deployment.changed',
      payload: {
        deploymentId: row.id,
        projectId: row.project_id,
        modelVersion: row.status === 'stopped' ? null : row.model_version,
        state,
        ...(row.status === 'ready' ? { endpoint: row.url } : {}),
        ...(row.error ? { detail: row.error } : {}),
        timestamp: Date.now()
      },
      resource: { table: 'deployments', id: row.id }
    });
  }

  private publishMetrics(): void {
    for (const [id, metrics] of this.metrics) {
      if (this.metricsPublished.get(id) === metrics.version) {
        continue;
      }
      this.metricsPublished.set(id, metrics.version);
      const managed = this.deployments.get(id);
      if (!managed) {
        continue;
      }
      const snapshot = metrics.snapshot();
      this.options.events.publish({
        type: 'deployment.metrics',
        payload: {
          deploymentId: id,
          projectId: managed.row.project_id,
          requests: snapshot.requests,
          errors: snapshot.errors,
          errorRate: snapshot.error_rate,
          p50Ms: snapshot.latency_ms?.p50 ?? null,
          p95Ms: snapshot.latency_ms?.p95 ?? null,
          p99Ms: snapshot.latency_ms?.p99 ?? null,
          requestsPerSecond: snapshot.requests_per_second,
          timestamp: Date.now()
        },
        resource: { table: 'deployments', id }
      });
    }
  }
}

function messageOf(err: unknown): string {
  if (err instanceof WorkerStartError) {
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
