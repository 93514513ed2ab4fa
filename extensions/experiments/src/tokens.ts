import type { JobStatus } from '@insighter/core';

/*
 * Wire types of what this package reads and writes, as the sidecar answers
 * them: MLflow's REST API 2.0 (`/api/2.0/mlflow/…`, MLflow's own JSON shapes)
 * and Insighter's `/api/v1/jobs` and `/api/v1/datasets`. The frontend never
 * invents fields; the optional ones are those MLflow itself may leave out.
 */

export interface IMlflowTag {
  key: string;
  value: string;
}

export interface IMlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: 'active' | 'deleted';
  creation_time?: number;
  last_update_time?: number;
  tags?: IMlflowTag[];
}

/** One logged value: MLflow appends, so a key may have many (one per step). */
export interface IMlflowMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface IMlflowParam {
  key: string;
  value: string;
}

export type MlflowRunStatus =
  'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface IMlflowRunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: MlflowRunStatus;
  /** Milliseconds since the epoch. */
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: 'active' | 'deleted';
}

export interface IMlflowDataset {
  name: string;
  digest: string;
  source_type?: string;
  source?: string;
  schema?: string;
  profile?: string;
}

export interface IMlflowDatasetInput {
  tags?: IMlflowTag[];
  dataset: IMlflowDataset;
}

export interface IMlflowRun {
  info: IMlflowRunInfo;
  data: {
    /** The latest value of each key. */
    metrics?: IMlflowMetric[];
    params?: IMlflowParam[];
    tags?: IMlflowTag[];
  };
  inputs?: { dataset_inputs?: IMlflowDatasetInput[] };
}

export interface IMlflowFileInfo {
  /** Relative to the run's artifact root, e.g. `model/model.json`. */
  path: string;
  is_dir: boolean;
  file_size?: number;
}

export interface IRegisteredModelAlias {
  alias: string;
  version: string;
}

export interface IModelVersion {
  name: string;
  /** MLflow sends versions as strings: "1", "2", … */
  version: string;
  creation_timestamp: number;
  last_updated_timestamp?: number;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: IMlflowTag[];
  aliases?: string[];
}

export interface IRegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: IModelVersion[];
  tags?: IMlflowTag[];
  aliases?: IRegisteredModelAlias[];
}

/** MLflow's error body: `{error_code, message}`. */
export interface IMlflowError {
  error_code: string;
  message: string;
}

export type TrainAlgorithm =
  'xgboost' | 'logistic_regression' | 'random_forest';

export type TrainTask = 'classification' | 'regression';

export type JobRunner = 'process' | 'docker';

/** A hyperparameter's value as the jobs route takes it; `null` where a parameter allows "none". */
export type ParamValue = number | null;

/** `POST /api/v1/jobs`. */
export interface INewTrainJob {
  kind: 'train';
  project_id: string;
  dataset_id: string;
  dataset_version?: number;
  target: string;
  algorithm: TrainAlgorithm;
  task?: TrainTask;
  params: Record<string, ParamValue>;
  runner?: JobRunner;
}

/** `POST /api/v1/jobs` answers 202 with this. */
export interface IJobCreated {
  id: string;
  run_id: string;
  status: JobStatus;
}

/** `GET /api/v1/jobs/:id`, and each item of `GET /api/v1/jobs?project_id=`. */
export interface IJob {
  id: string;
  project_id: string;
  status: JobStatus;
  /** Why it failed, in words a person can act on. */
  error: string | null;
  run_id: string;
  experiment_id: string | null;
  dataset_id: string;
  dataset_version: number | null;
  target: string;
  algorithm: TrainAlgorithm;
  task: TrainTask | null;
  params: Record<string, unknown>;
  runner: JobRunner;
  model_name: string | null;
  model_version: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
}

export interface IJobLogLine {
  /** The line's number in the job's log: rising, never reused. */
  n: number;
  stream: 'stdout' | 'stderr';
  text: string;
  timestamp: number | string;
}

/** `GET /api/v1/jobs/:id/logs[?since=n]`. */
export interface IJobLogs {
  lines: IJobLogLine[];
  /** The job ended: no line will follow. */
  done: boolean;
}

/** `GET /api/v1/jobs/:id/stats`: resource use of a job in a container. */
export interface IJobStats {
  cpu_percent: number;
  memory_bytes: number;
  memory_limit_bytes: number | null;
}

/**
 * One hyperparameter, as the form offers it. Bounds mirror the jobs route's
 * validation: `min`/`max` inclusive unless `exclusiveMin`/`exclusiveMax`.
 */
export interface IParamSpec {
  name: string;
  type: 'int' | 'float';
  default: ParamValue;
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  /** `null` is allowed (e.g. random forest's `max_depth`: no limit). */
  nullable?: boolean;
  description?: string;
}

export interface IAlgorithmSpec {
  id: TrainAlgorithm;
  label: string;
  /** The tasks it trains; the form offers these. */
  tasks: TrainTask[];
  params: IParamSpec[];
}

export interface IDatasetColumn {
  name: string;
  type: string;
}

/** A dataset of the project, as `GET /api/v1/datasets[?project_id=|/:id]` answers it. */
export interface IDatasetSummary {
  id: string;
  project_id?: string;
  name: string;
  version: number;
  status: string;
  row_count?: number | null;
  columns?: IDatasetColumn[];
}
