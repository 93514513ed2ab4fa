import type {
  DeploymentState,
  IDeploymentChanged,
  IDeploymentMetrics,
  IInsighterBus
} from '@insighter/core';
import type {
  DeploymentsApi,
  DeploymentStatus,
  IDeployment,
  IDeploymentMetricsSnapshot,
  IRecentRequest
} from '@insighter/deployment';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

export type DeploymentsApiLike = Pick<DeploymentsApi, 'list' | 'metrics'>;

/** What the Monitor shows of one deployment's traffic. */
export interface IDeploymentTraffic {
  deploymentId: string;
  requests: number;
  errors: number;
  /** errors / requests, 0…1. */
  errorRate: number;
  /** `null` before the first request. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  requestsPerSecond: number;
  /** The sidecar's sample of the latest requests, newest as it lists them. */
  recent: IRecentRequest[];
}

/**
 * The bus speaks of a deployment's state in fewer words than the route;
 * `starting` stands for both `pending` and `starting`.
 */
function statusOf(state: DeploymentState, previous: DeploymentStatus): DeploymentStatus {
  switch (state) {
    case 'running':
      return 'ready';
    case 'starting':
      return previous === 'pending' ? 'pending' : 'starting';
    default:
      return state;
  }
}

function fromSnapshot(snapshot: IDeploymentMetricsSnapshot): IDeploymentTraffic {
  return {
    deploymentId: snapshot.deployment_id,
    requests: snapshot.requests,
    errors: snapshot.errors,
    errorRate: snapshot.error_rate,
    p50Ms: snapshot.latency_ms?.p50 ?? null,
    p95Ms: snapshot.latency_ms?.p95 ?? null,
    p99Ms: snapshot.latency_ms?.p99 ?? null,
    requestsPerSecond: snapshot.requests_per_second,
    recent: snapshot.recent
  };
}

export interface IDeploymentsMonitorOptions {
  api: DeploymentsApiLike;
  bus: IInsighterBus;
  projectId: string;
  trans?: TranslationBundle;
}

/**
 * A project's deployments as the Tool Monitor shows them: the list (status
 * kept by `deployment.changed`) and, for the selected one, its traffic, read
 * once from the metrics route and then taken from `deployment.metrics`
 * events. Those events carry no request sample, so each one also reads the
 * route again for `recent` only (one read at a time), leaving the numbers the
 * event brought untouched.
 */
