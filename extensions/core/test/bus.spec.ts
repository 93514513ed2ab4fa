import { ISignal, Signal } from '@lumino/signaling';
import {
  INSIGHTER_EVENT_TYPES,
  InsighterBus,
  InsighterEvent,
  InsighterEventType,
  IRunMetric,
  isInsighterEvent
} from '../src';

const T0 = Date.UTC(2026, 0, 1);

/** One well-formed event of every type, as the sidecar would send them. */
const SAMPLES: InsighterEvent[] = [
  {
    type: 'session.changed',
    payload: {
      user: { id: 'u1', email: 'ada@example.org', fullName: 'Ada Lovelace' },
      timestamp: T0
    }
  },
  {
    type: 'project.created',
    payload: {
      projectId: 'p1',
      name: 'Churn',
      slug: 'churn',
      visibility: 'private',
      timestamp: T0
    }
  },
  {
    type: 'project.updated',
    payload: {
      projectId: 'p1',
      name: 'Churn v2',
      slug: 'churn',
      visibility: 'team',
      timestamp: T0
    }
  },
  {
    type: 'project.deleted',
    payload: { projectId: 'p1', name: 'Churn v2', slug: 'churn', timestamp: T0 }
  },
  {
    type: 'project.selected',
    payload: {
      project: { projectId: 'p1', name: 'Churn', slug: 'churn' },
      timestamp: T0
    }
  },
  {
    type: 'dataset.uploaded',
    payload: {
      datasetId: 'd1',
      projectId: 'p1',
      name: 'customers.csv',
      version: 1,
      sizeBytes: 2048,
      rowCount: 100,
      timestamp: T0
    }
  },
  {
    type: 'dataset.updated',
    payload: {
      datasetId: 'd1',
      projectId: 'p1',
      name: 'customers-2024.csv',
      timestamp: T0
    }
  },
  {
    type: 'dataset.deleted',
    payload: {
      datasetId: 'd1',
      projectId: 'p1',
      name: 'customers-2024.csv',
      timestamp: T0
    }
  },
  {
    type: 'dataset.selected',
    payload: {
      dataset: { datasetId: 'd1', projectId: 'p1', name: 'customers.csv' },
      timestamp: T0
    }
  },
  {
    type: 'run.started',
    payload: { runId: 'r1', projectId: 'p1', name: 'xgboost', timestamp: T0 }
  },
  {
    type: 'job.updated',
    payload: {
      jobId: 'j1',
      projectId: 'p1',
      runId: 'r1',
      status: 'succeeded',
      modelVersion: 1,
      timestamp: T0
    }
  },
  {
    type: 'run.metric',
    payload: { runId: 'r1', key: 'auc', value: 0.91, step: 3, timestamp: T0 }
  },
  {
    type: 'run.log',
    payload: {
      runId: 'r1',
      lines: ['[0] train-auc:0.8', '[1] train-auc:0.85'],
      stream: 'stdout',
      timestamp: T0
    }
  },
  {
    type: 'run.finished',
    payload: { runId: 'r1', status: 'FINISHED', timestamp: T0 }
  },
  {
    type: 'model.version-registered',
    payload: {
      modelId: 'm1',
      modelName: 'churn-xgb',
      version: 2,
      runId: 'r1',
      projectId: 'p1',
      timestamp: T0
    }
  },
  {
    type: 'deployment.changed',
    payload: {
      deploymentId: 'dep1',
      projectId: 'p1',
      modelVersion: 2,
      state: 'running',
      endpoint: '/api/v1/predict/churn',
      timestamp: T0
    }
  },
  {
    type: 'deployment.metrics',
    payload: {
      deploymentId: 'dep1',
      projectId: 'p1',
      requests: 120,
      errors: 3,
      errorRate: 0.025,
      p50Ms: 1.2,
      p95Ms: 3.4,
      p99Ms: 6.1,
      requestsPerSecond: 2,
      timestamp: T0
    }
  },
  {
    type: 'system.status-changed',
    payload: {
      state: 'DOWN',
      previous: 'OPTIMAL',
      status: null,
      message: 'The Insighter service is not reachable.',
      timestamp: T0
    }
  },
  {
    type: 'events.reconnected',
    payload: { downMs: 4200, timestamp: T0 }
  }
];

