import type { Readable } from 'node:stream';
import type { JwtClaims } from '../db/types';

/**
 * The tracking seam the rest of the sidecar (jobs, notebooks' helpers) codes
 * against. Two implementations answer it: the built-in store on Postgres under
 * row-level security (`PostgresTrackingStore`), and a REST client of an
 * external MLflow server (`RestTrackingStore`, used when `MLFLOW_TRACKING_URI`
 * is set). Both speak MLflow's REST API 2.0 shapes, so what one returns the
 * other returns too, and both throw `MlflowError` (./errors) with MLflow's
 * error codes.
 *
 * `user` is the signed-in person the work is done for: the built-in store
 * runs as them (RLS decides); an external server only knows the tracking
 * token, so it ignores them.
 */
export type TrackingUser = JwtClaims;

/** MLflow's run states; FINISHED, FAILED and KILLED are terminal. */
export type RunStatus =
  'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set([
  'FINISHED',
  'FAILED',
  'KILLED'
]);

export type LifecycleStage = 'active' | 'deleted';

export type ModelStage = 'None' | 'Staging' | 'Production' | 'Archived';

export interface MlflowTag {
  key: string;
  value: string;
}

export type MlflowParam = MlflowTag;

/**
 * One logged value. On the wire MLflow writes NaN and ±Infinity as the
 * strings "NaN", "Infinity" and "-Infinity" (protobuf's JSON mapping); in
 * TypeScript they are plain numbers.
 */
export interface MlflowMetric {
  key: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

export interface MlflowExperiment {
  /** A decimal string, e.g. "12". */
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: LifecycleStage;
  last_update_time: number;
  creation_time: number;
  tags?: MlflowTag[];
}

export interface MlflowRunInfo {
  /** 32 lower-case hex characters. */
  run_id: string;
  /** The same as `run_id` (MLflow's deprecated name, still sent). */
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time?: number;
  /** `mlflow-artifacts:/<experiment_id>/<run_id>/artifacts` for built-in runs. */
  artifact_uri: string;
  lifecycle_stage: LifecycleStage;
}

export interface MlflowRunData {
  /** The latest value of each metric key. */
  metrics?: MlflowMetric[];
  params?: MlflowParam[];
  tags?: MlflowTag[];
}

/** A dataset as MLflow's `log_input` records it (lineage: which data a run used). */
export interface MlflowDataset {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface MlflowDatasetInput {
  tags?: MlflowTag[];
  dataset: MlflowDataset;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data: MlflowRunData;
  inputs?: { dataset_inputs?: MlflowDatasetInput[] };
}

export interface MlflowModelVersion {
  name: string;
  /** A decimal string: "1", "2", … per registered model. */
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  current_stage: ModelStage;
  description?: string;
  source: string;
  run_id?: string;
  status: 'READY' | 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION';
  status_message?: string;
  tags?: MlflowTag[];
  run_link?: string;
  aliases?: string[];
}

export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id?: string;
  description?: string;
  latest_versions?: MlflowModelVersion[];
  tags?: MlflowTag[];
  aliases?: { alias: string; version: string }[];
}

/** A project as tracking needs it: its id, and its slug (the default names). */
export interface ProjectRef {
  id: string;
  slug: string;
}

export interface NewRun {
  experiment_id: string;
  /** Generated (e.g. "calm-owl-42") when missing, as MLflow does. */
  run_name?: string;
  tags?: MlflowTag[];
  /** Milliseconds since the epoch; now when missing. */
  start_time?: number;
  /** MLflow's free-text user; the signed-in user's email when missing. */
  user_id?: string;
}

export interface RunUpdate {
  status?: RunStatus;
  end_time?: number;
  run_name?: string;
  /**
   * Why a FAILED run failed, in words a person can act on: kept as the run's
   * `insighter.error` tag and sent with `run.finished`.
   */
  error?: string;
}

/** `runs/log-batch`: MLflow's limits apply (1000 metrics, 100 params, 100 tags, 1000 in all). */
export interface RunBatch {
  metrics?: MlflowMetric[];
  params?: MlflowParam[];
  tags?: MlflowTag[];
}

export interface NewModelVersion {
  /** The registered model's name. */
  name: string;
  /** Where the model's files are, e.g. `mlflow-artifacts:/3/<run id>/artifacts/model`. */
  source: string;
  run_id?: string;
  tags?: MlflowTag[];
  description?: string;
  run_link?: string;
}

export interface TrackingStore {
  /** `built-in` (Postgres) or `rest` (an external MLflow server). */
  readonly kind: 'built-in' | 'rest';

  /**
   * The project's default experiment, named exactly `<project slug>`, created
   * (tagged `insighter.project_id`) on first use.
   */
  getOrCreateProjectExperiment(
    user: TrackingUser,
    project: ProjectRef
  ): Promise<{ experiment_id: string }>;

  createRun(user: TrackingUser, run: NewRun): Promise<MlflowRun>;

  /** RESOURCE_DOES_NOT_EXIST for an unknown run or one the user cannot read. */
  getRun(user: TrackingUser, runId: string): Promise<MlflowRun>;

  /** Metrics append, params are write-once, tags: the last write wins. */
  logBatch(user: TrackingUser, runId: string, batch: RunBatch): Promise<void>;

  /** A terminal status (FINISHED, FAILED, KILLED) announces `run.finished`. */
  updateRun(
    user: TrackingUser,
    runId: string,
    update: RunUpdate
  ): Promise<MlflowRunInfo>;

  logInputs(
    user: TrackingUser,
    runId: string,
    datasets: MlflowDatasetInput[]
  ): Promise<void>;

  /**
   * Stores a file under the run's artifact root (`path` is relative, e.g.
   * `logs/stdout.txt`), replacing one already there.
   */
  uploadArtifact(
    user: TrackingUser,
    runId: string,
    path: string,
    body: Readable | Buffer,
    contentType?: string
  ): Promise<void>;

  /**
   * The registered model's project default, named exactly `<project slug>`,
   * created (tagged `insighter.project_id`) on first use.
   */
  getOrCreateProjectModel(
    user: TrackingUser,
    project: ProjectRef
  ): Promise<MlflowRegisteredModel>;

  /** Registers the next version (1, 2, …); announces `model.version-registered`. */
  createModelVersion(
    user: TrackingUser,
    version: NewModelVersion
  ): Promise<MlflowModelVersion>;

  /** The highest version of the model; undefined when it has none. */
  getLatestModelVersion(
    user: TrackingUser,
    name: string
  ): Promise<MlflowModelVersion | undefined>;

  /** MLflow's model-version filter, e.g. `name = 'churn'` or `run_id = '…'`. */
  searchModelVersions(
    user: TrackingUser,
    filter: string
  ): Promise<MlflowModelVersion[]>;
}
