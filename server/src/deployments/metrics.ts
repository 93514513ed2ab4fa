/**
 * What a deployment's endpoint did: request and row counts, errors, latency
 * percentiles over the most recent requests, throughput over the last
 * minute, and a sample of recent requests. In memory, per sidecar: the
 * monitor shows the live picture, not an audit log.
 */
export interface RequestRecord {
  /** Milliseconds since the epoch, when the answer left. */
  at: number;
  status: number;
  latencyMs: number;
  /** Rows predicted (0 when the request was refused). */
  rows: number;
  /**
   * `key ink_ab12cd34` or `user <id>`: never a secret, but shown to the
   * project's writers only (left out for viewers).
   */
  caller?: string;
  /** The refusal's message, for 4xx and 5xx. */
  error?: string;
  /** The first row's prediction, for 2xx. */
  prediction?: unknown;
}

export interface MetricsSnapshot {
  deployment_id: string;
  /** Counted since this sidecar started serving the deployment. */
  since: string;
  requests: number;
  rows: number;
  errors: number;
  client_errors: number;
  server_errors: number;
  /** errors / requests; 0 without requests. */
  error_rate: number;
  /** Over the last `latency_window` requests, in milliseconds. */
  latency_ms: { p50: number; p95: number; p99: number; mean: number } | null;
  latency_window: number;
  /** Requests per second over the last minute. */
  requests_per_second: number;
  recent: RequestRecord[];
}

const LATENCY_WINDOW = 4096;
const RECENT = 25;
const RATE_SECONDS = 60;

export class DeploymentMetrics {
  private requests = 0;
  private rows = 0;
  private clientErrors = 0;
  private serverErrors = 0;
  private readonly latencies = new Float64Array(LATENCY_WINDOW);
  private recorded = 0;
  private readonly recent: RequestRecord[] = [];
  /** Requests per second, one slot per second of the last minute. */
  private readonly perSecond = new Uint32Array(RATE_SECONDS);
  private readonly slotSecond = new Float64Array(RATE_SECONDS);
  private readonly since = new Date().toJSON();
  /** Bumped on every record: lets a publisher skip deployments without traffic. */
  version = 0;

  constructor(readonly deploymentId: string) {}

  record(entry: RequestRecord): void {
    this.requests++;
    this.rows += entry.rows;
    if (entry.status >= 500) {
      this.serverErrors++;
    } else if (entry.status >= 400) {
      this.clientErrors++;
    }
    this.latencies[this.recorded % LATENCY_WINDOW] = entry.latencyMs;
    this.recorded++;
    const second = Math.floor(entry.at / 1000);
    const slot = second % RATE_SECONDS;
    if (this.slotSecond[slot] !== second) {
      this.slotSecond[slot] = second;
      this.perSecond[slot] = 0;
    }
    this.perSecond[slot]++;
    this.recent.push(entry);
    if (this.recent.length > RECENT) {
      this.recent.shift();
    }
    this.version++;
  }

  snapshot(now = Date.now()): MetricsSnapshot {
    const errors = this.clientErrors + this.serverErrors;
    const count = Math.min(this.recorded, LATENCY_WINDOW);
    let latency: MetricsSnapshot['latency_ms'] = null;
    if (count > 0) {
      const sorted = this.latencies.slice(0, count).sort();
      let sum = 0;
      for (const value of sorted) {
        sum += value;
      }
      latency = {
        p50: round(percentile(sorted, 0.5)),
        p95: round(percentile(sorted, 0.95)),
        p99: round(percentile(sorted, 0.99)),
        mean: round(sum / count)
      };
    }
    const second = Math.floor(now / 1000);
    let lastMinute = 0;
    for (let i = 0; i < RATE_SECONDS; i++) {
      if (second - this.slotSecond[i] < RATE_SECONDS) {
        lastMinute += this.perSecond[i];
      }
    }
    return {
      deployment_id: this.deploymentId,
      since: this.since,
      requests: this.requests,
      rows: this.rows,
      errors,
      client_errors: this.clientErrors,
      server_errors: this.serverErrors,
      error_rate: this.requests ? errors / this.requests : 0,
      latency_ms: latency,
      latency_window: count,
      requests_per_second: round(lastMinute / RATE_SECONDS),
      recent: [...this.recent].reverse()
    };
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, q: number): number {
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
