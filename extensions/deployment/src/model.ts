import type { IInsighterBus } from '@insighter/core';
import type { TrackingApi } from '@insighter/experiments';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { DeploymentsApi } from './api';
import type {
  IApiKey,
  ICreatedApiKey,
  IDeployment,
  IDeploymentMetricsSnapshot
} from './tokens';

export interface IDeploymentModelOptions {
  api: Pick<
    DeploymentsApi,
    | 'list'
    | 'deploy'
    | 'undeploy'
    | 'setRateLimit'
    | 'metrics'
    | 'keys'
    | 'createKey'
    | 'revokeKey'
    | 'endpointUrl'
  >;
  tracking: Pick<TrackingApi, 'modelVersions'>;
  bus: IInsighterBus;
  project: { id: string; slug: string };
  trans?: TranslationBundle;
}

/** Statuses of a deployment that still has (or is getting) the endpoint. */
const LIVE: ReadonlySet<string> = new Set(['pending', 'starting', 'ready', 'failed']);

/**
 * One project's deployment: its deployments (newest first), the one that
 * has the endpoint, the registered versions that can be deployed, the
 * endpoint's API keys and its metrics. Kept current by the bus —
 * `deployment.changed` lists again, `deployment.metrics` reloads the
 * metrics, `model.version-registered` the versions, `events.reconnected`
 * all of it — so the view never polls.
 */
