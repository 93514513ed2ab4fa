import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import {
  GERMAN_CREDIT,
  startJobsSidecar,
  type JobsSidecar,
  type Person
} from './harness';

/**
 * Training jobs end to end with the process runner: the real sidecar on
 * PostgreSQL 15, german_credit uploaded through the datasets route, the
 * training script as a local process, MLflow's API to read back what it
 * logged. One job at a time (INSIGHTER_JOBS_MAX_RUNNING=1), so a second job
 * waits, queued, behind the first.
 */
describe('/api/v1/jobs with the process runner', () => {
  let t: JobsSidecar;
  let db: Client;
  let alice: Person;
  let bob: Person;
  let project: { id: string; slug: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let dataset: any;
  const csv = fs.readFileSync(GERMAN_CREDIT);

  beforeAll(async () => {
    t = await startJobsSidecar({
      env: { INSIGHTER_JOBS_RUNNER: 'process', INSIGHTER_JOBS_MAX_RUNNING: '1' }
    });
    db = new Client({ connectionString: t.database!.url });
    await db.connect();
    alice = await t.person('Alice Analyst');
    bob = await t.person('Bob Outsider');
    project = await t.project(alice, 'Credit Risk Alpha');
    dataset = await t.dataset(alice, project.id, 'german_credit', csv);
  });

  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  const count = async (table: 'jobs' | 'runs') =>
    (
      await db.query<{ n: number }>(
        `select count(*)::int as n from public.${table}`
      )
    ).rows[0].n;

  const train = (body: Record<string, unknown> = {}, person = alice) =>
    t.api(person, 'POST', '/api/v1/jobs', {
      kind: 'train',
      project_id: project.id,
      dataset_id: dataset.id,
      target: 'Class',
      algorithm: 'xgboost',
      params: { n_estimators: 30 },
      ...body
    });

  /** A job that runs long enough to be caught running (it is stopped by the test). */
  const long = {
    params: { n_estimators: 5000, learning_rate: 0.01, max_depth: 8 }
  };

  const mlflow = async (path: string) => {
    const res = await t.api(alice, 'GET', `/api/2.0/mlflow/${path}`);
    expect(res.status).toBe(200);
    return res.body;
  };

  it('answers the algorithms and their bounds, to signed-in people only', async () => {
    expect((await t.api(null, 'GET', '/api/v1/jobs/algorithms')).status).toBe(
      401
    );
    const res = await t.api(alice, 'GET', '/api/v1/jobs/algorithms');
    expect(res.status).toBe(200);
    expect(res.body.algorithms.map((a: { id: string }) => a.id)).toEqual([
      'xgboost',
      'logistic_regression',
      'random_forest'
    ]);
    const xgboost = res.body.algorithms[0];
    expect(xgboost.tasks).toEqual(['classification', 'regression']);
    expect(
      xgboost.params.find((p: { name: string }) => p.name === 'learning_rate')
    ).toEqual({
      name: 'learning_rate',
      type: 'float',
      default: 0.3,
      min: 0,
      max: 1,
      exclusiveMin: true,
      description: 'Shrinkage of each round.'
    });
    expect(xgboost.params.map((p: { name: string }) => p.name)).toContain(
      'test_size'
    );
  });

  it('trains XGBoost on german_credit: live events, the log, params, per-round metrics, artifacts, input, version 1 then 2', async () => {
    const events = await t.events(alice);
    const res = await train();
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      run_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      status: 'queued'
    });
    const job = await t.ended(alice, res.body.id);
    expect(job).toMatchObject({
      id: res.body.id,
      project_id: project.id,
      kind: 'train',
      status: 'succeeded',
      error: null,
      run_id: res.body.run_id,
      experiment_id: expect.any(String),
      dataset_id: dataset.id,
      dataset_version: 1,
      target: 'Class',
      algorithm: 'xgboost',
      task: 'classification',
      params: {
        n_estimators: 30,
        max_depth: 6,
        learning_rate: 0.3,
        subsample: 1,
        colsample_bytree: 1,
        min_child_weight: 1,
        reg_lambda: 1,
        test_size: 0.2,
        random_state: 42
      },
      runner: 'process',
      model_name: project.slug,
      model_version: 1,
      exit_code: 0,
      created_at: expect.any(String),
      started_at: expect.any(String),
      finished_at: expect.any(String)
    });

    // Events: every status change, and the lines as they came (each user's
    // events arrive in order, so the last one means all came).
    await events.next(
      e =>
        e.type === 'job.updated' &&
        e.payload.jobId === job.id &&
        e.payload.status === 'succeeded',
      10_000
    );
    const updates = events.received.filter(
      e => e.type === 'job.updated' && e.payload.jobId === job.id
    );
    expect(updates.map(e => e.payload.status)).toEqual([
      'queued',
      'running',
      'succeeded'
    ]);
    expect(updates[2].payload).toMatchObject({
      runId: job.run_id,
      projectId: project.id,
      modelVersion: 1
    });
    const streamed = events.received
      .filter(e => e.type === 'run.log' && e.payload.runId === job.run_id)
      .flatMap(e => e.payload.lines as string[]);
    expect(streamed[0]).toMatch(/^insighter_train: starting/);
    expect(
      events.received.some(
        e => e.type === 'run.metric' && e.payload.key === 'validation_auc'
      )
    ).toBe(true);
    await events.close();

    // The log as the route pages it: numbered from 0, the same lines.
    const logs = (await t.api(alice, 'GET', `/api/v1/jobs/${job.id}/logs`))
      .body;
    expect(logs.done).toBe(true);
    expect(logs.lines.map((l: { n: number }) => l.n)).toEqual([
      ...logs.lines.keys()
    ]);
    expect(logs.lines.map((l: { text: string }) => l.text)).toEqual(streamed);
    expect(logs.lines.map((l: { text: string }) => l.text)).toContain(
      `registered model '${project.slug}' version 1`
    );
    const tail = (
      await t.api(
        alice,
        'GET',
        `/api/v1/jobs/${job.id}/logs?since=${logs.lines.length - 2}`
      )
    ).body;
    expect(tail.lines.map((l: { n: number }) => l.n)).toEqual([
      logs.lines.length - 2,
      logs.lines.length - 1
    ]);
    expect(
      (await t.api(alice, 'GET', `/api/v1/jobs/${job.id}/logs?since=-1`)).status
    ).toBe(400);

    // What MLflow's API has of the run.
    const { run } = await mlflow(`runs/get?run_id=${job.run_id}`);
    expect(run.info.status).toBe('FINISHED');
    const params = Object.fromEntries(
      run.data.params.map((p: { key: string; value: string }) => [
        p.key,
        p.value
      ])
    );
    expect(params).toMatchObject({
      algorithm: 'xgboost',
      n_estimators: '30',
      target: 'Class',
      task: 'classification'
    });
    const metrics = Object.fromEntries(
      run.data.metrics.map((m: { key: string; value: number }) => [
        m.key,
        m.value
      ])
    );
    expect(metrics.accuracy).toBeGreaterThan(0.65);
    expect(metrics.auc).toBeGreaterThan(0.7);
    const tags = Object.fromEntries(
      run.data.tags.map((p: { key: string; value: string }) => [p.key, p.value])
    );
    expect(tags['insighter.job_id']).toBe(job.id);
    const [input] = run.inputs.dataset_inputs;
    expect(input.dataset).toMatchObject({
      name: 'german_credit',
      digest: dataset.sha256.slice(0, 32),
      source_type: 'insighter'
    });
    expect(JSON.parse(input.dataset.source)).toEqual({
      dataset_id: dataset.id,
      version: 1,
      sha256: dataset.sha256
    });
    expect(dataset.sha256).toBe(createHash('sha256').update(csv).digest('hex'));

    const history = await mlflow(
      `metrics/get-history?run_id=${job.run_id}&metric_key=validation_auc`
    );
    expect(history.metrics.map((m: { step: number }) => m.step)).toEqual([
      ...Array(30).keys()
    ]);

    const root = await mlflow(`artifacts/list?run_id=${job.run_id}`);
    expect(root.files.map((f: { path: string }) => f.path).sort()).toEqual([
      'confusion_matrix.json',
      'feature_importance.json',
      'logs',
      'model'
    ]);
    const model = await mlflow(
      `artifacts/list?run_id=${job.run_id}&path=model`
    );
    expect(model.files.map((f: { path: string }) => f.path)).toEqual(
      expect.arrayContaining([
        'model/MLmodel',
        'model/model.pkl',
        'model/input_example.json'
      ])
    );
    const logFile = await t.api(
      alice,
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts/${job.experiment_id}/${job.run_id}/artifacts/logs/job.log`
    );
    expect(logFile.status).toBe(200);
    expect(logFile.text).toBe(
      logs.lines.map((l: { text: string }) => `${l.text}\n`).join('')
    );

    // A second job registers version 2 of the project's model.
    const second = await train({
      algorithm: 'logistic_regression',
      params: { C: 0.5 }
    });
    const done = await t.ended(alice, second.body.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      model_version: 2,
      algorithm: 'logistic_regression'
    });
    const versions = await mlflow(
      `model-versions/search?filter=${encodeURIComponent(`name='${project.slug}'`)}`
    );
    expect(
      versions.model_versions
        .map((v: { version: string; run_id: string }) => [v.version, v.run_id])
        .sort()
    ).toEqual([
      ['1', job.run_id],
      ['2', done.run_id]
    ]);

    const listed = (
      await t.api(alice, 'GET', `/api/v1/jobs?project_id=${project.id}`)
    ).body.jobs;
    expect(listed.map((j: { id: string }) => j.id)).toEqual([done.id, job.id]);
    // Nobody else sees them.
    expect(
      (await t.api(bob, 'GET', `/api/v1/jobs?project_id=${project.id}`)).body
        .jobs
    ).toEqual([]);
    expect((await t.api(bob, 'GET', `/api/v1/jobs/${job.id}`)).status).toBe(
      404
    );
    expect(
      (await t.api(bob, 'GET', `/api/v1/jobs/${job.id}/logs`)).status
    ).toBe(404);
  });

  it('refuses bad requests with a clear 400 (or 401/403/404) and creates neither job nor run', async () => {
    const jobs = await count('jobs');
    const runs = await count('runs');
    const refused = async (
      res: Awaited<ReturnType<typeof train>>,
      status: number,
      message: string | RegExp
    ) => {
      expect(res.status).toBe(status);
      expect(res.body.error.message).toMatch(message);
      return res.body.error;
    };

    await refused(
      await train({ target: 'Klass' }),
      400,
      /^The target column "Klass" is not in the dataset\. Its columns are: Duration, Amount, .* \(and 42 more\)\.$/
    );
    await refused(
      await train({ task: 'regression' }),
      400,
      /^The target column "Class" holds text \(e\.g\. '(Good|Bad)', '(Good|Bad)'\): a regressor needs numbers\./
    );
    const range = await refused(
      await train({
        params: { n_estimators: 0, learning_rate: 1.5, depth: 3 }
      }),
      400,
      "XGBoost has no hyperparameter 'depth': it takes n_estimators, max_depth, learning_rate, subsample, colsample_bytree, min_child_weight, reg_lambda, test_size, random_state. n_estimators must be a whole number from 1 to 5000. learning_rate must be a number greater than 0 and at most 1."
    );
    expect(range.details.fields.map((f: { field: string }) => f.field)).toEqual(
      ['params', 'params.n_estimators', 'params.learning_rate']
    );
    await refused(
      await train({
        algorithm: 'random_forest',
        params: { max_depth: 0.5, min_samples_leaf: 0 }
      }),
      400,
      'max_depth must be a whole number from 1 to 100, or empty for none. min_samples_leaf must be a whole number at least 1.'
    );
    await refused(
      await train({ params: { test_size: 1 } }),
      400,
      'test_size must be a number greater than 0 and less than 1.'
    );
    await refused(
      await train({
        target: 'Amount',
        task: 'regression',
        algorithm: 'logistic_regression',
        params: {}
      }),
      400,
      'Logistic regression only does classification: choose XGBoost or a random forest for a regression.'
    );
    await refused(
      await train({ algorithm: 'svm' }),
      400,
      'algorithm must be one of "xgboost", "logistic_regression", "random_forest".'
    );
    await refused(
      await train({ epochs: 3 }),
      400,
      /^Unknown field "epochs": a training job has kind, project_id/
    );
    await refused(
      await train({ target: undefined }),
      400,
      'target is required: the column to predict.'
    );
    await refused(
      await train({ runner: 'kubernetes' }),
      400,
      'runner must be "process" or "docker"'
    );
    await refused(
      await train({ limits: { memory_mb: 10_000_000 } }),
      400,
      'limits.memory_mb may be at most 16384 on this server.'
    );
    await refused(
      await train({ dataset_version: 7 }),
      400,
      /^The dataset has no version 7/
    );
    await refused(
      await t.api(alice, 'POST', '/api/v1/jobs', 'not json'),
      400,
      'The request body is not valid JSON.'
    );

    // Someone else's project and dataset: not found, not a hint that they exist.
    const bobs = await t.project(bob);
    const bobsData = await t.dataset(bob, bobs.id, 'mine', 'a,b\n1,x\n2,y\n');
    await refused(
      await train({ project_id: bobs.id }),
      404,
      'Project not found.'
    );
    await refused(
      await train({ dataset_id: bobsData.id }),
      400,
      /^The dataset was not found \(or you cannot read it\)/
    );
    await refused(
      await train({ project_id: bobs.id, dataset_id: dataset.id }, bob),
      400,
      /^The dataset was not found/
    );
    const bobsOther = await t.dataset(
      bob,
      (await t.project(bob)).id,
      'other',
      'a,b\n1,x\n2,y\n'
    );
    await refused(
      await train(
        { project_id: bobs.id, dataset_id: bobsOther.id, target: 'b' },
        bob
      ),
      400,
      'The dataset belongs to another project: choose a dataset of this project.'
    );
    const constant = await t.dataset(
      alice,
      project.id,
      'constant',
      'x,y\n1,a\n2,a\n3,a\n'
    );
    await refused(
      await train({ dataset_id: constant.id, target: 'y' }),
      400,
      'The target column "y" has only one value (\'a\'): a classifier needs at least two classes to tell apart.'
    );
    expect((await t.api(null, 'POST', '/api/v1/jobs', {})).status).toBe(401);
    expect(await count('jobs')).toBe(jobs);
    expect(await count('runs')).toBe(runs);
  });

  it('a dataset deleted while its job waits: the job fails saying so; the job before it is cancelled, its run KILLED', async () => {
    const copy = await t.dataset(alice, project.id, 'german_credit_copy', csv);
    const first = (await train(long)).body;
    await t.logged(alice, first.id, /^rows: /);
    // One job at a time: the second waits behind the first.
    const second = (await train({ dataset_id: copy.id })).body;
    expect(
      (await t.api(alice, 'GET', `/api/v1/jobs/${second.id}`)).body.status
    ).toBe('queued');
    expect(
      (await t.api(alice, 'DELETE', `/api/v1/datasets/${copy.id}`)).status
    ).toBe(204);

    // Resource use while it runs.
    const stats = await t.api(alice, 'GET', `/api/v1/jobs/${first.id}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual({
      cpu_percent: expect.any(Number),
      memory_bytes: expect.any(Number),
      memory_limit_bytes: 2048 * 1024 * 1024
    });
    expect(stats.body.memory_bytes).toBeGreaterThan(10 * 1024 * 1024);

    // A person who cannot write to the project cannot cancel.
    expect(
      (await t.api(bob, 'POST', `/api/v1/jobs/${first.id}/cancel`)).status
    ).toBe(404);
    const cancelled = await t.api(
      alice,
      'POST',
      `/api/v1/jobs/${first.id}/cancel`
    );
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: first.id,
      status: 'cancelled',
      error: null
    });
    expect(
      (await mlflow(`runs/get?run_id=${first.run_id}`)).run.info.status
    ).toBe('KILLED');
    const again = await t.api(alice, 'POST', `/api/v1/jobs/${first.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(
      'The job already ended: it was cancelled.'
    );

    const failed = await t.ended(alice, second.id);
    expect(failed).toMatchObject({ status: 'failed', exit_code: 3 });
    expect(failed.error).toMatch(
      /^The dataset is gone: .* It was deleted \(or its version was\) before the job could read it\.$/
    );
    const { run } = await mlflow(`runs/get?run_id=${second.run_id}`);
    expect(run.info.status).toBe('FAILED');
    expect(run.data.tags).toContainEqual({
      key: 'insighter.error',
      value: failed.error
    });
  });

  it('a training process that crashes (killed): the job fails with the reason, the run FAILED, the log kept', async () => {
    const job = (await train(long)).body;
    await t.logged(alice, job.id, /^rows: /);
    const { rows } = await db.query<{ runner_ref: string }>(
      'select runner_ref from public.jobs where id = $1',
      [job.id]
    );
    const pid = Number(/^pid:(\d+)$/.exec(rows[0].runner_ref)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const failed = await t.ended(alice, job.id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: 'The training process was ended by SIGKILL.',
      exit_code: null
    });
    expect(
      (await mlflow(`runs/get?run_id=${job.run_id}`)).run.info.status
    ).toBe('FAILED');
    const root = await mlflow(`artifacts/list?run_id=${job.run_id}&path=logs`);
    expect(root.files.map((f: { path: string }) => f.path)).toEqual([
      'logs/job.log'
    ]);
  });

  it('a training that runs out of memory: the job fails naming the limit, the run FAILED', async () => {
    const job = (await train({ limits: { memory_mb: 200 } })).body;
    const failed = await t.ended(alice, job.id);
    expect(failed.status).toBe('failed');
    expect(failed.limits).toEqual({ memory_mb: 200, cpus: 1 });
    expect(failed.error).toBe(
      "The training ran out of memory (limit 200 MB): use a smaller dataset or fewer/shallower trees, or raise the job's memory limit."
    );
    const { run } = await mlflow(`runs/get?run_id=${job.run_id}`);
    expect(run.info.status).toBe('FAILED');
  });
});
