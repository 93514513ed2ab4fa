/**
 * Wire types of the sidecar's API, as the sidecar answers them. They mirror
 * `server/src/services/status.ts`; the frontend never invents fields.
 */

/** `GET /health`: the sidecar process answers at all. */
export interface IHealth {
  status: 'ok';
}

export type ComponentName = 'database' | 'storage' | 'jobs' | 'tracking';

export type ComponentState = 'ok' | 'degraded' | 'down' | 'not_configured';

export interface IComponentHealth {
  state: ComponentState;
  /** One sentence a person can act on. */
  detail: string;
  /** Which implementation answers, e.g. "pglite" or "postgres". */
  backend?: string;
  latency_ms?: number;
}

export type OverallState = 'OPTIMAL' | 'DEGRADED' | 'DOWN';

/** `GET /api/v1/status`: health of each component and the state derived from them. */
export interface ISystemStatus {
  status: OverallState;
  components: Partial<Record<ComponentName, IComponentHealth>>;
  version: string;
  uptime_s: number;
  checked_at: string;
}

/** The body of every sidecar error (and of the proxy's own errors). */
export interface IErrorBody {
  error: {
    code: string;
    message: string;
    details?: unknown;
  };
}