export class DeploymentsMonitor implements IDisposable {
  private readonly _api: DeploymentsApiLike;
  private readonly _bus: IInsighterBus;
  private readonly _trans: TranslationBundle;
  private _projectId: string;
  private _deployments: IDeployment[] = [];
  private _selectedId: string | null = null;
  private _traffic: IDeploymentTraffic | null = null;
  /** An event's numbers arrived for the selected one: a later route answer must not undo them. */
  private _live = false;
  private _sampling = false;
  private _sampleAgain = false;
  private _error: string | null = null;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IDeploymentsMonitorOptions) {
    this._api = options.api;
    this._bus = options.bus;
    this._projectId = options.projectId;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._bus.deploymentChanged.connect(this._onChanged, this);
    this._bus.deploymentMetrics.connect(this._onMetrics, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Newest first, as the sidecar lists them. */
  get deployments(): readonly IDeployment[] {
    return this._deployments;
  }

  get selected(): IDeployment | null {
    return this._deployments.find(d => d.id === this._selectedId) ?? null;
  }

  /** The selected deployment's traffic; `null` until the route answered or an event came. */
  get traffic(): IDeploymentTraffic | null {
    return this._traffic;
  }

  /** Why the deployments could not be listed. */
  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Lists the deployments; selects the serving one (else the newest) when none is. */
  async refresh(): Promise<void> {
    const projectId = this._projectId;
    try {
      const deployments = await this._api.list(projectId);
      if (this._isDisposed || projectId !== this._projectId) {
        return;
      }
      this._deployments = deployments;
      this._error = null;
      if (!this.selected) {
        const first =
          deployments.find(d => d.status === 'ready') ?? deployments[0];
        this._selectedId = null;
        if (first) {
          this.select(first.id);
          return;
        }
      }
    } catch (reason) {
      if (this._isDisposed) {
        return;
      }
      this._error = this._trans.__(
        'The deployments could not be listed: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    this._emit();
  }

  setProject(projectId: string): void {
    if (projectId !== this._projectId) {
      this._projectId = projectId;
      this._deployments = [];
      this._selectedId = null;
      this._traffic = null;
      this._live = false;
      void this.refresh();
    }
  }

  /** Shows one deployment's traffic: from the metrics route, then live. */
  select(deploymentId: string): void {
    if (deploymentId === this._selectedId) {
      return;
    }
    this._selectedId = deploymentId;
    this._traffic = null;
    this._live = false;
    this._emit();
    void this._readTraffic(deploymentId);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.deploymentChanged.disconnect(this._onChanged, this);
    this._bus.deploymentMetrics.disconnect(this._onMetrics, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    Signal.clearData(this);
  }

  /** The traffic from the metrics route; numbers an event brought meanwhile stay. */
  private async _readTraffic(deploymentId: string): Promise<void> {
    // No metrics (a stopped deployment, a viewer's race with a deletion): none shown.
    const snapshot = await this._api.metrics(deploymentId).catch(() => null);
    if (!snapshot || this._isDisposed || this._selectedId !== deploymentId) {
      return;
    }
    const read = fromSnapshot(snapshot);
    this._traffic =
      this._live && this._traffic
        ? { ...this._traffic, recent: read.recent }
        : read;
    this._emit();
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  /**
   * Deployments made, ended or busy while the event stream was down: list
   * again, and read the shown one's traffic afresh.
   */
  private _onReconnected(): void {
    const shown = this._selectedId;
    void this.refresh().then(() => {
      if (shown && shown === this._selectedId && !this._isDisposed) {
        this._live = false;
        void this._readTraffic(shown);
      }
    });
  }

  private _onChanged(_: IInsighterBus, change: IDeploymentChanged): void {
    if (change.projectId !== this._projectId) {
      return;
    }
    const known = this._deployments.find(d => d.id === change.deploymentId);
    if (!known) {
      // A new deployment: the listing brings its whole record.
      void this.refresh();
      return;
    }
    this._deployments = this._deployments.map(d =>
      d.id === change.deploymentId
        ? {
            ...d,
            status: statusOf(change.state, d.status),
            model_version: change.modelVersion ?? d.model_version,
            error: change.detail ?? (change.state === 'failed' ? d.error : null)
          }
        : d
    );
    this._emit();
  }

  private _onMetrics(_: IInsighterBus, metrics: IDeploymentMetrics): void {
    if (
      metrics.projectId !== this._projectId ||
      metrics.deploymentId !== this._selectedId
    ) {
      return;
    }
    this._live = true;
    this._traffic = {
      deploymentId: metrics.deploymentId,
      requests: metrics.requests,
      errors: metrics.errors,
      errorRate: metrics.errorRate,
      p50Ms: metrics.p50Ms,
      p95Ms: metrics.p95Ms,
      p99Ms: metrics.p99Ms,
      requestsPerSecond: metrics.requestsPerSecond,
      recent: this._traffic?.recent ?? []
    };
    this._emit();
    void this._sample(metrics.deploymentId);
  }

  /** Reads the request sample again; events during a read ask for one more. */
  private async _sample(deploymentId: string): Promise<void> {
    if (this._sampling) {
      this._sampleAgain = true;
      return;
    }
    this._sampling = true;
    try {
      do {
        this._sampleAgain = false;
        const snapshot = await this._api
          .metrics(deploymentId)
          .catch(() => null);
        if (
          snapshot &&
          !this._isDisposed &&
          this._selectedId === deploymentId &&
          this._traffic
        ) {
          this._traffic = { ...this._traffic, recent: snapshot.recent };
          this._emit();
        }
      } while (this._sampleAgain && this._selectedId === deploymentId);
    } finally {
      this._sampling = false;
    }
  }
}
