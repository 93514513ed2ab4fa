import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { SidecarError } from './errors';
import type { IHealth, ISystemStatus, OverallState } from './types';

/*
 * Every event payload carries `timestamp`: milliseconds since the epoch, as
 * `Date.now()` and MLflow's metric timestamps count, so a payload that came
 * over the wire from the sidecar needs no conversion.
 */

/** The signed-in user as tools may show it; never tokens or secrets. */
export interface ISessionUser {
  id: string;
  email: string;
  fullName?: string;
}

export interface ISessionChanged {
  /** `null` once the user signed out (or the session expired). */
  user: ISessionUser | null;
  timestamp: number;
}

export type ProjectVisibility = 'private' | 'team';

export interface IProjectRef {
  projectId: string;
  name: string;
  slug: string;
}

export interface IProjectCreated extends IProjectRef {
  visibility: ProjectVisibility;
  timestamp: number;
}

/** A project's name or sharing changed; the payload carries its new state. */
export type IProjectUpdated = IProjectCreated;

export interface IProjectDeleted extends IProjectRef {
  timestamp: number;
}

export interface IProjectSelected {
  /** `null` when no project is open any more. */
  project: IProjectRef | null;
  timestamp: number;
}

export interface IDatasetRef {
  datasetId: string;
  projectId: string;
  name: string;
}

export interface IDatasetUploaded extends IDatasetRef {
  /** 1 for a new dataset; a file uploaded under an existing name adds the next one. */
  version: number;
  sizeBytes: number;
  rowCount: number;
  timestamp: number;
}

/** A dataset was renamed or its description changed; `name` is the new name. */
export interface IDatasetUpdated extends IDatasetRef {
  timestamp: number;
}

/** A dataset (every version) or, with `version`, one of its versions was deleted. */
export interface IDatasetDeleted extends IDatasetRef {
  version?: number;
  timestamp: number;
}

export interface IDatasetSelected {
  dataset: IDatasetRef | null;
  timestamp: number;
}

export interface IRunStarted {
  runId: string;
  projectId: string;
  experimentId?: string;
  name: string;
  timestamp: number;
}

