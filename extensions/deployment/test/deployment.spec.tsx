/**
 * @jest-environment jsdom
 */
import { InsighterBus } from '@insighter/core';
import { nullTranslator } from '@jupyterlab/translation';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { curlExample, DeploymentsApi } from '../src/api';
import { DeploymentModel } from '../src/model';
import type {
  IApiKey,
  IDeployment,
  IDeploymentMetricsSnapshot
} from '../src/tokens';
import { DeploymentSection } from '../src/widgets/section';

const PROJECT = { id: 'p1', slug: 'credit-risk-alpha' };

function deployment(id: string, version: number, status: IDeployment['status'], extra: Partial<IDeployment> = {}): IDeployment {
  return {
    id,
    project_id: PROJECT.id,
    slug: PROJECT.slug,
    url: `/api/v1/predict/${PROJECT.slug}`,
    status,
    model_name: PROJECT.slug,
    model_version: version,
    runner: 'process',
    error: null,
    serving: status === 'ready',
    example: status === 'ready' ? { columns: ['Age', 'Amount'], data: [[30, 1000]] } : null,
    created_by: 'u1',
    created_at: '2026-11-26T10:00:00.000Z',
    updated_at: '2026-11-26T10:00:00.000Z',
    ready_at: status === 'ready' ? '2026-11-26T10:00:05.000Z' : null,
    stopped_at: null,
    rate_limit_per_minute: null,
    ...extra
  };
}

function metrics(id: string, requests: number): IDeploymentMetricsSnapshot {
  return {
    deployment_id: id,
    since: '2026-11-26T10:00:00.000Z',
    requests,
    rows: requests,
    errors: 1,
    client_errors: 1,
    server_errors: 0,
    error_rate: 1 / requests,
    latency_ms: { p50: 1.5, p95: 3, p99: 4.25, mean: 1.8 },
    latency_window: requests,
    requests_per_second: 0.5,
    recent: [
      { at: 1_790_000_000_000, status: 400, latencyMs: 0.9, rows: 0, caller: 'key ink_abcd1234', error: 'Missing column "Age".' },
      { at: 1_790_000_000_000, status: 200, latencyMs: 1.4, rows: 1, caller: 'user u1', prediction: { prediction: 'Good' } }
    ],
    serving: true
  };
}

/** A sidecar stand-in that records calls and keeps deployments and keys. */
function fakeSidecar() {
  const calls: string[] = [];
  let deployments: IDeployment[] = [];
  let keys: IApiKey[] = [];
  let requests = 10;
  const api = {
    endpointUrl: (d: { url: string }) => `http://lab/insighter${d.url}`,
    list: async () => deployments,
    deploy: async (projectId: string, version: number) => {
      calls.push(`deploy ${projectId} ${version}`);
      const created = deployment(`d${version}`, version, 'pending');
      deployments = [created, ...deployments];
      return created;
    },
    undeploy: async (id: string) => {
      calls.push(`undeploy ${id}`);
      deployments = deployments.map(d => (d.id === id ? { ...d, status: 'stopped' as const, serving: false, error: 'Undeployed.' } : d));
      return deployments.find(d => d.id === id)!;
    },
    setRateLimit: async (id: string, perMinute: number | null) => {
      calls.push(`rate limit ${id} ${perMinute}`);
      deployments = deployments.map(d => (d.id === id ? { ...d, rate_limit_per_minute: perMinute } : d));
      return deployments.find(d => d.id === id)!;
    },
    metrics: async (id: string) => metrics(id, requests),
    keys: async () => keys,
    createKey: async (id: string, name: string) => {
      calls.push(`key ${id} ${name}`);
      const key = {
        id: `k${keys.length + 1}`,
        project_id: PROJECT.id,
        deployment_id: id,
        name,
        prefix: 'ink_AbCd1234',
        created_by: 'u1',
        created_at: '2026-11-26T10:01:00.000Z',
        revoked_at: null
      };
      keys = [...keys, key];
      return { ...key, key: 'ink_AbCd1234-the-rest-of-the-secret' };
    },
    revokeKey: async (id: string, keyId: string) => {
      calls.push(`revoke ${id} ${keyId}`);
      keys = keys.map(k => (k.id === keyId ? { ...k, revoked_at: '2026-11-26T10:02:00.000Z' } : k));
      return keys.find(k => k.id === keyId)!;
    }
  };
  const tracking = {
    modelVersions: async () => [
      { name: PROJECT.slug, version: '1', creation_timestamp: 1, status: 'READY' },
      { name: PROJECT.slug, version: '2', creation_timestamp: 2, status: 'READY' }
    ]
  };
  return {
    api,
    tracking,
    calls,
    set deployments(value: IDeployment[]) {
      deployments = value;
    },
    set requests(value: number) {
      requests = value;
    }
  };
}

const settle = () => new Promise(resolve => setTimeout(resolve, 20));

