import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { processServingRunners } from '../../src/deployments/placement';
import { PYTHON, TRAINING_PYTHON_DIR } from '../../src/jobs/training-package';
import {
  creditRows,
  fixtureModel,
  startDeploymentsTestServer,
  type DeploymentsTestServer,
  type SignedInUser
} from '../deployments/harness';
import { BACKENDS } from '../support/postgres';
import { craftedModel, type ProbeConfig } from './model-sandbox-support';

/**
 * Issue 12: a version an Insighter job produced is served from files that
 * execute nothing when loaded, and its worker never unpickles — asserted in
 * the worker itself: under `--loader json` an audit hook refuses every
 * unpickler's `find_class` (what any pickle that runs code needs) and counts
 * them, and the worker reports the count. (`'pickle' in sys.modules` would
 * prove nothing: numpy and pandas import the module themselves.) Where no
 * sandbox runs, such a version is served as a plain process, and any other
 * is refused with 409.
 */
const run = promisify(execFile);

/** A crafted model's errands, all inside a scratch folder: if it ever ran, it would say so there. */
function harmlessProbe(dir: string): ProbeConfig {
  return {
    read: { scratch: dir },
    write: [path.join(dir, 'written')],
    system: path.join(dir, 'system'),
    walk: dir,
    port: 9
  };
}

describe.each(BACKENDS)('the safe format on %s (issue 12)', backend => {
  let t: DeploymentsTestServer;
  let alice: SignedInUser;
  const scratch = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-safe-format-')
  );

  beforeAll(async () => {
    t = await startDeploymentsTestServer({ backend });
    alice = await t.user('Alice');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const deploy = async (projectId: string, version: number) => {
    const res = await t.api(alice, 'POST', '/api/v1/deployments', {
      project_id: projectId,
      version
    });
    expect(res.status).toBe(201);
    return t.waitFor(alice, res.body.id, ['ready', 'failed'], 90_000);
  };

  const predict = async (slug: string) => {
    const res = await t.api(alice, 'POST', `/api/v1/predict/${slug}`, {
      dataframe_split: creditRows(5)
    });
    expect(res.status).toBe(200);
    return res.body.predictions;
  };

  it("serves a job's version without ever unpickling: a crafted model.pkl beside its safe format never runs", async () => {
    const original = await t.project(
      alice,
      `Original ${randomUUID().slice(0, 6)}`,
      ['xgboost']
    );
    // The job's files, with its pickle swapped for one that runs code — registered as the job's.
    const tampered = path.join(scratch, 'tampered');
    fs.cpSync(await fixtureModel('xgboost'), tampered, { recursive: true });
    const crafted = await craftedModel(harmlessProbe(scratch));
    fs.copyFileSync(
      path.join(crafted, 'model.pkl'),
      path.join(tampered, 'model.pkl')
    );
    const project = await t.project(
      alice,
      `Tampered ${randomUUID().slice(0, 6)}`,
      []
    );
    await t.models.register(project.id, project.slug, 1, tampered);

    expect(await deploy(original.id, 1)).toMatchObject({
      status: 'ready',
      loader: 'json',
      sandbox: 'bubblewrap'
    });
    const served = await deploy(project.id, 1);
    expect(served).toMatchObject({
      status: 'ready',
      loader: 'json',
      sandbox: 'bubblewrap',
      error: null
    });
    // Asserted in the worker: the json loader, and no unpickler asked for anything.
    const worker = t.deployments.runtime.endpoint(project.slug)!.worker!;
    expect(worker.metadata).toMatchObject({
      loader: 'json',
      refused_unpickling: 0,
      fast_path: true,
      classes: ['Bad', 'Good']
    });
    expect(fs.readdirSync(scratch).sort()).toEqual(['tampered']);
    // The pickle is no part of the answers: the same as the untouched version's.
    expect(await predict(project.slug)).toEqual(await predict(original.slug));
  }, 180_000);

  it('forbids unpickling in a json worker, and never falls back to the pickle', async () => {
    const crafted = await craftedModel(harmlessProbe(scratch));
    // A folder without the safe format: the json loader refuses it, naming why.
    const refused = await run(
      PYTHON,
      [
        '-m',
        'insighter_serve',
        '--model-dir',
        crafted,
        '--loader',
        'json',
        '--port',
        '0'
      ],
      {
        env: { PATH: '/usr/bin:/bin', PYTHONPATH: TRAINING_PYTHON_DIR },
        timeout: 60_000
      }
    ).catch((err: { code: number; stderr: string; stdout: string }) => err);
    expect(refused).toMatchObject({
      code: 3,
      stdout: '',
      stderr: expect.stringMatching(
        /has no 'insighter' flavor: this model was not written by an Insighter training job/
      )
    });
    expect(refused.stderr).not.toMatch(/PROBE/);
    // The guard itself: with it in place, loading the crafted pickle is refused before its code runs.
    const guarded = await run(
      PYTHON,
      [
        '-c',
        [
          'import pickle, sys',
          'from insighter_serve.no_pickle import forbid_unpickling, refused_unpickling',
          'forbid_unpickling()',
          'try:',
          '    pickle.load(open(sys.argv[1], "rb"))',
          'except RuntimeError as err:',
          '    print(err)',
          'print(refused_unpickling())'
        ].join('\n'),
        path.join(crafted, 'model.pkl')
      ],
      {
        env: { PATH: '/usr/bin:/bin', PYTHONPATH: TRAINING_PYTHON_DIR },
        timeout: 60_000
      }
    );
    expect(guarded.stdout.trim().split('\n')).toEqual([
      'unpickling is forbidden in this worker (it asked for builtins.exec)',
      '1'
    ]);
    expect(fs.readdirSync(scratch).sort()).toEqual(['tampered']);
  }, 120_000);

  it("where no sandbox runs: a job's version is served as a plain process from its safe format, anything else is refused with 409", async () => {
    const dataDir = fs.mkdtempSync(
      path.join(os.tmpdir(), 'insighter-no-sandbox-')
    );
    const bare = await startDeploymentsTestServer({
      backend,
      dataDir,
      runners: processServingRunners(dataDir, '/nonexistent/bwrap')
    });
    try {
      const bob = await bare.user('Bob');
      const project = await bare.project(bob, 'Credit Risk Bare', ['logistic']);
      await bare.models.register(
        project.id,
        project.slug,
        2,
        await fixtureModel('logistic'),
        { builtIn: false }
      );
      const refused = await bare.api(bob, 'POST', '/api/v1/deployments', {
        project_id: project.id,
        version: 2
      });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({
        code: 'sandbox_unavailable',
        message: expect.stringMatching(
          /install bubblewrap \(apt-get install bubblewrap\) or start a Docker engine/
        )
      });
      const created = await bare.api(bob, 'POST', '/api/v1/deployments', {
        project_id: project.id,
        version: 1
      });
      expect(created.status).toBe(201);
      const served = await bare.waitFor(
        bob,
        created.body.id,
        ['ready', 'failed'],
        90_000
      );
      expect(served).toMatchObject({
        status: 'ready',
        loader: 'json',
        sandbox: 'none'
      });
      expect(
        bare.deployments.runtime.endpoint(project.slug)!.worker!.metadata
      ).toMatchObject({
        loader: 'json',
        refused_unpickling: 0
      });
    } finally {
      await bare.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
