/**
 * The events the sidecar pushes on `/api/v1/events`, by type. Type names and
 * payloads mirror the frontend bus (`IInsighterEventMap` in
 * `extensions/core/src/tokens.ts`) so the bus re-emits them untranslated;
 * `timestamp` is milliseconds since the epoch, as there.
 *
 * Every type here, `project.updated` and `project.deleted` included, is in
 * the frontend's map; a stream client still drops types it does not know
 * (`isInsighterEvent`), so the sidecar may add new ones first.
 */
export type ProjectVisibility = 'private' | 'team';

export interface ProjectCreatedPayload {
  projectId: string;
  name: string;
  slug: string;
  visibility: ProjectVisibility;
  timestamp: number;
}

export type ProjectUpdatedPayload = ProjectCreatedPayload;

export interface ProjectDeletedPayload {
  projectId: string;
  name: string;
  slug: string;
  timestamp: number;
}

export interface DatasetRef {
  datasetId: string;
  projectId: string;
  name: string;
}

/** A version became ready (1 for a new dataset). */
export interface DatasetUploadedPayload extends DatasetRef {
  version: number;
  sizeBytes: number;
  rowCount: number;
  timestamp: number;
}

/** Renamed or described anew; `name` is the new name. */
export interface DatasetUpdatedPayload extends DatasetRef {
  timestamp: number;
}

/** The whole dataset, or with `version` only that version, was deleted. */
export interface DatasetDeletedPayload extends DatasetRef {
  version?: number;
  timestamp: number;
}

/** A tracking run was created (by a job, a notebook or any MLflow client). */
export interface RunStartedPayload {
  runId: string;
  projectId: string;
  experimentId?: string;
  name: string;
  timestamp: number;
}

/** One logged metric value; sent for every value of log-metric and log-batch. */
export interface RunMetricPayload {
  runId: string;
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

/** A run reached a terminal state. */
export interface RunFinishedPayload {
  runId: string;
  status: 'FINISHED' | 'FAILED' | 'KILLED';
  /** Why it failed, when it did, in words a person can act on. */
  error?: string;
  timestamp: number;
}

export interface ModelVersionRegisteredPayload {
  modelId: string;
  modelName: string;
  /** 1, 2, … per model. */
  version: number;
  runId: string;
  projectId: string;
  timestamp: number;
}

/** Lines a job printed, batched (at most every ~100 ms), one stream per event. */
export interface RunLogPayload {
  runId: string;
  /** Complete lines, without their trailing newline, in the order written. */
  lines: string[];
  stream: 'stdout' | 'stderr';
  timestamp: number;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A training job changed status (`GET /api/v1/jobs/:id` has the rest). */
export interface JobUpdatedPayload {
  jobId: string;
  projectId: string;
  /** The MLflow run the job logs to. */
  runId: string;
  status: JobStatus;
  /** Why it failed, when it did, in words a person can act on. */
  error?: string;
  /** The registered model version, once the job registered one. */
  modelVersion?: number;
  timestamp: number;
}

export type DeploymentState = 'starting' | 'running' | 'stopped' | 'failed';

/** A deployment started, serves, failed (and is being restarted) or stopped. */
export interface DeploymentChangedPayload {
  deploymentId: string;
  projectId: string;
  /** The model version served; `null` once undeployed. */
  modelVersion: number | null;
  state: DeploymentState;
  /** `/api/v1/predict/<project slug>` while running. */
  endpoint?: string;
  detail?: string;
  timestamp: number;
}

/** A deployment's traffic, every few seconds while it has some. */
export interface DeploymentMetricsPayload {
  deploymentId: string;
  projectId: string;
  requests: number;
  errors: number;
  /** errors / requests since the sidecar started serving it. */
  errorRate: number;
  /** Latency percentiles over the most recent requests, in ms; null before the first. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  requestsPerSecond: number;
  timestamp: number;
}

export interface ServerEventMap {
  'project.created': ProjectCreatedPayload;
  'project.updated': ProjectUpdatedPayload;
  'project.deleted': ProjectDeletedPayload;
  'dataset.uploaded': DatasetUploadedPayload;
  'dataset.updated': DatasetUpdatedPayload;
  'dataset.deleted': DatasetDeletedPayload;
  'run.started': RunStartedPayload;
  'run.metric': RunMetricPayload;
  'run.finished': RunFinishedPayload;
  'run.log': RunLogPayload;
  'job.updated': JobUpdatedPayload;
  'model.version-registered': ModelVersionRegisteredPayload;
  'deployment.changed': DeploymentChangedPayload;
  'deployment.metrics': DeploymentMetricsPayload;
}

export type ServerEventType = keyof ServerEventMap;
