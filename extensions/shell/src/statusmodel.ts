import {
  ComponentName,
  IInsighterBus,
  ISidecarClient,
  ISystemStatus,
  ISystemStatusModel,
  SidecarError,
  SystemState,
  UNREACHABLE_MESSAGE
} from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

/** How often to ask, in milliseconds. */
export interface IStatusPollTiming {
  /** Between checks while the sidecar answers. */
  interval: number;
  /** The first retry after a failed check. */
  retryInterval: number;
  /**
   * The longest wait between retries while failing. Kept short: the Jupyter
   * server restarts a crashed sidecar within seconds, and the indicator should
   * show the recovery as soon as it happens.
   */
  maxRetryInterval: number;
}

export const DEFAULT_POLL_TIMING: IStatusPollTiming = {
  interval: 5000,
  retryInterval: 1000,
  maxRetryInterval: 2000
};

export interface IStateChange {
  previous: SystemState;
  current: SystemState;
}

export interface ISystemStatusModelOptions {
  client: Pick<ISidecarClient, 'status'>;
  timing?: Partial<IStatusPollTiming>;
  trans?: TranslationBundle;
  /** Start polling at once (default); tests may start it themselves. */
  autoStart?: boolean;
}

const OVERALL_STATES: ReadonlySet<unknown> = new Set([
  'OPTIMAL',
  'DEGRADED',
  'DOWN'
]);

/**
 * The sidecar's system status, polled with Lumino's `Poll`: a steady interval
 * while it answers, quick retries with backoff (capped) while it does not, and
 * no checks while the page is hidden.
 */
export class SystemStatusModel implements ISystemStatusModel, IDisposable {
  private readonly _client: Pick<ISidecarClient, 'status'>;
  private readonly _trans: TranslationBundle;
  private readonly _poll: Poll;
  private _timing: IStatusPollTiming;
  private _state: SystemState = 'UNKNOWN';
  private _status: ISystemStatus | null = null;
  private _error: SidecarError | null = null;
  private readonly _changed = new Signal<this, void>(this);
  private readonly _stateChanged = new Signal<this, IStateChange>(this);

  constructor(options: ISystemStatusModelOptions) {
    this._client = options.client;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._timing = validTiming({ ...DEFAULT_POLL_TIMING, ...options.timing });
    this._poll = new Poll({
      factory: () => this._check(),
      frequency: steadyFrequency(this._timing),
      standby: 'when-hidden',
      name: '@insighter/shell:status',
      auto: options.autoStart ?? true
    });
  }

  get state(): SystemState {
    return this._state;
  }

  get status(): ISystemStatus | null {
    return this._status;
  }

  get error(): SidecarError | null {
    return this._error;
  }

  get timing(): IStatusPollTiming {
    return { ...this._timing };
  }

  get message(): string {
    const trans = this._trans;
    if (this._error) {
      if (this._error.unreachable) {
        return trans.__(UNREACHABLE_MESSAGE);
      }
      return trans.__(
        'The Insighter service could not report its status: %1',
        this._error.message
      );
    }
    const status = this._status;
    switch (this._state) {
      case 'UNKNOWN':
        return trans.__('Checking the Insighter service…');
      case 'OPTIMAL':
        return trans.__('All Insighter services are working.');
      case 'DEGRADED':
        return trans.__(
          'Some Insighter services need attention: %1.',
          componentsIn(status, ['degraded', 'down']).join(', ')
        );
      case 'DOWN':
        return trans.__(
          'The Insighter service cannot work: %1 is down.',
          componentsIn(status, ['down']).join(', ')
        );
    }
  }

  /** Fires after every check. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Fires when `state` changes, e.g. OPTIMAL → DOWN. */
  get stateChanged(): ISignal<this, IStateChange> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Begin polling (when created with `autoStart: false`). */
  start(): Promise<void> {
    return this._poll.start();
  }

  /** Change how often to ask; the next check follows the new timing. */
  configure(timing: Partial<IStatusPollTiming>): void {
    this._timing = validTiming({ ...this._timing, ...timing });
    this._poll.frequency = this._error
      ? failingFrequency(this._timing)
      : steadyFrequency(this._timing);
  }

  async refresh(): Promise<void> {
    await this._poll.refresh();
    // `tick` settles once the refreshed check has run and the next one is scheduled.
    await this._poll.tick.catch(() => undefined);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    // `stop` clears the pending timer, which `dispose` alone leaves running.
    void this._poll.stop();
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _check(): Promise<void> {
    let status: ISystemStatus;
    try {
      status = await this._client.status();
      if (!OVERALL_STATES.has(status?.status)) {
        throw new SidecarError({
          kind: 'response',
          status: 200,
          code: 'invalid_response',
          message: 'The status answer has no overall state.'
        });
      }
    } catch (reason) {
      const error =
        reason instanceof SidecarError
          ? reason
          : new SidecarError({
              kind: 'response',
              status: 0,
              code: 'client_error',
              message: reason instanceof Error ? reason.message : String(reason)
            });
      // Set before rejecting: Poll computes the retry delay from it.
      this._poll.frequency = failingFrequency(this._timing);
      this._update('DOWN', null, error);
      throw error;
    }
    this._poll.frequency = steadyFrequency(this._timing);
    this._update(status.status, status, null);
  }

  private _update(
    state: SystemState,
    status: ISystemStatus | null,
    error: SidecarError | null
  ): void {
    const previous = this._state;
    this._state = state;
    this._status = status;
    this._error = error;
    if (previous !== state) {
      this._stateChanged.emit({ previous, current: state });
    }
    this._changed.emit();
  }
}

/**
 * Announce each change of state on the bus as `system.status-changed`, so
 * tools react to the sidecar going down or coming back without polling.
 */
export function announceStatusChanges(
  model: SystemStatusModel,
  bus: IInsighterBus
): void {
  model.stateChanged.connect((_, change) => {
    bus.emit({
      type: 'system.status-changed',
      payload: {
        state: change.current,
        previous: change.previous,
        status: model.status,
        message: model.message,
        timestamp: Date.now()
      }
    });
  });
}

function componentsIn(
  status: ISystemStatus | null,
  states: string[]
): ComponentName[] {
  if (!status) {
    return [];
  }
  return (Object.keys(status.components) as ComponentName[]).filter(name =>
    states.includes(status.components[name]?.state ?? '')
  );
}

function validTiming(timing: IStatusPollTiming): IStatusPollTiming {
  const interval = Math.max(100, Math.round(timing.interval));
  const retryInterval = Math.max(100, Math.round(timing.retryInterval));
  const maxRetryInterval = Math.max(
    retryInterval,
    Math.round(timing.maxRetryInterval)
  );
  return { interval, retryInterval, maxRetryInterval };
}

function steadyFrequency(timing: IStatusPollTiming): IPoll.Frequency {
  return { interval: timing.interval, backoff: true, max: timing.interval };
}

function failingFrequency(timing: IStatusPollTiming): IPoll.Frequency {
  return {
    interval: timing.retryInterval,
    backoff: true,
    max: timing.maxRetryInterval
  };
}
