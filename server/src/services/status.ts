/**
 * System health: each component the sidecar relies on reports itself, and
 * the overall state is derived from them (never stored).
 */
export type ComponentName = 'database' | 'storage' | 'jobs' | 'tracking';

export type ComponentState = 'ok' | 'degraded' | 'down' | 'not_configured';

export interface ComponentHealth {
  state: ComponentState;
  /** One sentence a person can act on. */
  detail: string;
  /** Which implementation answers, e.g. "pglite" or "postgres". */
  backend?: string;
  latency_ms?: number;
}

export type OverallState = 'OPTIMAL' | 'DEGRADED' | 'DOWN';

export interface HealthCheck {
  readonly name: ComponentName;
  check(): Promise<ComponentHealth>;
}

export interface SystemStatus {
  status: OverallState;
  components: Record<ComponentName, ComponentHealth>;
  version: string;
  uptime_s: number;
  checked_at: string;
}

/** Components the user cannot work without: if one is down, the system is down. */
const ESSENTIAL: ReadonlySet<ComponentName> = new Set(['database']);

const CHECK_TIMEOUT_MS = 2000;

/** A placeholder for components that later work fills in: honest about it. */
export function notConfigured(name: ComponentName, detail: string): HealthCheck {
  return {
    name,
    check: async () => ({ state: 'not_configured', detail })
  };
}

export function overallState(
  components: Record<ComponentName, ComponentHealth>
): OverallState {
  const entries = Object.entries(components) as [ComponentName, ComponentHealth][];
  if (entries.some(([name, c]) => ESSENTIAL.has(name) && c.state === 'down')) {
    return 'DOWN';
  }
  if (entries.some(([, c]) => c.state === 'down' || c.state === 'degraded')) {
    return 'DEGRADED';
  }
  return 'OPTIMAL';
}

/** What anyone may see: the overall state and each component's state. */
export interface PublicSystemStatus {
  status: OverallState;
  components: Record<ComponentName, Pick<ComponentHealth, 'state'>>;
  checked_at: string;
}

export class StatusService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly checks: HealthCheck[],
    private readonly version: string
  ) {}

  async status(): Promise<SystemStatus> {
    const results = await Promise.all(this.checks.map(c => timed(c)));
    const components = Object.fromEntries(
      this.checks.map((c, i) => [c.name, results[i]])
    ) as Record<ComponentName, ComponentHealth>;
    return {
      status: overallState(components),
      components,
      version: this.version,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      checked_at: new Date().toISOString()
    };
  }

  statesOnly(full: SystemStatus): PublicSystemStatus {
    return {
      status: full.status,
      components: Object.fromEntries(
        Object.entries(full.components).map(([name, c]) => [
          name,
          { state: c.state }
        ])
      ) as PublicSystemStatus['components'],
      checked_at: full.checked_at
    };
  }
}

async function timed(check: HealthCheck): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<ComponentHealth>(resolve => {
      timer = setTimeout(
        () =>
          resolve({
            state: 'down',
            detail: `No answer within ${CHECK_TIMEOUT_MS} ms.`
          }),
        CHECK_TIMEOUT_MS
      );
    });
    const result = await Promise.race([check.check(), timeout]);
    if (result.state === 'not_configured') {
      return result;
    }
    return { ...result, latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      state: 'down',
      detail: err instanceof Error ? err.message : String(err)
    };
  } finally {
    clearTimeout(timer);
  }
}
