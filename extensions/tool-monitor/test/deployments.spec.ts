/**
 * @jest-environment jsdom
 */
import { InsighterBus } from '@insighter/core';
import { nullTranslator } from '@jupyterlab/translation';
import type {
  IDeployment,
  IDeploymentMetricsSnapshot
} from '@insighter/deployment';
import { DeploymentsMonitor } from '../src/deployments';
import { MonitorModel } from '../src/model';
import { MonitorPanel } from '../src/widgets/monitor';

function deployment(id: string, overrides: Partial<IDeployment> = {}): IDeployment {
  return {
    id,
    project_id: 'p1',
    slug: 'credit-risk',
    url: '/api/v1/predict/credit-risk',
    status: 'ready',
    model_name: 'credit-risk',
    model_version: 3,
    runner: 'process',
    error: null,
    serving: true,
    example: null,
    created_by: 'u1',
    created_at: '2026-11-01T10:00:00.000Z',
    updated_at: '2026-11-01T10:00:00.000Z',
    ready_at: '2026-11-01T10:00:05.000Z',
    stopped_at: null,
    rate_limit_per_minute: null,
    ...overrides
  };
}

function snapshot(
  id: string,
  overrides: Partial<IDeploymentMetricsSnapshot> = {}
): IDeploymentMetricsSnapshot {
  return {
    deployment_id: id,
    since: '2026-11-01T10:00:05.000Z',
    requests: 10,
    rows: 10,
    errors: 1,
    client_errors: 1,
    server_errors: 0,
    error_rate: 0.1,
    latency_ms: { p50: 4, p95: 9, p99: 12.5, mean: 5 },
    latency_window: 10,
    requests_per_second: 0.5,
    recent: [
      { at: 1_700_000_000_000, status: 200, latencyMs: 4, rows: 1, caller: 'key ink_AbCd', prediction: 1 }
    ],
    serving: true,
    ...overrides
  };
}

