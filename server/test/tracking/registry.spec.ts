import type { SignedInUser } from '../projects/harness';
import { BACKENDS } from '../support/postgres';
import { startTrackingTestServer, type TrackingTestServer } from './harness';

/**
 * MLflow's model registry: registered models and versions as MLflow's REST
 * API answers them, versions numbered 1, 2, 3 per model, aliases, stages,
 * and the project a model belongs to.
 */
describe.each(BACKENDS)('MLflow model registry on %s', backend => {
  let t: TrackingTestServer;
  let alice: SignedInUser;
  let project: { id: string; slug: string };
  let runId: string;

  beforeAll(async () => {
    t = await startTrackingTestServer(backend);
    alice = await t.user('Alice');
    project = await t.project(alice, 'Credit Risk Alpha');
    const experiment = await call('POST', 'experiments/create', { name: project.slug });
    runId = (
      await call('POST', 'runs/create', { experiment_id: experiment.body.experiment_id })
    ).body.run.info.run_id;
  });

  afterAll(async () => {
    await t?.close();
  });

  const call = (method: string, endpoint: string, fields?: Record<string, unknown>) =>
    t.mlflow(alice, method, endpoint, fields);

  const expectError = async (
    answer: Promise<{ status: number; body: { error_code: string; message: string } }>,
    status: number,
    code: string,
    message?: RegExp
  ) => {
    const res = await answer;
    expect({ status: res.status, code: res.body.error_code }).toEqual({ status, code });
    if (message) {
      expect(res.body.message).toMatch(message);
    }
  };

  it('creates the project default model, named after its slug, in MLflow shape', async () => {
    const res = await call('POST', 'registered-models/create', {
      name: project.slug,
      description: 'Who repays'
    });
    expect(res.status).toBe(200);
    expect(res.body.registered_model).toEqual({
      name: project.slug,
      creation_timestamp: expect.any(Number),
      last_updated_timestamp: expect.any(Number),
      description: 'Who repays',
      tags: [{ key: 'insighter.project_id', value: project.id }]
    });
    await expectError(
      call('POST', 'registered-models/create', { name: project.slug }),
      400,
      'RESOURCE_ALREADY_EXISTS',
      /already exists/
    );
    await expectError(
      call('POST', 'registered-models/create', { name: 'orphan' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /belongs to no project/
    );
  });

  it('numbers versions 1, 2, 3 and announces each one', async () => {
    const stream = await t.events(alice);
    try {
      const versions: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await call('POST', 'model-versions/create', {
          name: project.slug,
          source: `runs:/${runId}/model`,
          run_id: runId,
          tags: [{ key: 'algorithm', value: 'xgboost' }]
        });
        expect(res.status).toBe(200);
        versions.push(res.body.model_version.version);
      }
      expect(versions).toEqual(['1', '2', '3']);
      const event = await stream.next(
        e => e.type === 'model.version-registered' && e.payload.version === 3
      );
      expect(event.payload).toEqual({
        modelId: expect.any(String),
        modelName: project.slug,
        version: 3,
        runId,
        projectId: project.id,
        timestamp: expect.any(Number)
      });
    } finally {
      await stream.close();
    }
    const got = await call('GET', 'model-versions/get', { name: project.slug, version: '2' });
    expect(got.body.model_version).toEqual({
      name: project.slug,
      version: '2',
      creation_timestamp: expect.any(Number),
      last_updated_timestamp: expect.any(Number),
      user_id: alice.email,
      current_stage: 'None',
      source: `runs:/${runId}/model`,
      run_id: runId,
      status: 'READY',
      tags: [{ key: 'algorithm', value: 'xgboost' }]
    });
  });

  it('never gives a deleted version number again', async () => {
    await call('DELETE', 'model-versions/delete', { name: project.slug, version: '3' });
    await expectError(
      call('GET', 'model-versions/get', { name: project.slug, version: '3' }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      /Model Version \(name=.*, version=3\) not found/
    );
    const res = await call('POST', 'model-versions/create', {
      name: project.slug,
      source: 'mlflow-artifacts:/1/x/artifacts/model'
    });
    expect(res.body.model_version.version).toBe('4');
  });

  it('sets, reads and deletes aliases (e.g. champion)', async () => {
    expect(
      (await call('POST', 'registered-models/alias', { name: project.slug, alias: 'champion', version: '2' }))
        .body
    ).toEqual({});
    const byAlias = await call('GET', 'registered-models/alias', {
      name: project.slug,
      alias: 'champion'
    });
    expect(byAlias.body.model_version).toEqual(
      expect.objectContaining({ version: '2', aliases: ['champion'] })
    );
    const model = await call('GET', 'registered-models/get', { name: project.slug });
    expect(model.body.registered_model.aliases).toEqual([{ alias: 'champion', version: '2' }]);
    // Moving the alias points it at the other version.
    await call('POST', 'registered-models/alias', { name: project.slug, alias: 'champion', version: '4' });
    expect(
      (await call('GET', 'registered-models/alias', { name: project.slug, alias: 'champion' })).body
        .model_version.version
    ).toBe('4');
    await expectError(
      call('POST', 'registered-models/alias', { name: project.slug, alias: 'latest', version: '1' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /reserved/
    );
    await expectError(
      call('POST', 'registered-models/alias', { name: project.slug, alias: 'v2', version: '1' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /reserved/
    );
    await expectError(
      call('POST', 'registered-models/alias', { name: project.slug, alias: 'gold', version: '99' }),
      404,
      'RESOURCE_DOES_NOT_EXIST'
    );
    // As MLflow's client sends it: the fields in a DELETE body.
    expect(
      (await call('DELETE', 'registered-models/alias', { name: project.slug, alias: 'champion' })).status
    ).toBe(200);
    await expectError(
      call('GET', 'registered-models/alias', { name: project.slug, alias: 'champion' }),
      404,
      'RESOURCE_DOES_NOT_EXIST'
    );
    // As MLflow's docs show it: the fields in the query string.
    await call('POST', 'registered-models/alias', { name: project.slug, alias: 'staging-pick', version: '1' });
    const viaQuery = await t.api(
      alice,
      'DELETE',
      `/api/2.0/mlflow/registered-models/alias?name=${project.slug}&alias=staging-pick`
    );
    expect(viaQuery.status).toBe(200);
  });

  it('moves versions through stages, archiving the others when asked', async () => {
    const toProduction = (version: string, archive: boolean) =>
      call('POST', 'model-versions/transition-stage', {
        name: project.slug,
        version,
        stage: 'production',
        archive_existing_versions: archive
      });
    expect((await toProduction('1', false)).body.model_version.current_stage).toBe('Production');
    await toProduction('2', true);
    const first = await call('GET', 'model-versions/get', { name: project.slug, version: '1' });
    expect(first.body.model_version.current_stage).toBe('Archived');
    const latest = await call('POST', 'registered-models/get-latest-versions', {
      name: project.slug,
      stages: ['Production']
    });
    expect(latest.body.model_versions.map((v: { version: string }) => v.version)).toEqual(['2']);
    await expectError(
      call('POST', 'model-versions/transition-stage', { name: project.slug, version: '1', stage: 'Gold' }),
      400,
      'INVALID_PARAMETER_VALUE',
      /Invalid Model Version stage/
    );
  });

  it('searches versions by name and run_id, and models by name', async () => {
    const byName = await call('GET', 'model-versions/search', {
      filter: `name = '${project.slug}'`,
      order_by: 'version_number ASC'
    });
    expect(byName.body.model_versions.map((v: { version: string }) => v.version)).toEqual([
      '1',
      '2',
      '4'
    ]);
    const byRun = await call('GET', 'model-versions/search', { filter: `run_id = '${runId}'` });
    expect(byRun.body.model_versions).toHaveLength(2);
    const paged = await call('GET', 'model-versions/search', {
      filter: `name = '${project.slug}'`,
      max_results: 2
    });
    expect(paged.body.model_versions).toHaveLength(2);
    expect(paged.body.next_page_token).toEqual(expect.any(String));
    const models = await call('GET', 'registered-models/search', {
      filter: `name LIKE '${project.slug.slice(0, 6)}%'`
    });
    expect(models.body.registered_models.map((m: { name: string }) => m.name)).toEqual([project.slug]);
    expect(models.body.registered_models[0].latest_versions).toEqual(
      expect.arrayContaining([expect.objectContaining({ version: '2', current_stage: 'Production' })])
    );
  });

  it('resolves a runs:/ source to the run artifacts for download', async () => {
    const uri = await call('GET', 'model-versions/get-download-uri', {
      name: project.slug,
      version: '1'
    });
    const run = await call('GET', 'runs/get', { run_id: runId });
    expect(uri.body).toEqual({ artifact_uri: `${run.body.run.info.artifact_uri}/model` });
  });

  it('refuses a version of a run from another project', async () => {
    const other = await t.project(alice, 'Other Project');
    const experiment = await call('POST', 'experiments/create', { name: other.slug });
    const foreignRun = (
      await call('POST', 'runs/create', { experiment_id: experiment.body.experiment_id })
    ).body.run.info.run_id;
    await expectError(
      call('POST', 'model-versions/create', {
        name: project.slug,
        source: `runs:/${foreignRun}/model`
      }),
      400,
      'INVALID_PARAMETER_VALUE',
      /another project/
    );
  });

  it('updates descriptions and tags, renames, and deletes', async () => {
    const updated = await call('PATCH', 'registered-models/update', {
      name: project.slug,
      description: 'Default risk'
    });
    expect(updated.body.registered_model.description).toBe('Default risk');
    await call('PATCH', 'model-versions/update', {
      name: project.slug,
      version: '1',
      description: 'first try'
    });
    await call('POST', 'model-versions/set-tag', {
      name: project.slug,
      version: '1',
      key: 'validated',
      value: 'yes'
    });
    const version = await call('GET', 'model-versions/get', { name: project.slug, version: '1' });
    expect(version.body.model_version).toEqual(
      expect.objectContaining({
        description: 'first try',
        tags: [
          { key: 'algorithm', value: 'xgboost' },
          { key: 'validated', value: 'yes' }
        ]
      })
    );
    await call('DELETE', 'model-versions/delete-tag', { name: project.slug, version: '1', key: 'validated' });
    await call('POST', 'registered-models/set-tag', { name: project.slug, key: 'owner', value: 'risk' });
    await call('DELETE', 'registered-models/delete-tag', { name: project.slug, key: 'owner' });

    const scratch = `${project.slug}/scratch`;
    await call('POST', 'registered-models/create', { name: scratch });
    await call('POST', 'model-versions/create', { name: scratch, source: 's3://bucket/model' });
    const renamed = await call('POST', 'registered-models/rename', {
      name: scratch,
      new_name: `${project.slug}/kept`
    });
    expect(renamed.body.registered_model.name).toBe(`${project.slug}/kept`);
    const moved = await call('GET', 'model-versions/get', { name: `${project.slug}/kept`, version: '1' });
    expect(moved.body.model_version.name).toBe(`${project.slug}/kept`);
    await expectError(
      call('POST', 'registered-models/rename', { name: `${project.slug}/kept`, new_name: project.slug }),
      400,
      'RESOURCE_ALREADY_EXISTS'
    );
    expect((await call('DELETE', 'registered-models/delete', { name: `${project.slug}/kept` })).status).toBe(200);
    await expectError(
      call('GET', 'registered-models/get', { name: `${project.slug}/kept` }),
      404,
      'RESOURCE_DOES_NOT_EXIST',
      /Registered Model with name=.* not found/
    );
  });

  it('shows the project card counts: active runs and registered models', async () => {
    const res = await t.api(alice, 'GET', `/api/v1/projects/${project.id}`);
    expect(res.body).toEqual(expect.objectContaining({ run_count: 1, model_count: 1 }));
  });

  it('answers the TrackingStore questions of the jobs runner', async () => {
    const store = t.tracking.store;
    const model = await store.getOrCreateProjectModel(alice.claims, project);
    expect(model.name).toBe(project.slug);
    const latest = await store.getLatestModelVersion(alice.claims, project.slug);
    expect(latest?.version).toBe('4');
    const fresh = await t.project(alice, 'Fresh One');
    const created = await store.getOrCreateProjectModel(alice.claims, fresh);
    expect(created.tags).toEqual([{ key: 'insighter.project_id', value: fresh.id }]);
    expect(await store.getLatestModelVersion(alice.claims, fresh.slug)).toBeUndefined();
    // A source among the project's own artifacts (another project's is refused).
    const freshExperiment = await call('POST', 'experiments/create', { name: fresh.slug });
    const next = await store.createModelVersion(alice.claims, {
      name: fresh.slug,
      source: `mlflow-artifacts:/${freshExperiment.body.experiment_id}/r/artifacts/model`
    });
    expect(next.version).toBe('1');
    expect(
      (await store.searchModelVersions(alice.claims, `name = '${fresh.slug}'`)).map(v => v.version)
    ).toEqual(['1']);
  });
});