export class DeploymentModel implements IDisposable {
  private readonly _api: IDeploymentModelOptions['api'];
  private readonly _tracking: IDeploymentModelOptions['tracking'];
  private readonly _bus: IInsighterBus;
  private readonly _trans: TranslationBundle;
  private _project: { id: string; slug: string };
  private _status: 'loading' | 'ready' | 'error' = 'loading';
  private _error: string | null = null;
  private _actionError: string | null = null;
  private _busy = false;
  private _deployments: IDeployment[] = [];
  private _versions: number[] = [];
  private _keys: IApiKey[] = [];
  private _newKey: ICreatedApiKey | null = null;
  private _metrics: IDeploymentMetricsSnapshot | null = null;
  private _listing: Promise<void> | null = null;
  private _again = false;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IDeploymentModelOptions) {
    this._api = options.api;
    this._tracking = options.tracking;
    this._bus = options.bus;
    this._project = options.project;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._bus.deploymentChanged.connect(this._onDeploymentChanged, this);
    this._bus.deploymentMetrics.connect(this._onMetrics, this);
    this._bus.modelVersionRegistered.connect(this._onVersion, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get project(): { id: string; slug: string } {
    return this._project;
  }

  get status(): 'loading' | 'ready' | 'error' {
    return this._status;
  }

  /** Why the deployments could not be listed. */
  get error(): string | null {
    return this._error;
  }

  /** Why the last action (deploy, undeploy, keys) failed. */
  get actionError(): string | null {
    return this._actionError;
  }

  /** An action is under way. */
  get busy(): boolean {
    return this._busy;
  }

  /** Newest first. */
  get deployments(): readonly IDeployment[] {
    return this._deployments;
  }

  /** The deployment that has (or is about to have) the endpoint. */
  get current(): IDeployment | null {
    const live = this._deployments.filter(d => LIVE.has(d.status));
    return live.find(d => d.status === 'ready') ?? live[0] ?? null;
  }

  /** A newer deployment on its way to replace the current one. */
  get upcoming(): IDeployment | null {
    const current = this.current;
    return (
      this._deployments.find(
        d => d !== current && (d.status === 'pending' || d.status === 'starting')
      ) ?? null
    );
  }

  /** Registered versions of the project's model (named after its slug), newest first. */
  get versions(): readonly number[] {
    return this._versions;
  }

  get keys(): readonly IApiKey[] {
    return this._keys;
  }

  /** The key just created: shown once, until `dismissNewKey`. */
  get newKey(): ICreatedApiKey | null {
    return this._newKey;
  }

  get metrics(): IDeploymentMetricsSnapshot | null {
    return this._metrics;
  }

  /** The endpoint's URL as this browser reaches it. */
  get endpointUrl(): string {
    return this._api.endpointUrl({ url: `/api/v1/predict/${this._project.slug}` });
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  setProject(project: { id: string; slug: string }): void {
    this._project = project;
    void this.refresh();
  }

  /** Lists deployments and versions again (a listing under way is followed by one more). */
  refresh(): Promise<void> {
    if (this._listing) {
      this._again = true;
      return this._listing;
    }
    this._listing = (async () => {
      do {
        this._again = false;
        await this._load();
      } while (this._again && !this._isDisposed);
    })().finally(() => {
      this._listing = null;
    });
    return this._listing;
  }

  async deploy(version: number): Promise<void> {
    await this._act(async () => {
      const created = await this._api.deploy(this._project.id, version);
      this._deployments = [created, ...this._deployments.filter(d => d.id !== created.id)];
    });
  }

  async undeploy(): Promise<void> {
    const current = this.current;
    if (!current) {
      return;
    }
    await this._act(async () => {
      const stopped = await this._api.undeploy(current.id);
      this._replace(stopped);
    });
  }

  /** Sets the current deployment's rate limit (predictions per minute per key); null lifts it. */
  async setRateLimit(perMinute: number | null): Promise<void> {
    const current = this.current;
    if (!current) {
      return;
    }
    await this._act(async () => {
      this._replace(await this._api.setRateLimit(current.id, perMinute));
    });
  }

  async createKey(name: string): Promise<void> {
    const current = this.current;
    if (!current) {
      return;
    }
    await this._act(async () => {
      this._newKey = await this._api.createKey(current.id, name.trim());
      this._keys = await this._api.keys(current.id);
    });
  }

  async revokeKey(keyId: string): Promise<void> {
    const current = this.current;
    if (!current) {
      return;
    }
    await this._act(async () => {
      await this._api.revokeKey(current.id, keyId);
      if (this._newKey?.id === keyId) {
        this._newKey = null;
      }
      this._keys = await this._api.keys(current.id);
    });
  }

  /** The new key was copied (or the person decided not to): it is not shown again. */
  dismissNewKey(): void {
    this._newKey = null;
    this._changed.emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._newKey = null;
    Signal.clearData(this);
  }

  private async _load(): Promise<void> {
    const projectId = this._project.id;
    try {
      const [deployments, versions] = await Promise.all([
        this._api.list(projectId),
        this._tracking
          .modelVersions(this._project.slug)
          // No registered model yet: nothing to deploy, not an error.
          .catch(() => [])
      ]);
      if (this._isDisposed || projectId !== this._project.id) {
        return;
      }
      this._deployments = deployments;
      this._versions = versions
        .filter(v => !v.status || v.status === 'READY')
        .map(v => Number(v.version))
        .sort((a, b) => b - a);
      this._status = 'ready';
      this._error = null;
      await this._loadCurrent();
    } catch (err) {
      this._status = 'error';
      this._error = messageOf(err, this._trans);
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  /** Keys and metrics of the current deployment (keys only for those who may manage them). */
  private async _loadCurrent(): Promise<void> {
    const current = this.current;
    if (!current) {
      this._keys = [];
      this._metrics = null;
      return;
    }
    const [keys, metrics] = await Promise.all([
      this._api.keys(current.id).catch(() => [] as IApiKey[]),
      this._api.metrics(current.id).catch(() => null)
    ]);
    this._keys = keys;
    this._metrics = metrics;
  }

  private async _act(action: () => Promise<void>): Promise<void> {
    this._busy = true;
    this._actionError = null;
    this._changed.emit();
    try {
      await action();
    } catch (err) {
      this._actionError = messageOf(err, this._trans);
    } finally {
      this._busy = false;
      if (!this._isDisposed) {
        this._changed.emit();
      }
    }
  }

  private _replace(deployment: IDeployment): void {
    this._deployments = this._deployments.map(d => (d.id === deployment.id ? deployment : d));
  }

  private _onDeploymentChanged(_: IInsighterBus, change: { projectId: string }): void {
    if (change.projectId === this._project.id) {
      void this.refresh();
    }
  }

  private _onMetrics(_: IInsighterBus, metrics: { deploymentId: string }): void {
    const current = this.current;
    if (current && metrics.deploymentId === current.id) {
      void this._api.metrics(current.id).then(
        snapshot => {
          if (!this._isDisposed && this.current?.id === snapshot.deployment_id) {
            this._metrics = snapshot;
            this._changed.emit();
          }
        },
        () => undefined
      );
    }
  }

  /** Deployments, versions, keys and traffic may have changed unheard while the event stream was down. */
  private _onReconnected(): void {
    void this.refresh();
  }

  private _onVersion(_: IInsighterBus, registered: { projectId: string; modelName: string }): void {
    if (registered.projectId === this._project.id) {
      void this.refresh();
    }
  }
}

function messageOf(err: unknown, trans: TranslationBundle): string {
  return err instanceof Error && err.message
    ? err.message
    : trans.__('Something went wrong; try again.');
}