describe('DeploymentModel', () => {
  it('lists deployments and versions, and finds the current one', async () => {
    const sidecar = fakeSidecar();
    sidecar.deployments = [deployment('d2', 2, 'starting'), deployment('d1', 1, 'ready'), deployment('d0', 1, 'stopped')];
    const bus = new InsighterBus();
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus, project: PROJECT });
    await model.refresh();
    expect(model.status).toBe('ready');
    expect(model.versions).toEqual([2, 1]);
    expect(model.current?.id).toBe('d1');
    expect(model.upcoming?.id).toBe('d2');
    expect(model.metrics?.requests).toBe(10);
    expect(model.endpointUrl).toBe('http://lab/insighter/api/v1/predict/credit-risk-alpha');
    model.dispose();
  });

  it('deploys, follows deployment events, reloads metrics on their event, undeploys', async () => {
    const sidecar = fakeSidecar();
    const bus = new InsighterBus();
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus, project: PROJECT });
    await model.refresh();
    expect(model.current).toBeNull();
    await model.deploy(1);
    expect(sidecar.calls).toEqual(['deploy p1 1']);
    expect(model.current?.status).toBe('pending');

    sidecar.deployments = [deployment('d1', 1, 'ready')];
    bus.emit({
      type: 'deployment.changed',
      payload: { deploymentId: 'd1', projectId: 'p1', modelVersion: 1, state: 'running', timestamp: 1 }
    });
    await settle();
    expect(model.current?.status).toBe('ready');

    sidecar.requests = 42;
    bus.emit({
      type: 'deployment.metrics',
      payload: {
        deploymentId: 'd1',
        projectId: 'p1',
        requests: 42,
        errors: 1,
        errorRate: 1 / 42,
        p50Ms: 1,
        p95Ms: 2,
        p99Ms: 3,
        requestsPerSecond: 1,
        timestamp: 2
      }
    });
    await settle();
    expect(model.metrics?.requests).toBe(42);

    // Another project's events change nothing.
    sidecar.deployments = [];
    bus.emit({
      type: 'deployment.changed',
      payload: { deploymentId: 'x', projectId: 'other', modelVersion: 1, state: 'running', timestamp: 3 }
    });
    await settle();
    expect(model.current?.id).toBe('d1');

    sidecar.deployments = [deployment('d1', 1, 'ready')];
    await model.undeploy();
    expect(sidecar.calls).toEqual(['deploy p1 1', 'undeploy d1']);
    expect(model.current).toBeNull();
    model.dispose();
  });

  it('lists again when the event stream reconnects: a deployment that became ready while it was down, and its traffic', async () => {
    const sidecar = fakeSidecar();
    sidecar.deployments = [deployment('d1', 1, 'starting')];
    const bus = new InsighterBus();
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus, project: PROJECT });
    await model.refresh();
    expect(model.current?.status).toBe('starting');

    sidecar.deployments = [deployment('d1', 1, 'ready')];
    sidecar.requests = 7;
    bus.emit({ type: 'events.reconnected', payload: { downMs: 5000, timestamp: 1 } });
    await settle();
    expect(model.current?.status).toBe('ready');
    expect(model.metrics?.requests).toBe(7);
    model.dispose();
  });

  it('shows a new key once, and revokes keys', async () => {
    const sidecar = fakeSidecar();
    sidecar.deployments = [deployment('d1', 1, 'ready')];
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus: new InsighterBus(), project: PROJECT });
    await model.refresh();
    await model.createKey('  billing ');
    expect(sidecar.calls).toEqual(['key d1 billing']);
    expect(model.newKey?.key).toBe('ink_AbCd1234-the-rest-of-the-secret');
    expect(model.keys.map(k => k.prefix)).toEqual(['ink_AbCd1234']);
    model.dismissNewKey();
    expect(model.newKey).toBeNull();
    await model.revokeKey('k1');
    expect(model.keys[0].revoked_at).not.toBeNull();
    model.dispose();
  });

  it('sets and lifts the endpoint\'s rate limit', async () => {
    const sidecar = fakeSidecar();
    sidecar.deployments = [deployment('d1', 1, 'ready')];
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus: new InsighterBus(), project: PROJECT });
    await model.refresh();
    await model.setRateLimit(600);
    expect(model.current?.rate_limit_per_minute).toBe(600);
    await model.setRateLimit(null);
    expect(model.current?.rate_limit_per_minute).toBeNull();
    expect(sidecar.calls).toEqual(['rate limit d1 600', 'rate limit d1 null']);
    model.dispose();
  });

  it('says why an action failed, in the sidecar\'s words', async () => {
    const sidecar = fakeSidecar();
    sidecar.api.deploy = async () => {
      throw new Error("Only the project's owner and its team's members (not viewers) can deploy the project's models.");
    };
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus: new InsighterBus(), project: PROJECT });
    await model.refresh();
    await model.deploy(1);
    expect(model.actionError).toMatch(/not viewers/);
    model.dispose();
  });
});

