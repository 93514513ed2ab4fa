import fs from 'node:fs';
import {
  GERMAN_CREDIT,
  startJobsSidecar,
  type JobsSidecar,
  type Person
} from '../jobs/harness';
import { FAKE_RUN_ID, startFakeMlflow } from '../jobs/fake-mlflow';
import { connectEvents } from '../projects/harness';
import { BACKENDS } from '../support/postgres';

/**
 * Security issue #12, part 5: "job tokens are scoped to their job's project
 * and run and expire when the job ends". The token is taken the way a
 * hostile training script (or whoever reads its environment) would take it:
 * from the running process's environment. With it: the job's own run,
 * artifacts and dataset work; another run, project, dataset or API family
 * answers 403; once the job ends (cancelled, or finished) every call is 401.
 */
describe.each(BACKENDS)('training job tokens on %s', backend => {
  let t: JobsSidecar;
  let alice: Person;
  let project: { id: string; slug: string };
  let other: { id: string; slug: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let dataset: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let otherDataset: any;
  const csv = fs.readFileSync(GERMAN_CREDIT);

  beforeAll(async () => {
    t = await startJobsSidecar({
      backend,
      env: { INSIGHTER_JOBS_RUNNER: 'process', INSIGHTER_JOBS_MAX_RUNNING: '1' }
    });
    alice = await t.person('Alice Analyst');
    project = await t.project(alice, 'Credit Risk');
    other = await t.project(alice, 'Another Project');
    dataset = await t.dataset(alice, project.id, 'german_credit', csv);
    otherDataset = await t.dataset(alice, other.id, 'elsewhere', csv);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const train = async (params: Record<string, unknown>) => {
    const res = await t.api(alice, 'POST', '/api/v1/jobs', {
      kind: 'train',
      project_id: project.id,
      dataset_id: dataset.id,
      target: 'Class',
      algorithm: 'xgboost',
      params
    });
    expect(res.status).toBe(202);
    return res.body as { id: string; run_id: string };
  };

  /** A call with `token` in Alice's name (the job's token, taken from it); the answer's status. */
  const status = async (
    token: string,
    method: string,
    path: string,
    body?: unknown,
    sidecar = t
  ) => (await sidecar.api({ ...alice, token }, method, path, body)).status;

  /** MLflow as Alice (her own token): a run to aim at, in `experimentId`. */
  const aliceRun = async (experimentId: string) => {
    const res = await t.api(alice, 'POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: experimentId,
      start_time: Date.now()
    });
    expect(res.status).toBe(200);
    return res.body.run.info.run_id as string;
  };

  it('reaches its own run, artifacts and dataset only, and nothing once the job is cancelled', async () => {
    const running = await train({
      n_estimators: 5000,
      learning_rate: 0.01,
      max_depth: 8
    });
    const token = await tokenOfRunningJob(running.run_id);
    const job = (await t.api(alice, 'GET', `/api/v1/jobs/${running.id}`)).body;
    const sameProjectRun = await aliceRun(job.experiment_id);
    const otherExperiment = (
      await t.api(alice, 'POST', '/api/2.0/mlflow/experiments/create', {
        name: `${other.slug}/elsewhere`
      })
    ).body.experiment_id;
    const otherProjectRun = await aliceRun(otherExperiment);
    const mlflow = (path: string, body: unknown) =>
      status(token, 'POST', `/api/2.0/mlflow/${path}`, body);
    const ownDataset = () =>
      status(
        token,
        'GET',
        `/api/v1/datasets/${dataset.id}/content?version=${dataset.version}&format=csv`
      );
    const metric = { key: 'probe', value: 1, timestamp: Date.now(), step: 0 };

    // Its own run, its artifacts and its dataset version.
    expect(await mlflow('runs/get', { run_id: running.run_id })).toBe(200);
    expect(
      await mlflow('runs/log-batch', {
        run_id: running.run_id,
        metrics: [metric]
      })
    ).toBe(200);
    expect(
      await status(
        token,
        'PUT',
        `/api/2.0/mlflow-artifacts/artifacts/${job.experiment_id}/${running.run_id}/artifacts/probe.txt`,
        'probe'
      )
    ).toBe(200);
    expect(await ownDataset()).toBe(200);

    // Another run of the same project, another project's, and anything else.
    const refusals = {
      'another run of its project': await mlflow('runs/get', {
        run_id: sameProjectRun
      }),
      "logging to another project's run": await mlflow('runs/log-batch', {
        run_id: otherProjectRun,
        metrics: [metric]
      }),
      'a new run': await mlflow('runs/create', {
        experiment_id: job.experiment_id
      }),
      'searching experiments': await mlflow('experiments/search', {}),
      'registering another model': await mlflow('registered-models/create', {
        name: `${other.slug}/stolen`
      }),
      'a version from another run': await mlflow('model-versions/create', {
        name: project.slug,
        source: `runs:/${sameProjectRun}/model`,
        run_id: sameProjectRun
      }),
      "another run's artifacts": await status(
        token,
        'PUT',
        `/api/2.0/mlflow-artifacts/artifacts/${job.experiment_id}/${sameProjectRun}/artifacts/x.txt`,
        'x'
      ),
      "another project's dataset": await status(
        token,
        'GET',
        `/api/v1/datasets/${otherDataset.id}/content?version=1`
      ),
      'the dataset list': await status(token, 'GET', '/api/v1/datasets'),
      projects: await status(token, 'GET', '/api/v1/projects'),
      'creating a project': await status(token, 'POST', '/api/v1/projects', {
        name: 'From a job'
      }),
      jobs: await status(token, 'GET', '/api/v1/jobs'),
      teams: await status(token, 'GET', '/api/v1/teams'),
      predictions: await status(
        token,
        'POST',
        `/api/v1/predict/${project.slug}`,
        { inputs: [[1]] }
      )
    };
    expect(refusals).toEqual(
      Object.fromEntries(Object.keys(refusals).map(what => [what, 403]))
    );
    // Storage and the auth server do not take a job's token at all (GoTrue: 403 bad_jwt).
    expect(
      await status(token, 'POST', '/storage/v1/object/list/uploads', {
        prefix: alice.id
      })
    ).toBe(400);
    expect(
      (
        await fetch(`${t.url}/auth/v1/user`, {
          headers: {
            authorization: `Bearer ${token}`,
            apikey: (await t.api(null, 'GET', '/api/v1/config')).body
              .supabase_anon_key
          }
        })
      ).status
    ).toBe(403);
    const events = await connectEvents(t.url, { header: `Bearer ${token}` });
    expect((await events.closed(5000)).code).toBe(4403);

    // Cancelled: the token is dead at once, for what it could do before too.
    const cancelled = await t.api(
      alice,
      'POST',
      `/api/v1/jobs/${running.id}/cancel`
    );
    expect(cancelled.body.status).toBe('cancelled');
    expect(await mlflow('runs/get', { run_id: running.run_id })).toBe(401);
    expect(await ownDataset()).toBe(401);
  }, 120_000);

  it('trains with its token, which stops working when the job finishes', async () => {
    const job = await train({ n_estimators: 400, max_depth: 4 });
    const token = await tokenOfRunningJob(job.run_id);
    const ended = await t.ended(alice, job.id);
    expect(ended).toMatchObject({
      status: 'succeeded',
      model_version: expect.any(Number)
    });
    expect(
      await status(token, 'POST', '/api/2.0/mlflow/runs/get', {
        run_id: job.run_id
      })
    ).toBe(401);
  }, 120_000);

  it('is checked the same way when MLflow is an external server the sidecar relays to', async () => {
    const fake = await startFakeMlflow('the-tracking-token');
    const relay = await startJobsSidecar({
      backend,
      env: {
        INSIGHTER_JOBS_RUNNER: 'process',
        MLFLOW_TRACKING_URI: fake.url,
        MLFLOW_TRACKING_TOKEN: 'the-tracking-token'
      }
    });
    try {
      const bea = await relay.person('Bea Builder');
      const local = await relay.project(bea);
      const data = await relay.dataset(bea, local.id, 'german_credit', csv);
      const res = await relay.api(bea, 'POST', '/api/v1/jobs', {
        kind: 'train',
        project_id: local.id,
        dataset_id: data.id,
        target: 'Class',
        algorithm: 'xgboost',
        params: { n_estimators: 5000, learning_rate: 0.01, max_depth: 8 }
      });
      expect(res.status).toBe(202);
      expect(res.body.run_id).toBe(FAKE_RUN_ID);
      const token = await tokenOfRunningJob(FAKE_RUN_ID);
      const relayed = (path: string, body: unknown) =>
        status(token, 'POST', `/api/2.0/mlflow/${path}`, body, relay);
      const anotherRun = 'b'.repeat(32);

      expect(await relayed('runs/log-batch', { run_id: FAKE_RUN_ID })).toBe(
        200
      );
      expect(await relayed('runs/log-batch', { run_id: anotherRun })).toBe(403);
      expect(await relayed('experiments/search', {})).toBe(403);
      expect(
        await status(
          token,
          'PUT',
          `/api/2.0/mlflow-artifacts/artifacts/7/${anotherRun}/artifacts/x.txt`,
          'x',
          relay
        )
      ).toBe(403);
      // What was refused never reached the external server.
      expect(
        fake.requests.filter(
          r => r.body?.run_id === anotherRun || r.path.includes(anotherRun)
        )
      ).toEqual([]);

      await relay.api(bea, 'POST', `/api/v1/jobs/${res.body.id}/cancel`);
      expect(await relayed('runs/log-batch', { run_id: FAKE_RUN_ID })).toBe(
        401
      );
    } finally {
      await relay.close();
      await fake.close();
    }
  }, 180_000);
});

/**
 * The token in the environment of the training process that logs to `runId`
 * (as root can read any process's environment): what a script that leaks its
 * environment gives away.
 */
async function tokenOfRunningJob(runId: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const pid of fs.readdirSync('/proc').filter(n => /^\d+$/.test(n))) {
      let environ: string[];
      try {
        environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      } catch {
        continue; // Gone meanwhile.
      }
      if (environ.includes(`MLFLOW_RUN_ID=${runId}`)) {
        const entry = environ.find(e => e.startsWith('MLFLOW_TRACKING_TOKEN='));
        if (entry) {
          return entry.slice('MLFLOW_TRACKING_TOKEN='.length);
        }
      }
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error(`No running process logs to run ${runId}.`);
}
