import { ISignal, Signal } from '@lumino/signaling';
import type {
  IInsighterBus,
  IInsighterEventMap,
  InsighterEvent,
  InsighterEventType
} from './tokens';

/** Every event type the bus knows, in a stable order. */
export const INSIGHTER_EVENT_TYPES: readonly InsighterEventType[] = [
  'session.changed',
  'project.created',
  'project.updated',
  'project.deleted',
  'project.selected',
  'dataset.uploaded',
  'dataset.updated',
  'dataset.deleted',
  'dataset.selected',
  'run.started',
  'run.metric',
  'run.log',
  'run.finished',
  'job.updated',
  'model.version-registered',
  'deployment.changed',
  'deployment.metrics',
  'system.status-changed',
  'events.reconnected'
];

const KNOWN_TYPES: ReadonlySet<string> = new Set(INSIGHTER_EVENT_TYPES);

/**
 * True when `value` has the shape of an event (a known `type` and an object
 * `payload`). Use it on anything that arrived over the wire before `emit`.
 */
export function isInsighterEvent(value: unknown): value is InsighterEvent {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const { type, payload } = value as { type?: unknown; payload?: unknown };
  return (
    typeof type === 'string' &&
    KNOWN_TYPES.has(type) &&
    typeof payload === 'object' &&
    payload !== null
  );
}

type SignalTable<T> = {
  [K in InsighterEventType]: Signal<T, IInsighterEventMap[K]>;
};

/**
 * The bus: one Lumino signal per event type. Lumino delivers a signal to its
 * listeners in connection order and hands a listener's exception to
 * `Signal.exceptionHandler`, so one broken listener cannot silence the rest.
 */
export class InsighterBus implements IInsighterBus {
  private readonly _signals: SignalTable<this>;
  private readonly _events = new Signal<this, InsighterEvent>(this);
  private _isDisposed = false;

  constructor() {
    const signals = {} as Record<InsighterEventType, Signal<this, unknown>>;
    for (const type of INSIGHTER_EVENT_TYPES) {
      signals[type] = new Signal(this);
    }
    this._signals = signals as SignalTable<this>;
  }

  get sessionChanged(): ISignal<this, IInsighterEventMap['session.changed']> {
    return this._signals['session.changed'];
  }

  get projectCreated(): ISignal<this, IInsighterEventMap['project.created']> {
    return this._signals['project.created'];
  }

  get projectUpdated(): ISignal<this, IInsighterEventMap['project.updated']> {
    return this._signals['project.updated'];
  }

  get projectDeleted(): ISignal<this, IInsighterEventMap['project.deleted']> {
    return this._signals['project.deleted'];
  }

  get projectSelected(): ISignal<this, IInsighterEventMap['project.selected']> {
    return this._signals['project.selected'];
  }

  get datasetUploaded(): ISignal<this, IInsighterEventMap['dataset.uploaded']> {
    return this._signals['dataset.uploaded'];
  }

  get datasetUpdated(): ISignal<this, IInsighterEventMap['dataset.updated']> {
    return this._signals['dataset.updated'];
  }

  get datasetDeleted(): ISignal<this, IInsighterEventMap['dataset.deleted']> {
    return this._signals['dataset.deleted'];
  }

  get datasetSelected(): ISignal<this, IInsighterEventMap['dataset.selected']> {
    return this._signals['dataset.selected'];
  }

  get runStarted(): ISignal<this, IInsighterEventMap['run.started']> {
    return this._signals['run.started'];
  }

  get runMetric(): ISignal<this, IInsighterEventMap['run.metric']> {
    return this._signals['run.metric'];
  }

  get runLog(): ISignal<this, IInsighterEventMap['run.log']> {
    return this._signals['run.log'];
  }

  get runFinished(): ISignal<this, IInsighterEventMap['run.finished']> {
    return this._signals['run.finished'];
  }

  get jobUpdated(): ISignal<this, IInsighterEventMap['job.updated']> {
    return this._signals['job.updated'];
  }

  get modelVersionRegistered(): ISignal<
    this,
    IInsighterEventMap['model.version-registered']
  > {
    return this._signals['model.version-registered'];
  }

  get deploymentChanged(): ISignal<
    this,
    IInsighterEventMap['deployment.changed']
  > {
    return this._signals['deployment.changed'];
  }

  get deploymentMetrics(): ISignal<
    this,
    IInsighterEventMap['deployment.metrics']
  > {
    return this._signals['deployment.metrics'];
  }

  get systemStatusChanged(): ISignal<
    this,
    IInsighterEventMap['system.status-changed']
  > {
    return this._signals['system.status-changed'];
  }

  get eventsReconnected(): ISignal<
    this,
    IInsighterEventMap['events.reconnected']
  > {
    return this._signals['events.reconnected'];
  }

  get events(): ISignal<this, InsighterEvent> {
    return this._events;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  signalFor<K extends InsighterEventType>(
    type: K
  ): ISignal<this, IInsighterEventMap[K]> {
    const signal = this._signals[type];
    if (!signal) {
      throw new Error(`Unknown Insighter event type "${type}".`);
    }
    return signal;
  }

  emit(event: InsighterEvent): void {
    if (this._isDisposed) {
      return;
    }
    if (!KNOWN_TYPES.has(event.type)) {
      // A typo or a newer server: loud, because a silent drop hides the bug.
      throw new Error(`Unknown Insighter event type "${event.type}".`);
    }
    this._emitTyped(event.type, event.payload as never);
    this._events.emit(event);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _emitTyped<K extends InsighterEventType>(
    type: K,
    payload: IInsighterEventMap[K]
  ): void {
    this._signals[type].emit(payload);
  }
}