/** The deployments routes of one project, in memory. */
class FakeDeployments {
  deployments: IDeployment[] = [
    deployment('d2', { status: 'ready' }),
    deployment('d1', { status: 'stopped', model_version: 2 })
  ];
  metrics = new Map<string, IDeploymentMetricsSnapshot>([
    ['d2', snapshot('d2')]
  ]);
  listCalls = 0;
  metricsCalls = 0;
  readonly api = {
    list: async (projectId: string) => {
      this.listCalls++;
      return this.deployments.filter(d => d.project_id === projectId);
    },
    metrics: async (id: string) => {
      this.metricsCalls++;
      const found = this.metrics.get(id);
      if (!found) {
        throw new Error('No metrics.');
      }
      return found;
    }
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
  await new Promise(resolve => setTimeout(resolve, 0));
}

function metricsEvent(overrides: Record<string, unknown> = {}) {
  return {
    type: 'deployment.metrics' as const,
    payload: {
      deploymentId: 'd2',
      projectId: 'p1',
      requests: 25,
      errors: 5,
      errorRate: 0.2,
      p50Ms: 5,
      p95Ms: 20,
      p99Ms: 40.25,
      requestsPerSecond: 2,
      timestamp: Date.now(),
      ...overrides
    }
  };
}

describe('DeploymentsMonitor', () => {
  let bus: InsighterBus;
  let fake: FakeDeployments;
  let monitor: DeploymentsMonitor;

  beforeEach(async () => {
    bus = new InsighterBus();
    fake = new FakeDeployments();
    monitor = new DeploymentsMonitor({ api: fake.api, bus, projectId: 'p1' });
    await monitor.refresh();
    await settle();
  });

  afterEach(() => {
    monitor.dispose();
    bus.dispose();
  });

  it('lists the deployments, selects the serving one and shows its metrics from the route', () => {
    expect(monitor.deployments.map(d => d.id)).toEqual(['d2', 'd1']);
    expect(monitor.selected?.id).toBe('d2');
    expect(monitor.traffic).toMatchObject({
      deploymentId: 'd2',
      requests: 10,
      errorRate: 0.1,
      p50Ms: 4,
      p95Ms: 9,
      p99Ms: 12.5
    });
    expect(monitor.traffic?.recent).toHaveLength(1);
  });

  it('takes the numbers from deployment.metrics and reads the request sample again', async () => {
    fake.metrics.set(
      'd2',
      snapshot('d2', {
        recent: [
          { at: 1_700_000_001_000, status: 500, latencyMs: 40, rows: 1, caller: 'user u1', error: 'boom' },
          { at: 1_700_000_000_000, status: 200, latencyMs: 4, rows: 1, caller: 'key ink_AbCd', prediction: 1 }
        ]
      })
    );
    bus.emit(metricsEvent());
    // The event's numbers show at once, before any read.
    expect(monitor.traffic).toMatchObject({
      requests: 25,
      errors: 5,
      errorRate: 0.2,
      p99Ms: 40.25,
      requestsPerSecond: 2
    });
    await settle();
    // The route's (older) numbers do not replace the event's; only its sample is taken.
    expect(monitor.traffic?.requests).toBe(25);
    expect(monitor.traffic?.recent.map(r => r.status)).toEqual([500, 200]);
  });

  it("lists again when the event stream reconnects, and takes the shown one's numbers afresh from the route", async () => {
    bus.emit(metricsEvent());
    await settle();
    expect(monitor.traffic?.requests).toBe(25);
    // While the stream was down: a new version deployed, more traffic served.
    fake.deployments = [deployment('d3', { status: 'starting', model_version: 4 }), ...fake.deployments];
    fake.metrics.set('d2', snapshot('d2', { requests: 40, error_rate: 0.05 }));
    bus.emit({ type: 'events.reconnected', payload: { downMs: 5000, timestamp: 1 } });
    await settle();
    expect(monitor.deployments.map(d => d.id)).toEqual(['d3', 'd2', 'd1']);
    expect(monitor.selected?.id).toBe('d2');
    expect(monitor.traffic).toMatchObject({ requests: 40, errorRate: 0.05 });
  });

  it("ignores another project's or another deployment's metrics", async () => {
    bus.emit(metricsEvent({ projectId: 'p2', requests: 99 }));
    bus.emit(metricsEvent({ deploymentId: 'd1', requests: 98 }));
    await settle();
    expect(monitor.traffic?.requests).toBe(10);
  });

  it('updates the status from deployment.changed and lists a new deployment', async () => {
    bus.emit({
      type: 'deployment.changed',
      payload: {
        deploymentId: 'd2',
        projectId: 'p1',
        modelVersion: null,
        state: 'stopped',
        timestamp: Date.now()
      }
    });
    expect(monitor.deployments.find(d => d.id === 'd2')?.status).toBe('stopped');
    expect(monitor.deployments.find(d => d.id === 'd2')?.model_version).toBe(3);

    const listed = fake.listCalls;
    fake.deployments = [
      deployment('d3', { status: 'starting', model_version: 4 }),
      ...fake.deployments
    ];
    bus.emit({
      type: 'deployment.changed',
      payload: {
        deploymentId: 'd3',
        projectId: 'p1',
        modelVersion: 4,
        state: 'starting',
        timestamp: Date.now()
      }
    });
    await settle();
    expect(fake.listCalls).toBe(listed + 1);
    expect(monitor.deployments[0]).toMatchObject({ id: 'd3', status: 'starting' });

    bus.emit({
      type: 'deployment.changed',
      payload: {
        deploymentId: 'd3',
        projectId: 'p1',
        modelVersion: 4,
        state: 'running',
        endpoint: '/api/v1/predict/credit-risk',
        timestamp: Date.now()
      }
    });
    expect(monitor.deployments[0].status).toBe('ready');
  });
});

describe('MonitorPanel deployments', () => {
  it('renders the list and the selected deployment, live', async () => {
    const bus = new InsighterBus();
    const fake = new FakeDeployments();
    const model = new MonitorModel({
      api: {
        listJobs: async () => [],
        getJob: async () => {
          throw new Error('none');
        },
        jobLogs: async () => ({ lines: [], done: true }),
        jobStats: async () => null,
        getRun: async () => {
          throw new Error('none');
        },
        metricHistory: async () => [],
        cancelJob: async () => undefined,
        searchExperiments: async () => [],
        searchRuns: async () => []
      } as unknown as ConstructorParameters<typeof MonitorModel>[0]['api'],
      bus,
      projectId: 'p1',
      deploymentsApi: fake.api
    });
    const panel = new MonitorPanel(model, nullTranslator.load('insighter'));
    document.body.appendChild(panel.node);
    const render = async () => {
      await settle();
      panel.update();
      await new Promise(resolve => requestAnimationFrame(() => resolve(null)));
      await settle();
    };
    await render();

    const items = panel.node.querySelectorAll<HTMLButtonElement>(
      '.jp-insighter-monitor-deployment[data-deployment-id]'
    );
    expect([...items].map(b => b.dataset.deploymentId)).toEqual(['d2', 'd1']);
    expect(items[0].textContent).toContain('credit-risk v3');
    expect(items[0].dataset.status).toBe('ready');

    items[0].click();
    await render();
    const value = (metric: string) =>
      panel.node.querySelector(`[data-metric="${metric}"]`)?.textContent;
    expect(value('requests')).toBe('10');
    expect(value('p99')).toBe('12.5 ms');
    expect(value('error_rate')).toBe('10.0 %');
    expect(panel.node.querySelectorAll('[data-request-status]')).toHaveLength(1);

    bus.emit(metricsEvent());
    await render();
    expect(value('requests')).toBe('25');
    expect(value('p99')).toBe('40.3 ms');
    expect(value('error_rate')).toBe('20.0 %');

    panel.dispose();
    bus.dispose();
  });
});