describe('InsighterBus', () => {
  let bus: InsighterBus;

  beforeEach(() => {
    bus = new InsighterBus();
  });

  afterEach(() => {
    bus.dispose();
  });

  it('has one sample per event type (the test covers them all)', () => {
    expect(SAMPLES.map(e => e.type).sort()).toEqual(
      [...INSIGHTER_EVENT_TYPES].sort()
    );
  });

  it('emits each event on its own signal and on no other', () => {
    const named: Record<InsighterEventType, ISignal<InsighterBus, unknown>> = {
      'session.changed': bus.sessionChanged,
      'project.created': bus.projectCreated,
      'project.updated': bus.projectUpdated,
      'project.deleted': bus.projectDeleted,
      'project.selected': bus.projectSelected,
      'dataset.uploaded': bus.datasetUploaded,
      'dataset.updated': bus.datasetUpdated,
      'dataset.deleted': bus.datasetDeleted,
      'dataset.selected': bus.datasetSelected,
      'run.started': bus.runStarted,
      'run.metric': bus.runMetric,
      'run.log': bus.runLog,
      'run.finished': bus.runFinished,
      'job.updated': bus.jobUpdated,
      'model.version-registered': bus.modelVersionRegistered,
      'deployment.changed': bus.deploymentChanged,
      'deployment.metrics': bus.deploymentMetrics,
      'system.status-changed': bus.systemStatusChanged,
      'events.reconnected': bus.eventsReconnected
    };
    const received: [string, unknown, unknown][] = [];
    for (const [type, signal] of Object.entries(named)) {
      // The named getter and `signalFor` hand out the same signal.
      expect(bus.signalFor(type as InsighterEventType)).toBe(signal);
      signal.connect((sender, payload) => {
        received.push([type, sender, payload]);
      });
    }

    for (const event of SAMPLES) {
      received.length = 0;
      bus.emit(event);
      expect(received).toEqual([[event.type, bus, event.payload]]);
      // Delivered as is: listeners get the very object that was emitted.
      expect(received[0][2]).toBe(event.payload);
    }
  });

  it('gives typed payloads to typed listeners', () => {
    const metrics: IRunMetric[] = [];
    bus.runMetric.connect((_, metric) => {
      // Compile-time check: these fields exist on the payload type.
      const { key, value, step, timestamp } = metric;
      metrics.push({ runId: metric.runId, key, value, step, timestamp });
    });
    bus.emit({
      type: 'run.metric',
      payload: { runId: 'r9', key: 'loss', value: 0.25, step: 7, timestamp: 5 }
    });
    expect(metrics).toEqual([
      { runId: 'r9', key: 'loss', value: 0.25, step: 7, timestamp: 5 }
    ]);
  });

  it('preserves emission order across signals, then echoes each on `events`', () => {
    const log: string[] = [];
    bus.runStarted.connect((_, p) => log.push(`started ${p.runId}`));
    bus.runMetric.connect((_, p) => log.push(`metric ${p.key}@${p.step}`));
    bus.runLog.connect((_, p) => log.push(`log ${p.lines.join('|')}`));
    bus.runFinished.connect((_, p) => log.push(`finished ${p.status}`));
    bus.events.connect((_, e) => log.push(`event ${e.type}`));

    const sequence: InsighterEvent[] = [
      {
        type: 'run.started',
        payload: { runId: 'r1', projectId: 'p1', name: 'n', timestamp: 1 }
      },
      ...[0, 1, 2].map((step): InsighterEvent => ({
        type: 'run.metric',
        payload: { runId: 'r1', key: 'auc', value: step, step, timestamp: 2 }
      })),
      {
        type: 'run.log',
        payload: {
          runId: 'r1',
          lines: ['a', 'b'],
          stream: 'stderr',
          timestamp: 3
        }
      },
      {
        type: 'run.finished',
        payload: { runId: 'r1', status: 'FAILED', error: 'OOM', timestamp: 4 }
      }
    ];
    sequence.forEach(event => bus.emit(event));

    expect(log).toEqual([
      'started r1',
      'event run.started',
      'metric auc@0',
      'event run.metric',
      'metric auc@1',
      'event run.metric',
      'metric auc@2',
      'event run.metric',
      'log a|b',
      'event run.log',
      'finished FAILED',
      'event run.finished'
    ]);
  });

  it('keeps delivering when a listener throws, and reports the error', () => {
    const reported: unknown[] = [];
    const original = Signal.setExceptionHandler(err => reported.push(err));
    try {
      const reached: string[] = [];
      bus.projectSelected.connect(() => reached.push('first'));
      bus.projectSelected.connect(() => {
        throw new Error('listener bug');
      });
      bus.projectSelected.connect(() => reached.push('third'));
      bus.events.connect(() => reached.push('events'));

      expect(() =>
        bus.emit({
          type: 'project.selected',
          payload: { project: null, timestamp: 1 }
        })
      ).not.toThrow();
      expect(reached).toEqual(['first', 'third', 'events']);
      expect(reported).toHaveLength(1);
      expect((reported[0] as Error).message).toBe('listener bug');
    } finally {
      Signal.setExceptionHandler(original);
    }
  });

  it('rejects an unknown event type loudly', () => {
    expect(() =>
      bus.emit({
        type: 'run.exploded',
        payload: {}
      } as unknown as InsighterEvent)
    ).toThrow('Unknown Insighter event type "run.exploded".');
  });

  it('disconnects everyone and ignores emits once disposed', () => {
    const seen: unknown[] = [];
    bus.runLog.connect((_, p) => seen.push(p));
    bus.dispose();
    expect(bus.isDisposed).toBe(true);
    bus.emit({
      type: 'run.log',
      payload: { runId: 'r', lines: ['x'], stream: 'stdout', timestamp: 1 }
    });
    expect(seen).toEqual([]);
  });
});

describe('isInsighterEvent', () => {
  it('accepts every sample and what JSON makes of it', () => {
    for (const event of SAMPLES) {
      expect(isInsighterEvent(event)).toBe(true);
      expect(isInsighterEvent(JSON.parse(JSON.stringify(event)))).toBe(true);
    }
  });

  it.each([
    null,
    'run.metric',
    { type: 'run.metric' },
    { type: 'run.metric', payload: null },
    { type: 'run.metric', payload: 'x' },
    { type: 'no.such', payload: {} },
    { payload: {} }
  ])('rejects %p', value => {
    expect(isInsighterEvent(value)).toBe(false);
  });
});