describe('curlExample', () => {
  it('sends the example row with the key, quoted for a shell', () => {
    const curl = curlExample('http://lab/api/v1/predict/x', { columns: ['name'], data: [["O'Brien"]] }, 'ink_k');
    expect(curl).toBe(
      [
        "curl -X POST 'http://lab/api/v1/predict/x'",
        "  -H 'Content-Type: application/json'",
        "  -H 'X-API-Key: ink_k'",
        `  -d '{"dataframe_split":{"columns":["name"],"data":[["O'\\''Brien"]]}}'`
      ].join(' \\\n')
    );
    expect(curlExample('u', null)).toContain('<your API key>');
  });

  it('builds the endpoint URL under the proxied sidecar root', () => {
    const api = new DeploymentsApi({ baseUrl: 'http://lab/insighter/', request: async () => undefined as never });
    expect(api.endpointUrl({ url: '/api/v1/predict/credit-risk-alpha' })).toBe(
      'http://lab/insighter/api/v1/predict/credit-risk-alpha'
    );
  });
});

describe('DeploymentSection', () => {
  it('renders status, endpoint, curl, keys, metrics and history; deploys from the form', async () => {
    const sidecar = fakeSidecar();
    sidecar.deployments = [deployment('d1', 1, 'ready'), deployment('d0', 1, 'stopped', { error: 'Replaced by version 1.' })];
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus: new InsighterBus(), project: PROJECT });
    const section = new DeploymentSection(model, nullTranslator.load('insighter'));
    Widget.attach(section, document.body);
    await settle();
    MessageLoop.sendMessage(section, Widget.Msg.UpdateRequest);
    await section.renderPromise;
    await settle();
    const node = section.node;
    const status = node.querySelector('[data-testid="insighter-deployment-status"]') as HTMLElement;
    expect(status.dataset.status).toBe('ready');
    expect(status.textContent).toBe('Ready');
    expect(node.querySelector('[data-testid="insighter-deployment-url"]')?.textContent).toBe(
      'http://lab/insighter/api/v1/predict/credit-risk-alpha'
    );
    expect(node.querySelector('[data-testid="insighter-curl"]')?.textContent).toContain('"columns":["Age","Amount"]');
    const facts = Object.fromEntries(
      [...node.querySelectorAll('[data-metric]')].map(el => [(el as HTMLElement).dataset.metric, el.querySelector('dd')?.textContent])
    );
    expect(facts).toMatchObject({ requests: '10', errors: '10.0 %', p99: '4.3 ms' });
    expect(node.querySelectorAll('[data-testid="insighter-recent-requests"] tbody tr')).toHaveLength(2);
    expect(node.querySelectorAll('[data-testid="insighter-deployment-history"] tbody tr')).toHaveLength(2);

    expect(node.querySelector('[data-testid="insighter-rate-limit"]')?.textContent).toMatch(/^No limit/);

    const select = node.querySelector('[data-testid="insighter-deploy-version"]') as HTMLSelectElement;
    expect([...select.options].map(o => o.value)).toEqual(['2', '1']);
    (node.querySelector('[data-testid="insighter-deploy-button"]') as HTMLButtonElement).click();
    await settle();
    expect(sidecar.calls).toEqual(['deploy p1 2']);
    section.dispose();
    expect(model.isDisposed).toBe(true);
  });

  it('shows the rate limit and lifts it; a viewer sees requests without callers', async () => {
    const sidecar = fakeSidecar();
    sidecar.deployments = [deployment('d1', 1, 'ready', { rate_limit_per_minute: 600 })];
    sidecar.api.metrics = async (id: string) => {
      const snapshot = metrics(id, 10);
      return { ...snapshot, recent: snapshot.recent.map(({ caller: _caller, ...rest }) => rest) };
    };
    const model = new DeploymentModel({ api: sidecar.api, tracking: sidecar.tracking, bus: new InsighterBus(), project: PROJECT });
    const section = new DeploymentSection(model, nullTranslator.load('insighter'));
    Widget.attach(section, document.body);
    await settle();
    MessageLoop.sendMessage(section, Widget.Msg.UpdateRequest);
    await section.renderPromise;
    await settle();
    const node = section.node;
    expect(node.querySelector('[data-testid="insighter-rate-limit"]')?.textContent).toBe(
      'Each API key (and each user) may make 600 predictions per minute; more are answered 429 with Retry-After.'
    );
    const callers = [...node.querySelectorAll('[data-testid="insighter-recent-requests"] tbody tr')].map(
      row => row.children[4].textContent
    );
    expect(callers).toEqual(['—', '—']);
    (node.querySelector('[data-testid="insighter-rate-limit-lift"]') as HTMLButtonElement).click();
    await settle();
    expect(sidecar.calls).toEqual(['rate limit d1 null']);
    section.dispose();
  });
});
