import type { SignedInUser } from '../projects/harness';
import { BACKENDS } from '../support/postgres';
import { startTrackingTestServer, type TrackingTestServer } from './harness';

/**
 * MLflow compatibility of experiments and runs, from MLflow's REST API
 * reference and its tracking tests: requests as MLflow's clients send them,
 * answers and errors (codes, statuses, limits) as MLflow gives them.
 */
describe.each(BACKENDS)('MLflow experiments and runs on %s', backend => {
  let t: TrackingTestServer;
  let alice: SignedInUser;
  let project: { id: string; slug: string };

  beforeAll(async () => {
    t = await startTrackingTestServer(backend);
    alice = await t.user('Alice');
    project = await t.project(alice, 'Credit Risk Alpha');
  });

  afterAll(async () => {
    await t?.close();
  });

  const call = (method: string, endpoint: string, fields?: Record<string, unknown>) =>
    t.mlflow(alice, method, endpoint, fields);

  /** An MLflow refusal: the status, the error code, and a message matching `message`. */
  const refused = async (
    answer: Promise<{ status: number; body: { error_code: string; message: string } }>,
    status: number,
    code: string,
    message?: RegExp
  ) => {
    const res = await answer;
    expect({ status: res.status, code: res.body.error_code }).toEqual({ status, code });
    expect(Object.keys(res.body).sort()).toEqual(['error_code', 'message']);
    if (message) {
      expect(res.body.message).toMatch(message);
    }
    return res.body.message;
  };

  const newRun = async (fields: Record<string, unknown> = {}) => {
    const experiment = await call('GET', 'experiments/get-by-name', {
      experiment_name: project.slug
    });
    const experimentId =
      experiment.status === 200
        ? experiment.body.experiment.experiment_id
        : (await call('POST', 'experiments/create', { name: project.slug })).body
            .experiment_id;
    const res = await call('POST', 'runs/create', {
      experiment_id: experimentId,
      ...fields
    });
    expect(res.status).toBe(200);
    return res.body.run as {
      info: { run_id: string; experiment_id: string; run_name: string };
    };
  };

  describe('experiments', () => {
    let experimentId: string;

    it('creates one named after the project and answers its id as a string', async () => {
      const res = await call('POST', 'experiments/create', {
        name: `${project.slug}/baselines`,
        tags: [{ key: 'team', value: 'risk' }]
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ experiment_id: expect.stringMatching(/^\d+$/) });
      experimentId = res.body.experiment_id;
    });

    it('gets it by id and by name, in MLflow shape, tagged with its project', async () => {
      const byId = await call('GET', 'experiments/get', { experiment_id: experimentId });
      expect(byId.status).toBe(200);
      expect(byId.body.experiment).toEqual({
        experiment_id: experimentId,
        name: `${project.slug}/baselines`,
        artifact_location: `mlflow-artifacts:/${experimentId}`,
        lifecycle_stage: 'active',
        creation_time: expect.any(Number),
        last_update_time: expect.any(Number),
        tags: [
          { key: 'insighter.project_id', value: project.id },
          { key: 'team', value: 'risk' }
        ]
      });
      const byName = await call('GET', 'experiments/get-by-name', {
        experiment_name: `${project.slug}/baselines`
      });
      expect(byName.body).toEqual(byId.body);
    });

    it('refuses a second experiment of the same name: RESOURCE_ALREADY_EXISTS', async () => {
      await refused(
        call('POST', 'experiments/create', { name: `${project.slug}/baselines` }),
        400,
        'RESOURCE_ALREADY_EXISTS',
        /already exists/
      );
    });

    it('refuses an experiment that names no project of the user', async () => {
      await refused(
        call('POST', 'experiments/create', { name: 'Default' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /belongs to no project.*insighter\.project_id/
      );
      await refused(
        call('POST', 'experiments/create', {
          name: 'anything',
          tags: [{ key: 'insighter.project_id', value: 'not-a-project' }]
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /names no project/
      );
    });

    it('takes its project from the insighter.project_id tag, whatever its name', async () => {
      const res = await call('POST', 'experiments/create', {
        name: 'churn sweeps',
        tags: [{ key: 'insighter.project_id', value: project.id }]
      });
      expect(res.status).toBe(200);
    });

    it('refuses a missing name, and a name past 500 characters', async () => {
      await refused(
        call('POST', 'experiments/create', {}),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'name'/
      );
      await refused(
        call('POST', 'experiments/create', { name: `${project.slug}/${'x'.repeat(500)}` }),
        400,
        'INVALID_PARAMETER_VALUE',
        /maximum length of 500/
      );
    });

    it('answers RESOURCE_DOES_NOT_EXIST (404) for an unknown id or name', async () => {
      await refused(
        call('GET', 'experiments/get', { experiment_id: '987654' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /No Experiment with id=987654 exists/
      );
      await refused(
        call('GET', 'experiments/get', { experiment_id: 'abc' }),
        404,
        'RESOURCE_DOES_NOT_EXIST'
      );
      await refused(
        call('GET', 'experiments/get-by-name', { experiment_name: 'nope' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /Could not find experiment with name 'nope'/
      );
    });

    it('renames, deletes and restores; search sees each state', async () => {
      const renamed = `${project.slug}/renamed`;
      expect(
        (await call('POST', 'experiments/update', { experiment_id: experimentId, new_name: renamed }))
          .body
      ).toEqual({});
      expect(
        (await call('POST', 'experiments/delete', { experiment_id: experimentId })).status
      ).toBe(200);
      const active = await call('POST', 'experiments/search', { max_results: 100 });
      expect(active.body.experiments.map((e: { name: string }) => e.name)).not.toContain(renamed);
      const deleted = await call('POST', 'experiments/search', { view_type: 'DELETED_ONLY' });
      expect(deleted.body.experiments).toEqual([
        expect.objectContaining({ name: renamed, lifecycle_stage: 'deleted' })
      ]);
      await refused(
        call('POST', 'experiments/update', { experiment_id: experimentId, new_name: 'x' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /non-active/
      );
      await call('POST', 'experiments/restore', { experiment_id: experimentId });
      const restored = await call('GET', 'experiments/get', { experiment_id: experimentId });
      expect(restored.body.experiment.lifecycle_stage).toBe('active');
    });

    it('searches by name and tags, orders and pages with next_page_token', async () => {
      for (const n of ['a', 'b', 'c']) {
        await call('POST', 'experiments/create', { name: `${project.slug}/page-${n}` });
      }
      const first = await call('POST', 'experiments/search', {
        filter: `name LIKE '${project.slug}/page-%'`,
        order_by: ['name DESC'],
        max_results: 2
      });
      expect(first.body.experiments.map((e: { name: string }) => e.name)).toEqual([
        `${project.slug}/page-c`,
        `${project.slug}/page-b`
      ]);
      expect(first.body.next_page_token).toEqual(expect.any(String));
      const second = await call('GET', 'experiments/search', {
        filter: `name LIKE '${project.slug}/page-%'`,
        order_by: 'name DESC',
        max_results: 2,
        page_token: first.body.next_page_token
      });
      expect(second.body).toEqual({
        experiments: [expect.objectContaining({ name: `${project.slug}/page-a` })]
      });
      const tagged = await call('POST', 'experiments/search', {
        filter: "tags.team = 'risk'"
      });
      expect(tagged.body.experiments).toHaveLength(1);
      await refused(
        call('POST', 'experiments/search', { filter: 'name ~ 1' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid filter/
      );
      await refused(
        call('POST', 'experiments/search', { max_results: 50001 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /max_results/
      );
      await refused(
        call('POST', 'experiments/search', { page_token: 'garbage' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /page token/
      );
    });

    it('sets and deletes experiment tags; the project tag stays', async () => {
      await call('POST', 'experiments/set-experiment-tag', {
        experiment_id: experimentId,
        key: 'stage',
        value: 'exploration'
      });
      let got = await call('GET', 'experiments/get', { experiment_id: experimentId });
      expect(got.body.experiment.tags).toContainEqual({ key: 'stage', value: 'exploration' });
      await call('POST', 'experiments/delete-experiment-tag', {
        experiment_id: experimentId,
        key: 'stage'
      });
      got = await call('GET', 'experiments/get', { experiment_id: experimentId });
      expect(got.body.experiment.tags).not.toContainEqual(
        expect.objectContaining({ key: 'stage' })
      );
      await refused(
        call('POST', 'experiments/set-experiment-tag', {
          experiment_id: experimentId,
          key: 'insighter.project_id',
          value: '00000000-0000-0000-0000-000000000000'
        }),
        400,
        'INVALID_PARAMETER_VALUE'
      );
    });
  });

  describe('runs', () => {
    it('creates a run: 32 hex id, RUNNING, artifact_uri under mlflow-artifacts, name as tag', async () => {
      const res = await call('POST', 'experiments/create', { name: `${project.slug}/runs` });
      const experimentId = res.body.experiment_id;
      const created = await call('POST', 'runs/create', {
        experiment_id: experimentId,
        start_time: 1700000000000,
        run_name: 'first',
        tags: [{ key: 'mlflow.user', value: 'alice' }]
      });
      expect(created.status).toBe(200);
      const runId = created.body.run.info.run_id;
      expect(created.body.run).toEqual({
        info: {
          run_id: expect.stringMatching(/^[0-9a-f]{32}$/),
          run_uuid: runId,
          run_name: 'first',
          experiment_id: experimentId,
          user_id: alice.email,
          status: 'RUNNING',
          start_time: 1700000000000,
          artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
          lifecycle_stage: 'active'
        },
        data: {
          tags: [
            { key: 'mlflow.runName', value: 'first' },
            { key: 'mlflow.user', value: 'alice' }
          ]
        },
        inputs: {}
      });
    });

    it('names a run without a name, as MLflow does', async () => {
      const run = await newRun();
      expect(run.info.run_name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    });

    it('logs metrics (appended), params (write-once) and tags (last write wins)', async () => {
      const { info } = await newRun();
      const id = info.run_id;
      for (const [step, value] of [[0, 0.5], [1, 0.7], [2, 0.65]]) {
        const res = await call('POST', 'runs/log-metric', {
          run_id: id,
          key: 'auc',
          value,
          timestamp: 1700000000000 + step,
          step
        });
        expect(res).toEqual({ status: 200, body: {} });
      }
      expect((await call('POST', 'runs/log-parameter', { run_id: id, key: 'depth', value: '3' })).status).toBe(200);
      // The same value again is fine; another value is not.
      expect((await call('POST', 'runs/log-parameter', { run_id: id, key: 'depth', value: '3' })).status).toBe(200);
      await refused(
        call('POST', 'runs/log-parameter', { run_id: id, key: 'depth', value: '5' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Changing param values is not allowed.*depth/
      );
      await call('POST', 'runs/set-tag', { run_id: id, key: 'phase', value: 'one' });
      await call('POST', 'runs/set-tag', { run_id: id, key: 'phase', value: 'two' });
      const got = await call('GET', 'runs/get', { run_id: id });
      expect(got.body.run.data.metrics).toEqual([
        { key: 'auc', value: 0.65, timestamp: 1700000000002, step: 2 }
      ]);
      expect(got.body.run.data.params).toEqual([{ key: 'depth', value: '3' }]);
      expect(got.body.run.data.tags).toContainEqual({ key: 'phase', value: 'two' });
      const history = await call('GET', 'metrics/get-history', { run_id: id, metric_key: 'auc' });
      expect(history.body.metrics.map((m: { value: number }) => m.value)).toEqual([0.5, 0.7, 0.65]);
    });

    it('log-batch: all or nothing, with MLflow semantics', async () => {
      const { info } = await newRun();
      const id = info.run_id;
      const ok = await call('POST', 'runs/log-batch', {
        run_id: id,
        metrics: [
          { key: 'loss', value: 1.5, timestamp: 1, step: 0 },
          { key: 'loss', value: 1.2, timestamp: 2, step: 1 }
        ],
        params: [{ key: 'lr', value: '0.1' }],
        tags: [
          { key: 'k', value: 'first' },
          { key: 'k', value: 'last' }
        ]
      });
      expect(ok).toEqual({ status: 200, body: {} });
      // A changed param refuses the whole batch: its metric and tag are not kept.
      await refused(
        call('POST', 'runs/log-batch', {
          run_id: id,
          metrics: [{ key: 'loss', value: 0.1, timestamp: 3, step: 2 }],
          params: [{ key: 'lr', value: '0.2' }],
          tags: [{ key: 'k', value: 'lost' }]
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Changing param values/
      );
      const got = await call('GET', 'runs/get', { run_id: id });
      expect(got.body.run.data.metrics).toEqual([
        { key: 'loss', value: 1.2, timestamp: 2, step: 1 }
      ]);
      expect(got.body.run.data.tags).toContainEqual({ key: 'k', value: 'last' });
      await refused(
        call('POST', 'runs/log-batch', {
          run_id: id,
          params: [
            { key: 'p', value: '1' },
            { key: 'p', value: '2' }
          ]
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Duplicate parameter keys/
      );
    });

    it("refuses more than MLflow's log-batch limits", async () => {
      const { info } = await newRun();
      const metrics = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }));
      const kv = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: 'v' }));
      await refused(
        call('POST', 'runs/log-batch', { run_id: info.run_id, metrics: metrics(1001) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /at most 1000 metrics\. Got 1001 metrics/
      );
      await refused(
        call('POST', 'runs/log-batch', { run_id: info.run_id, params: kv(101) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /at most 100 params/
      );
      await refused(
        call('POST', 'runs/log-batch', { run_id: info.run_id, tags: kv(101) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /at most 100 tags/
      );
      await refused(
        call('POST', 'runs/log-batch', {
          run_id: info.run_id,
          metrics: metrics(950),
          params: kv(51)
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /at most 1000 metrics, params, and tags/
      );
      const got = await call('GET', 'runs/get', { run_id: info.run_id });
      expect(got.body.run.data.metrics).toBeUndefined();
      // Exactly at the limit is accepted.
      expect(
        (await call('POST', 'runs/log-batch', { run_id: info.run_id, metrics: metrics(1000) })).status
      ).toBe(200);
    });

    it('refuses keys and values beyond their limits, and bad metric values', async () => {
      const { info } = await newRun();
      await refused(
        call('POST', 'runs/log-parameter', { run_id: info.run_id, key: 'p', value: 'x'.repeat(6001) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /length limit of 6000/
      );
      await refused(
        call('POST', 'runs/set-tag', { run_id: info.run_id, key: 't', value: 'x'.repeat(5001) }),
        400,
        'INVALID_PARAMETER_VALUE',
        /length limit of 5000/
      );
      await refused(
        call('POST', 'runs/log-metric', { run_id: info.run_id, key: 'k'.repeat(251), value: 1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /length limit of 250/
      );
      await refused(
        call('POST', 'runs/log-metric', { run_id: info.run_id, key: '../up', value: 1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid metric name/
      );
      await refused(
        call('POST', 'runs/log-metric', { run_id: info.run_id, key: 'bad', value: 'high' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /valid double/
      );
      await refused(
        call('POST', 'runs/log-metric', { run_id: info.run_id, key: 'no-value' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Missing value for required parameter 'value'/
      );
    });

    it('keeps NaN and ±Infinity, written as protobuf JSON strings', async () => {
      const { info } = await newRun();
      await call('POST', 'runs/log-batch', {
        run_id: info.run_id,
        metrics: [
          { key: 'nan', value: 'NaN', timestamp: 1, step: 0 },
          { key: 'pinf', value: 'Infinity', timestamp: 1, step: 0 },
          { key: 'ninf', value: '-Infinity', timestamp: 1, step: 0 }
        ]
      });
      const got = await call('GET', 'runs/get', { run_id: info.run_id });
      expect(got.body.run.data.metrics).toEqual([
        { key: 'nan', value: 'NaN', timestamp: 1, step: 0 },
        { key: 'ninf', value: '-Infinity', timestamp: 1, step: 0 },
        { key: 'pinf', value: 'Infinity', timestamp: 1, step: 0 }
      ]);
      const history = await call('GET', 'metrics/get-history', {
        run_id: info.run_id,
        metric_key: 'nan'
      });
      expect(history.body.metrics).toEqual([
        { key: 'nan', value: 'NaN', timestamp: 1, step: 0 }
      ]);
    });

    it('pages metric history', async () => {
      const { info } = await newRun();
      await call('POST', 'runs/log-batch', {
        run_id: info.run_id,
        metrics: Array.from({ length: 5 }, (_, i) => ({ key: 'acc', value: i / 10, timestamp: 1, step: i }))
      });
      const first = await call('GET', 'metrics/get-history', {
        run_id: info.run_id,
        metric_key: 'acc',
        max_results: 3
      });
      expect(first.body.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2]);
      const rest = await call('GET', 'metrics/get-history', {
        run_id: info.run_id,
        metric_key: 'acc',
        max_results: 3,
        page_token: first.body.next_page_token
      });
      expect(rest.body).toEqual({
        metrics: [
          { key: 'acc', value: 0.3, timestamp: 1, step: 3 },
          { key: 'acc', value: 0.4, timestamp: 1, step: 4 }
        ]
      });
    });

    it('updates status and end time, and renames', async () => {
      const { info } = await newRun();
      const res = await call('POST', 'runs/update', {
        run_id: info.run_id,
        status: 'FINISHED',
        end_time: 1700000009999,
        run_name: 'renamed'
      });
      expect(res.body.run_info).toEqual(
        expect.objectContaining({
          run_id: info.run_id,
          status: 'FINISHED',
          end_time: 1700000009999,
          run_name: 'renamed'
        })
      );
      const got = await call('GET', 'runs/get', { run_id: info.run_id });
      expect(got.body.run.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'renamed' });
      await refused(
        call('POST', 'runs/update', { run_id: info.run_id, status: 'DONE' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /Invalid run status/
      );
    });

    it('deletes and restores; a deleted run takes no more values', async () => {
      const { info } = await newRun();
      await call('POST', 'runs/delete', { run_id: info.run_id });
      const got = await call('GET', 'runs/get', { run_id: info.run_id });
      expect(got.body.run.info.lifecycle_stage).toBe('deleted');
      await refused(
        call('POST', 'runs/log-metric', { run_id: info.run_id, key: 'm', value: 1 }),
        400,
        'INVALID_PARAMETER_VALUE',
        /must be in the 'active' state/
      );
      await call('POST', 'runs/restore', { run_id: info.run_id });
      expect(
        (await call('POST', 'runs/log-metric', { run_id: info.run_id, key: 'm', value: 1 })).status
      ).toBe(200);
    });

    it('deletes a tag; an unknown tag is RESOURCE_DOES_NOT_EXIST', async () => {
      const { info } = await newRun();
      await call('POST', 'runs/set-tag', { run_id: info.run_id, key: 'gone', value: 'soon' });
      expect((await call('POST', 'runs/delete-tag', { run_id: info.run_id, key: 'gone' })).status).toBe(200);
      await refused(
        call('POST', 'runs/delete-tag', { run_id: info.run_id, key: 'gone' }),
        404,
        'RESOURCE_DOES_NOT_EXIST'
      );
    });

    it('records dataset inputs with their tags, once', async () => {
      const { info } = await newRun();
      const datasets = [
        {
          tags: [{ key: 'mlflow.data.context', value: 'training' }],
          dataset: {
            name: 'german_credit',
            digest: 'abc123',
            source_type: 'insighter-dataset',
            source: '{"dataset_id": "d1", "version": 1}',
            schema: '{"mlflow_colspec": []}'
          }
        }
      ];
      expect((await call('POST', 'runs/log-inputs', { run_id: info.run_id, datasets })).status).toBe(200);
      expect((await call('POST', 'runs/log-inputs', { run_id: info.run_id, datasets })).status).toBe(200);
      const got = await call('GET', 'runs/get', { run_id: info.run_id });
      expect(got.body.run.inputs).toEqual({ dataset_inputs: datasets });
      await refused(
        call('POST', 'runs/log-inputs', {
          run_id: info.run_id,
          datasets: [{ dataset: { name: 'x', digest: 'd', source_type: 's' } }]
        }),
        400,
        'INVALID_PARAMETER_VALUE',
        /source/
      );
    });

    it("keeps log_model's MLmodel in the run's mlflow.log-model.history tag", async () => {
      const { info } = await newRun();
      const model = (path: string) =>
        JSON.stringify({
          artifact_path: path,
          run_id: info.run_id,
          flavors: { sklearn: { pickled_model: 'model.pkl' } },
          utc_time_created: '2026-11-26 10:00:00.000000'
        });
      for (const path of ['model', 'model-2']) {
        expect(
          (await call('POST', 'runs/log-model', { run_id: info.run_id, model_json: model(path) })).status
        ).toBe(200);
      }
      const got = await call('GET', 'runs/get', { run_id: info.run_id });
      const history = got.body.run.data.tags.find(
        (tag: { key: string }) => tag.key === 'mlflow.log-model.history'
      );
      expect(JSON.parse(history.value).map((m: { artifact_path: string }) => m.artifact_path)).toEqual([
        'model',
        'model-2'
      ]);
      await refused(
        call('POST', 'runs/log-model', { run_id: info.run_id, model_json: '{"flavors": {}}' }),
        400,
        'INVALID_PARAMETER_VALUE',
        /artifact_path/
      );
    });

    it('answers RESOURCE_DOES_NOT_EXIST (404) for an unknown run', async () => {
      await refused(
        call('GET', 'runs/get', { run_id: 'f'.repeat(32) }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /Run with id=f{32} not found/
      );
      await refused(
        call('POST', 'runs/log-batch', { run_id: 'nope', metrics: [] }),
        404,
        'RESOURCE_DOES_NOT_EXIST'
      );
      await refused(
        call('POST', 'runs/create', { experiment_id: '0' }),
        404,
        'RESOURCE_DOES_NOT_EXIST',
        /no Default experiment.*set_experiment/
      );
    });
  });

  describe('searching runs', () => {
    let experimentId: string;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      experimentId = (await call('POST', 'experiments/create', { name: `${project.slug}/search` }))
        .body.experiment_id;
      const runs = [
        { name: 'xgb-a', auc: 0.81, depth: '3', status: 'FINISHED', start: 1000 },
        { name: 'xgb-b', auc: 0.86, depth: '6', status: 'FINISHED', start: 2000 },
        { name: 'lr', auc: 0.74, depth: undefined, status: 'FAILED', start: 3000 }
      ];
      for (const r of runs) {
        const created = await call('POST', 'runs/create', {
          experiment_id: experimentId,
          run_name: r.name,
          start_time: r.start
        });
        const id = created.body.run.info.run_id;
        ids[r.name] = id;
        await call('POST', 'runs/log-batch', {
          run_id: id,
          metrics: [{ key: 'auc', value: r.auc, timestamp: 1, step: 0 }],
          params: r.depth ? [{ key: 'max_depth', value: r.depth }] : [],
          tags: [{ key: 'algo', value: r.name.startsWith('xgb') ? 'xgboost' : 'logreg' }]
        });
        await call('POST', 'runs/update', { run_id: id, status: r.status, end_time: r.start + 10 });
      }
    });

    const names = (res: { body: { runs?: { info: { run_name: string } }[] } }) =>
      (res.body.runs ?? []).map(r => r.info.run_name);

    it('orders by start time, newest first, by default', async () => {
      const res = await call('POST', 'runs/search', { experiment_ids: [experimentId] });
      expect(names(res)).toEqual(['lr', 'xgb-b', 'xgb-a']);
      expect(res.body.runs[0].data.metrics).toEqual([
        { key: 'auc', value: 0.74, timestamp: 1, step: 0 }
      ]);
    });

    it('filters on metrics, params, tags and attributes', async () => {
      const search = (filter: string) =>
        call('POST', 'runs/search', { experiment_ids: [experimentId], filter });
      expect(names(await search('metrics.auc > 0.8'))).toEqual(['xgb-b', 'xgb-a']);
      expect(names(await search("params.max_depth = '6'"))).toEqual(['xgb-b']);
      expect(names(await search("tags.algo != 'xgboost'"))).toEqual(['lr']);
      expect(names(await search("attributes.status = 'FINISHED' and metrics.auc <= 0.81"))).toEqual(['xgb-a']);
      expect(names(await search("attributes.run_name LIKE 'xgb%'"))).toEqual(['xgb-b', 'xgb-a']);
      expect(names(await search("tags.`mlflow.runName` ILIKE 'LR'"))).toEqual(['lr']);
      expect(names(await search('attributes.start_time >= 2000'))).toEqual(['lr', 'xgb-b']);
      expect(names(await search(`attributes.run_id IN ('${ids['lr']}', '${ids['xgb-a']}')`))).toEqual([
        'lr',
        'xgb-a'
      ]);
      expect(names(await search('params.max_depth IS NULL'))).toEqual(['lr']);
    });

    it('orders by a metric or a param, missing values last', async () => {
      const byAuc = await call('POST', 'runs/search', {
        experiment_ids: [experimentId],
        order_by: ['metrics.auc DESC']
      });
      expect(names(byAuc)).toEqual(['xgb-b', 'xgb-a', 'lr']);
      const byDepth = await call('POST', 'runs/search', {
        experiment_ids: [experimentId],
        order_by: ['params.max_depth ASC']
      });
      expect(names(byDepth)).toEqual(['xgb-a', 'xgb-b', 'lr']);
    });

    it('pages with max_results and page_token', async () => {
      const first = await call('POST', 'runs/search', {
        experiment_ids: [experimentId],
        max_results: 2
      });
      expect(names(first)).toEqual(['lr', 'xgb-b']);
      const second = await call('POST', 'runs/search', {
        experiment_ids: [experimentId],
        max_results: 2,
        page_token: first.body.next_page_token
      });
      expect(names(second)).toEqual(['xgb-a']);
      expect(second.body.next_page_token).toBeUndefined();
    });

    it('sees deleted runs only when asked', async () => {
      const { info } = await newRun({ run_name: 'to-delete' });
      await call('POST', 'runs/delete', { run_id: info.run_id });
      const deleted = await call('POST', 'runs/search', {
        experiment_ids: [info.experiment_id],
        run_view_type: 'DELETED_ONLY'
      });
      expect(names(deleted)).toEqual(['to-delete']);
    });

    it('refuses filters it cannot read, saying why', async () => {
      const bad = (filter: string) =>
        refused(
          call('POST', 'runs/search', { experiment_ids: [experimentId], filter }),
          400,
          'INVALID_PARAMETER_VALUE'
        );
      expect(await bad("metrics.auc > 'high'")).toMatch(/metric 'auc'/);
      expect(await bad('metrics.auc > 0.5 or metrics.auc < 0.1')).toMatch(/OR is not supported/);
      expect(await bad("attributes.color = 'red'")).toMatch(/Invalid attribute key 'color'/);
      expect(await bad("params.x = 'unclosed")).toMatch(/not closed/);
    });
  });

  describe('the protocol', () => {
    it('refuses requests without a bearer token: UNAUTHENTICATED (401)', async () => {
      const res = await t.mlflow(null, 'POST', 'experiments/search', {});
      expect(res.status).toBe(401);
      expect(res.body.error_code).toBe('UNAUTHENTICATED');
    });

    it('answers ENDPOINT_NOT_FOUND for a path MLflow does not have', async () => {
      const res = await call('GET', 'runs/teleport');
      expect(res.status).toBe(404);
      expect(res.body.error_code).toBe('ENDPOINT_NOT_FOUND');
    });

    it('answers a body that is not JSON with INVALID_PARAMETER_VALUE', async () => {
      const res = await t.api(alice, 'POST', '/api/2.0/mlflow/runs/create', '{not json');
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    });

    it('serves the ajax-api prefix MLflow\'s own UI uses', async () => {
      const res = await t.api(alice, 'GET', `/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=${project.slug}/runs`);
      expect(res.status).toBe(200);
    });
  });
});
