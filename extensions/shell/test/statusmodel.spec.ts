import {
  InsighterBus,
  ISystemStatusChanged,
  SidecarClient,
  UNREACHABLE_MESSAGE
} from '@insighter/core';
import { ServerConnection } from '@jupyterlab/services';
import {
  announceStatusChanges,
  DEFAULT_POLL_TIMING,
  IStateChange,
  SystemStatusModel
} from '../src/statusmodel';
import { SidecarDouble, statusBody } from './sidecar-double';

/** Resolve once `predicate` holds after some check, or fail after `ms`. */
function waitFor(
  model: SystemStatusModel,
  predicate: (model: SystemStatusModel) => boolean,
  ms: number
): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (predicate(model)) {
      resolve(0);
      return;
    }
    const timer = setTimeout(() => {
      model.changed.disconnect(check);
      reject(new Error(`state stayed ${model.state} for ${ms} ms`));
    }, ms);
    const check = () => {
      if (predicate(model)) {
        clearTimeout(timer);
        model.changed.disconnect(check);
        resolve(Date.now() - started);
      }
    };
    model.changed.connect(check);
  });
}

describe('SystemStatusModel against a real HTTP sidecar', () => {
  let sidecar: SidecarDouble;
  let model: SystemStatusModel;
  let transitions: IStateChange[];

  beforeEach(async () => {
    sidecar = new SidecarDouble();
    await sidecar.start();
    const client = new SidecarClient({
      serverSettings: ServerConnection.makeSettings({
        baseUrl: `http://127.0.0.1:${sidecar.port}/`
      }),
      baseUrl: sidecar.apiUrl
    });
    model = new SystemStatusModel({
      client,
      // A steady interval far longer than the test: every recovery seen
      // here comes from the quick retries after a failure.
      timing: { interval: 60_000, retryInterval: 100, maxRetryInterval: 200 },
      autoStart: false
    });
    transitions = [];
    model.stateChanged.connect((_, change) => transitions.push(change));
  });

  afterEach(async () => {
    model.dispose();
    await sidecar.stop();
  });

  it('starts UNKNOWN and becomes OPTIMAL on the first answer', async () => {
    expect(model.state).toBe('UNKNOWN');
    expect(model.message).toBe('Checking the Insighter service…');
    await model.start();
    await waitFor(model, m => m.state === 'OPTIMAL', 5000);
    expect(model.status?.version).toBe('0.1.0');
    expect(model.error).toBeNull();
    expect(model.message).toBe('All Insighter services are working.');
    expect(transitions).toEqual([{ previous: 'UNKNOWN', current: 'OPTIMAL' }]);
  });

  it('goes OPTIMAL → DOWN when the sidecar dies and back to OPTIMAL when it returns', async () => {
    await model.start();
    await waitFor(model, m => m.state === 'OPTIMAL', 5000);

    await sidecar.stop();
    await model.refresh();
    expect(model.state).toBe('DOWN');
    expect(model.error?.unreachable).toBe(true);
    expect(model.message).toBe(UNREACHABLE_MESSAGE);
    expect(model.status).toBeNull();

    // The sidecar comes back on the same port, as after a restart. With a
    // 60 s steady interval, only the retry schedule can notice in time.
    await sidecar.start();
    const recoveredAfter = await waitFor(
      model,
      m => m.state === 'OPTIMAL',
      3000
    );
    expect(recoveredAfter).toBeLessThan(1500);
    expect(model.error).toBeNull();
    expect(model.status?.status).toBe('OPTIMAL');

    expect(transitions).toEqual([
      { previous: 'UNKNOWN', current: 'OPTIMAL' },
      { previous: 'OPTIMAL', current: 'DOWN' },
      { previous: 'DOWN', current: 'OPTIMAL' }
    ]);
  });

  it('keeps retrying quickly while the sidecar stays away', async () => {
    sidecar.answer = () => ({
      code: 503,
      body: {
        error: {
          code: 'sidecar_unavailable',
          message: 'The sidecar is not running.'
        }
      }
    });
    await model.start();
    await waitFor(model, m => m.state === 'DOWN', 5000);
    const before = sidecar.statusRequests;
    await new Promise(resolve => setTimeout(resolve, 1000));
    // Retries every 100–200 ms: at least four in a second, even with backoff.
    expect(sidecar.statusRequests - before).toBeGreaterThanOrEqual(4);
    expect(model.error?.unreachable).toBe(true);
    expect(model.error?.code).toBe('sidecar_unavailable');
    expect(model.message).toBe(UNREACHABLE_MESSAGE);

    sidecar.answer = () => ({ code: 200, body: statusBody('OPTIMAL') });
    await waitFor(model, m => m.state === 'OPTIMAL', 1500);
  });

  it('reports DEGRADED and DOWN as the sidecar derives them, naming the components', async () => {
    sidecar.answer = () => ({ code: 200, body: statusBody('DEGRADED') });
    await model.start();
    await waitFor(model, m => m.state === 'DEGRADED', 5000);
    expect(model.message).toBe(
      'Some Insighter services need attention: storage.'
    );
    expect(model.error).toBeNull();

    sidecar.answer = () => ({ code: 200, body: statusBody('DOWN') });
    await model.refresh();
    expect(model.state).toBe('DOWN');
    // The sidecar answered: DOWN with its reason, not "unreachable".
    expect(model.error).toBeNull();
    expect(model.message).toBe(
      'The Insighter service cannot work: database is down.'
    );
    expect(model.status?.components.database?.detail).toBe(
      'Cannot open the data directory.'
    );
  });

  it('shows DOWN with the reason when the status route itself fails', async () => {
    sidecar.answer = () => ({
      code: 500,
      body: { error: { code: 'internal_error', message: 'Something broke.' } }
    });
    await model.start();
    await waitFor(model, m => m.state === 'DOWN', 5000);
    expect(model.error?.unreachable).toBe(false);
    expect(model.message).toBe(
      'The Insighter service could not report its status: Something broke.'
    );
  });

  it('announces each change of state on the bus', async () => {
    const bus = new InsighterBus();
    const announced: ISystemStatusChanged[] = [];
    bus.systemStatusChanged.connect((_, change) => announced.push(change));
    announceStatusChanges(model, bus);

    await model.start();
    await waitFor(model, m => m.state === 'OPTIMAL', 5000);
    await model.refresh(); // still OPTIMAL: no second announcement
    await sidecar.stop();
    await model.refresh();

    expect(announced.map(a => [a.previous, a.state])).toEqual([
      ['UNKNOWN', 'OPTIMAL'],
      ['OPTIMAL', 'DOWN']
    ]);
    expect(announced[0].status?.status).toBe('OPTIMAL');
    expect(announced[1].status).toBeNull();
    expect(announced[1].message).toBe(UNREACHABLE_MESSAGE);
    expect(typeof announced[1].timestamp).toBe('number');
    bus.dispose();
  });
});

describe('default timing', () => {
  it('polls every 5 s and retries within 2 s after a failure', () => {
    expect(DEFAULT_POLL_TIMING.interval).toBe(5000);
    expect(DEFAULT_POLL_TIMING.maxRetryInterval).toBeLessThanOrEqual(2000);
    expect(DEFAULT_POLL_TIMING.retryInterval).toBeLessThanOrEqual(
      DEFAULT_POLL_TIMING.maxRetryInterval
    );
  });
});