/** One logged value, as MLflow logs it: a key, a value and the step it belongs to. */
export interface IRunMetric {
  runId: string;
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

export interface IRunLog {
  runId: string;
  /** Complete lines, without their trailing newline, in the order written. */
  lines: string[];
  stream: 'stdout' | 'stderr';
  timestamp: number;
}

/** MLflow's terminal run states. */
export type RunEndState = 'FINISHED' | 'FAILED' | 'KILLED';

export interface IRunFinished {
  runId: string;
  status: RunEndState;
  /** Why it failed, when it did, in words a person can act on. */
  error?: string;
  timestamp: number;
}

export interface IModelVersionRegistered {
  modelId: string;
  modelName: string;
  /** 1, 2, … per model. */
  version: number;
  runId: string;
  projectId: string;
  timestamp: number;
}

/** A training job's lifecycle, as `GET /api/v1/jobs/:id` reports it. */
export type JobStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface IJobUpdated {
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

export interface IDeploymentChanged {
  deploymentId: string;
  projectId: string;
  /** The model version served; `null` once undeployed. */
  modelVersion: number | null;
  state: DeploymentState;
  /** e.g. `/api/v1/predict/<project-slug>` while running. */
  endpoint?: string;
  detail?: string;
  timestamp: number;
}

/** A deployment's traffic, sent every few seconds while it has some. */
export interface IDeploymentMetrics {
  deploymentId: string;
  projectId: string;
  requests: number;
  errors: number;
  /** errors / requests since the sidecar started serving it. */
  errorRate: number;
  /** Latency percentiles over the most recent requests, in ms; `null` before the first. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  requestsPerSecond: number;
  timestamp: number;
}

/** What the status indicator shows: the sidecar's overall state, or UNKNOWN before the first answer. */
export type SystemState = OverallState | 'UNKNOWN';

export interface ISystemStatusChanged {
  state: SystemState;
  previous: SystemState;
  /** The sidecar's last answer; `null` when it could not be asked. */
  status: ISystemStatus | null;
  /** One sentence for people, e.g. the "not reachable" explanation. */
  message: string;
  timestamp: number;
}

/**
 * The page's event stream opened, the first time or again after a drop:
 * whatever the sidecar announced while it was not open was never heard here.
 * Every model that keeps a listing lists it again. (Sent by the page, never
 * by the sidecar.)
 */
export interface IEventsReconnected {
  /** How long no events could arrive: since the stream was asked to connect, or dropped (ms). */
  downMs: number;
  timestamp: number;
}

/**
 * Event type → payload. The keys are the `type` strings the sidecar uses on
 * its event stream, so a server event re-emits without translation.
 */
export interface IInsighterEventMap {
  'session.changed': ISessionChanged;
  'project.created': IProjectCreated;
  'project.updated': IProjectUpdated;
  'project.deleted': IProjectDeleted;
  'project.selected': IProjectSelected;
  'dataset.uploaded': IDatasetUploaded;
  'dataset.updated': IDatasetUpdated;
  'dataset.deleted': IDatasetDeleted;
  'dataset.selected': IDatasetSelected;
  'run.started': IRunStarted;
  'run.metric': IRunMetric;
  'run.log': IRunLog;
  'run.finished': IRunFinished;
  'job.updated': IJobUpdated;
  'model.version-registered': IModelVersionRegistered;
  'deployment.changed': IDeploymentChanged;
  'deployment.metrics': IDeploymentMetrics;
  'system.status-changed': ISystemStatusChanged;
  'events.reconnected': IEventsReconnected;
}

export type InsighterEventType = keyof IInsighterEventMap;

/** One event as it travels: `{type, payload}` with the payload its type demands. */
export type InsighterEvent = {
  [K in InsighterEventType]: { type: K; payload: IInsighterEventMap[K] };
}[InsighterEventType];

/**
 * The events tools share. Listeners connect to the signal they care about;
 * anyone (a widget, the event stream, a notebook bridge) publishes with `emit`.
 * Signals fire synchronously in emission order.
 */
export interface IInsighterBus extends IDisposable {
  readonly sessionChanged: ISignal<IInsighterBus, ISessionChanged>;
  readonly projectCreated: ISignal<IInsighterBus, IProjectCreated>;
  readonly projectUpdated: ISignal<IInsighterBus, IProjectUpdated>;
  readonly projectDeleted: ISignal<IInsighterBus, IProjectDeleted>;
  readonly projectSelected: ISignal<IInsighterBus, IProjectSelected>;
  readonly datasetUploaded: ISignal<IInsighterBus, IDatasetUploaded>;
  readonly datasetUpdated: ISignal<IInsighterBus, IDatasetUpdated>;
  readonly datasetDeleted: ISignal<IInsighterBus, IDatasetDeleted>;
  readonly datasetSelected: ISignal<IInsighterBus, IDatasetSelected>;
  readonly runStarted: ISignal<IInsighterBus, IRunStarted>;
  readonly runMetric: ISignal<IInsighterBus, IRunMetric>;
  readonly runLog: ISignal<IInsighterBus, IRunLog>;
  readonly runFinished: ISignal<IInsighterBus, IRunFinished>;
  readonly jobUpdated: ISignal<IInsighterBus, IJobUpdated>;
  readonly modelVersionRegistered: ISignal<
    IInsighterBus,
    IModelVersionRegistered
  >;
  readonly deploymentChanged: ISignal<IInsighterBus, IDeploymentChanged>;
  readonly deploymentMetrics: ISignal<IInsighterBus, IDeploymentMetrics>;
  readonly systemStatusChanged: ISignal<IInsighterBus, ISystemStatusChanged>;
  /** The event stream (re)opened: list again what events would have kept current. */
  readonly eventsReconnected: ISignal<IInsighterBus, IEventsReconnected>;

  /** Every event, right after its own signal fired (for logs and monitors). */
  readonly events: ISignal<IInsighterBus, InsighterEvent>;

  /** The signal for one event type, for code that subscribes by type name. */
  signalFor<K extends InsighterEventType>(
    type: K
  ): ISignal<IInsighterBus, IInsighterEventMap[K]>;

  /** Publish an event: its signal fires, then `events`. */
  emit(event: InsighterEvent): void;
}

export const IInsighterBus = new Token<IInsighterBus>(
  '@insighter/core:IInsighterBus',
  'The signal bus for events Insighter tools share: session, projects, datasets, runs, models, deployments, system status and the event stream reconnecting.'
);

/** Supplies the user's access token for the sidecar, or `null` when signed out. */
export type AccessTokenProvider = () =>
  string | null | undefined | Promise<string | null | undefined>;

export interface ISidecarRequestInit extends RequestInit {
  /** A JSON body: serialized, with its content type set. */
  json?: unknown;
  /** Give up (as unreachable) after this long; defaults to the client's timeout. */
  timeoutMs?: number;
}

/**
 * The one way the frontend talks to the sidecar: through the Jupyter server's
 * authenticated proxy, with errors turned into `SidecarError`s.
 */
export interface ISidecarClient {
  /** The proxied sidecar root, absolute and ending in `/`. */
  readonly baseUrl: string;

  /** Who the sidecar should act for; set once the user signs in. */
  accessTokenProvider: AccessTokenProvider | null;

  /** Call `path` (relative to `baseUrl`, e.g. `api/v1/projects`) and decode its JSON answer. */
  request<T>(path: string, init?: ISidecarRequestInit): Promise<T>;

  health(): Promise<IHealth>;
  status(): Promise<ISystemStatus>;
}

export const ISidecarClient = new Token<ISidecarClient>(
  '@insighter/core:ISidecarClient',
  'The typed client for the Insighter sidecar, proxied by the Jupyter server.'
);

/**
 * The live system status, kept fresh by polling the sidecar. Views render
 * it; none of them asks the sidecar for status on its own.
 */
export interface ISystemStatusModel {
  readonly state: SystemState;
  /** The last answer; `null` before the first one and while the sidecar cannot be asked. */
  readonly status: ISystemStatus | null;
  /** Why the last check failed; `null` after a successful one. */
  readonly error: SidecarError | null;
  /** One sentence summarizing `state` for people. */
  readonly message: string;
  /** Fires after every check (and so after every change of `state`). */
  readonly changed: ISignal<ISystemStatusModel, void>;
  /** Check now instead of waiting for the next poll. */
  refresh(): Promise<void>;
}

export const ISystemStatusModel = new Token<ISystemStatusModel>(
  '@insighter/core:ISystemStatusModel',
  "The sidecar's live system status (database, storage, jobs, tracking)."
);
