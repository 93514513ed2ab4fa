/**
 * The sidecar's deployments API as this package sees it (server/src/routes/
 * deployments.ts): every wire type in one place.
 */

export type DeploymentStatus =
  | 'pending'
  | 'starting'
  | 'ready'
  | 'failed'
  | 'stopped';

/** A request body the model takes (`dataframe_split` form). */
export interface IExampleRows {
  columns: string[];
  data: unknown[][];
}

export interface IDeployment {
  id: string;
  project_id: string;
  slug: string;
  /** `/api/v1/predict/<slug>`, relative to the sidecar's root. */
  url: string;
  status: DeploymentStatus;
  model_name: string;
  model_version: number;
  runner: 'process' | 'docker';
  /** Why it failed or stopped. */
  error: string | null;
  /** A scoring worker answers its traffic now. */
  serving: boolean;
  example: IExampleRows | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  ready_at: string | null;
  stopped_at: string | null;
  /** Predictions per minute each API key (and each signed-in caller) may make; null: no limit. */
  rate_limit_per_minute: number | null;
}

export interface IApiKey {
  id: string;
  project_id: string;
  deployment_id: string | null;
  name: string;
  /** The key's first characters, e.g. `ink_AbCd1234`. */
  prefix: string;
  created_by: string | null;
  created_at: string;
  revoked_at: string | null;
}

/** A key just created: the only time the key itself is shown. */
export interface ICreatedApiKey extends IApiKey {
  key: string;
}

export interface IRecentRequest {
  /** Milliseconds since the epoch. */
  at: number;
  status: number;
  latencyMs: number;
  rows: number;
  /** `key ink_…` or `user <id>`; only the project's writers are told. */
  caller?: string;
  error?: string;
  /** The first row's prediction. */
  prediction?: unknown;
}

export interface IDeploymentMetricsSnapshot {
  deployment_id: string;
  since: string;
  requests: number;
  rows: number;
  errors: number;
  client_errors: number;
  server_errors: number;
  error_rate: number;
  latency_ms: { p50: number; p95: number; p99: number; mean: number } | null;
  latency_window: number;
  requests_per_second: number;
  recent: IRecentRequest[];
  serving: boolean;
}

/** Every user action of this package is one of these commands. */
export namespace CommandIDs {
  /** A project's Deployment section (`{id}` or `{slug}`; the open project without). */
  export const openDeployments = 'insighter:open-deployments';
}
