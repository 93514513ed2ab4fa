import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  PYTHON,
  scriptError,
  TRAIN_COMMAND,
  TRAINING_PYTHON_DIR,
  TrainExit
} from '../../src/jobs/training-package';
import { FAKE_RUN_ID, startFakeMlflow, type FakeMlflow } from './fake-mlflow';

/**
 * The training script on its own (server/python/insighter_train), against a
 * fake MLflow server: what it logs, uploads and registers, and how it fails.
 * The real sidecar and both runners are in the jobs component tests.
 */
const GERMAN_CREDIT =
  process.env.INSIGHTER_TEST_GERMAN_CREDIT ??
  '/work/shared/data/german_credit.csv';
const TOKEN = 'job-token-abc123';

interface ScriptRun {
  code: number | null;
  stdout: string[];
  stderr: string[];
}

function runScript(
  fake: FakeMlflow,
  spec: unknown,
  dataset = 'german_credit'
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(TRAIN_COMMAND[0], TRAIN_COMMAND.slice(1), {
      cwd: os.tmpdir(),
      env: {
        PATH: '/usr/bin:/bin',
        PYTHONPATH: TRAINING_PYTHON_DIR,
        PYTHONDONTWRITEBYTECODE: '1',
        OMP_NUM_THREADS: '1',
        MLFLOW_TRACKING_URI: fake.url,
        MLFLOW_TRACKING_TOKEN: TOKEN,
        MLFLOW_RUN_ID: FAKE_RUN_ID,
        INSIGHTER_DATASET_URL: `${fake.url}/datasets/${dataset}.csv`,
        INSIGHTER_TRAIN_SPEC: JSON.stringify(spec)
      },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let out = '';
    let err = '';
    child.stdout.on('data', chunk => (out += chunk));
    child.stderr.on('data', chunk => (err += chunk));
    child.once('error', reject);
    child.once('close', code =>
      resolve({
        code,
        stdout: out.split('\n').filter(Boolean),
        stderr: err.split('\n').filter(Boolean)
      })
    );
  });
}

const spec = (overrides: Record<string, unknown> = {}) => ({
  target: 'Class',
  algorithm: 'xgboost',
  params: {},
  model_name: 'credit-risk',
  dataset: {
    id: 'd0c5a1e2-0000-4000-8000-000000000001',
    version: 2,
    name: 'german_credit',
    sha256: 'ab'.repeat(32)
  },
  ...overrides
});

const posts = (fake: FakeMlflow, endpoint: string) =>
  fake.requests
    .filter(
      r => r.method === 'POST' && r.path === `/api/2.0/mlflow/${endpoint}`
    )
    .map(r => r.body);

const loggedMetrics = (fake: FakeMlflow) =>
  posts(fake, 'runs/log-batch').flatMap(b => b.metrics ?? []);
const loggedParams = (fake: FakeMlflow) =>
  Object.fromEntries(
    posts(fake, 'runs/log-batch')
      .flatMap(b => b.params ?? [])
      .map((p: { key: string; value: string }) => [p.key, p.value])
  );
const loggedTags = (fake: FakeMlflow) =>
  Object.fromEntries(
    posts(fake, 'runs/log-batch')
      .flatMap(b => b.tags ?? [])
      .map((p: { key: string; value: string }) => [p.key, p.value])
  );

describe('insighter_train', () => {
  let fake: FakeMlflow;
  let scratch: string;

  beforeEach(async () => {
    fake = await startFakeMlflow(TOKEN);
    fake.serveDataset('german_credit', fs.readFileSync(GERMAN_CREDIT));
  });

  afterEach(async () => {
    await fake.close();
  });

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-train-test-'));
  });

  afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('trains XGBoost on german_credit: params, a curve per round, final metrics, artifacts, input, a registered version', async () => {
    const run = await runScript(
      fake,
      spec({ params: { n_estimators: 40, max_depth: 3 } })
    );
    expect(run.stderr.filter(l => !/warn/i.test(l))).toEqual([]);
    expect(run.code).toBe(TrainExit.ok);
    expect(run.stdout[0]).toMatch(/^insighter_train: starting/);
    expect(run.stdout).toContain("registered model 'credit-risk' version 1");

    // Every call carried the token; the output never shows it.
    expect(
      fake.requests.every(r => r.authorization === `Bearer ${TOKEN}`)
    ).toBe(true);
    expect([...run.stdout, ...run.stderr].join('\n')).not.toContain(TOKEN);

    expect(loggedParams(fake)).toEqual({
      algorithm: 'xgboost',
      target: 'Class',
      dataset_id: 'd0c5a1e2-0000-4000-8000-000000000001',
      dataset_version: '2',
      n_estimators: '40',
      max_depth: '3',
      learning_rate: '0.3',
      subsample: '1',
      colsample_bytree: '1',
      min_child_weight: '1',
      reg_lambda: '1',
      test_size: '0.2',
      random_state: '42',
      task: 'classification',
      train_rows: '800',
      validation_rows: '200'
    });

    const metrics = loggedMetrics(fake);
    const curve = (key: string) =>
      metrics
        .filter((m: { key: string }) => m.key === key)
        .map((m: { step: number }) => m.step);
    expect(curve('validation_auc')).toEqual([...Array(40).keys()]);
    expect(curve('validation_logloss')).toEqual([...Array(40).keys()]);
    const final = Object.fromEntries(
      metrics
        .filter(
          (m: { step: number; key: string }) => !m.key.startsWith('validation_')
        )
        .map((m: { key: string; value: number }) => [m.key, m.value])
    );
    expect(Object.keys(final).sort()).toEqual([
      'accuracy',
      'auc',
      'f1',
      'log_loss',
      'precision',
      'recall'
    ]);
    expect(final.accuracy).toBeGreaterThan(0.65);
    expect(final.auc).toBeGreaterThan(0.7);
    // The last value of the curve is the final AUC.
    const aucs = metrics.filter(
      (m: { key: string }) => m.key === 'validation_auc'
    );
    expect(aucs[aucs.length - 1].value).toBeCloseTo(final.auc, 6);

    expect([...fake.artifacts.keys()].sort()).toEqual([
      'confusion_matrix.json',
      'feature_importance.json',
      'model/MLmodel',
      'model/input_example.json',
      // The safe format (issue 12): the pipeline's parameters, XGBoost's own UBJSON.
      'model/insighter_model.json',
      'model/model.pkl',
      'model/python_env.yaml',
      'model/requirements.txt',
      'model/xgboost_model.ubj'
    ]);
    const confusion = JSON.parse(
      fake.artifacts.get('confusion_matrix.json')!.toString()
    );
    expect(confusion.labels).toEqual(['Bad', 'Good']);
    expect(
      confusion.matrix.flat().reduce((a: number, b: number) => a + b, 0)
    ).toBe(200);
    const importance = JSON.parse(
      fake.artifacts.get('feature_importance.json')!.toString()
    );
    expect(importance.features).toHaveLength(61);

    // The model loads and predicts labels from raw rows, as MLflow's sklearn flavor would.
    const dir = path.join(scratch, 'model');
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of fake.artifacts) {
      if (name.startsWith('model/')) {
        fs.writeFileSync(path.join(dir, name.slice('model/'.length)), bytes);
      }
    }
    const check = execFileSync(
      PYTHON,
      [
        '-c',
        [
          'import json, pickle, sys, yaml, numpy as np, pandas as pd',
          'from insighter_serve.inputs import parse_json, read_signature',
          'from insighter_serve.model import ServedModel',
          'def safe_same(d, m, ex, model):',
          '    batch = parse_json({"dataframe_split": ex}, read_signature(m))',
          '    safe = ServedModel(d, loader="json")._proba(batch)',
          '    return bool(np.allclose(safe, model.predict_proba(batch.frame()), rtol=1e-7, atol=1e-10))',
          'd = sys.argv[1]',
          'm = yaml.safe_load(open(d + "/MLmodel"))',
          'inputs = json.loads(m["signature"]["inputs"])',
          'ex = json.load(open(d + "/input_example.json"))',
          'model = pickle.load(open(d + "/" + m["flavors"]["sklearn"]["pickled_model"], "rb"))',
          'frame = pd.DataFrame(ex["data"], columns=ex["columns"])',
          'print(json.dumps({"flavors": sorted(m["flavors"]), "run_id": m["run_id"], "n_inputs": len(inputs),',
          '  "first": inputs[0], "outputs": json.loads(m["signature"]["outputs"]), "rows": len(frame),',
          '  "classes": [str(c) for c in model.classes_], "predictions": [str(p) for p in model.predict(frame)],',
          '  "meta": m["metadata"]["insighter"]["target"],',
          // The safe format (loaded without the pickle) answers what the pickle answers.
          '  "safe_same": safe_same(d, m, ex, model)}))'
        ].join('\n'),
        dir
      ],
      {
        env: {
          PATH: '/usr/bin:/bin',
          PYTHONPATH: TRAINING_PYTHON_DIR,
          PYTHONDONTWRITEBYTECODE: '1'
        }
      }
    ).toString();
    const model = JSON.parse(check);
    expect(model).toMatchObject({
      flavors: ['insighter', 'python_function', 'sklearn'],
      run_id: FAKE_RUN_ID,
      n_inputs: 61,
      first: { name: 'Duration', type: 'long', required: true },
      outputs: [{ type: 'string', required: true }],
      rows: 5,
      classes: ['Bad', 'Good'],
      meta: 'Class',
      safe_same: true
    });
    expect(
      model.predictions.every((p: string) => p === 'Good' || p === 'Bad')
    ).toBe(true);

    expect(posts(fake, 'runs/log-inputs')).toEqual([
      {
        run_id: FAKE_RUN_ID,
        datasets: [
          {
            tags: [{ key: 'mlflow.data.context', value: 'training' }],
            dataset: expect.objectContaining({
              name: 'german_credit',
              digest: 'ab'.repeat(16),
              source_type: 'insighter'
            })
          }
        ]
      }
    ]);
    const [input] = posts(fake, 'runs/log-inputs')[0].datasets;
    expect(JSON.parse(input.dataset.source)).toEqual({
      dataset_id: 'd0c5a1e2-0000-4000-8000-000000000001',
      version: 2,
      sha256: 'ab'.repeat(32)
    });
    expect(
      JSON.parse(input.dataset.schema).mlflow_colspec.slice(9, 11)
    ).toEqual([
      { type: 'string', name: 'Class', required: true },
      { type: 'long', name: 'CheckingAccountStatus.lt.0', required: true }
    ]);
    expect(JSON.parse(input.dataset.profile)).toEqual({
      num_rows: 1000,
      num_elements: 62000
    });
    expect(posts(fake, 'model-versions/create')).toEqual([
      {
        name: 'credit-risk',
        source: `runs:/${FAKE_RUN_ID}/model`,
        run_id: FAKE_RUN_ID
      }
    ]);
    expect(posts(fake, 'runs/update')).toEqual([
      expect.objectContaining({
        run_id: FAKE_RUN_ID,
        status: 'FINISHED',
        end_time: expect.any(Number)
      })
    ]);
  });

  it('trains a random forest regressor with a curve per batch of trees, and logistic regression', async () => {
    const forest = await runScript(
      fake,
      spec({
        target: 'Amount',
        task: 'regression',
        algorithm: 'random_forest',
        params: { n_estimators: 20, max_depth: 5 }
      })
    );
    expect(forest.code).toBe(TrainExit.ok);
    const metrics = loggedMetrics(fake);
    expect(
      metrics
        .filter((m: { key: string }) => m.key === 'validation_rmse')
        .map((m: { step: number }) => m.step)
    ).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(
      metrics
        .filter((m: { key: string }) => ['rmse', 'mae', 'r2'].includes(m.key))
        .map((m: { key: string }) => m.key)
        .sort()
    ).toEqual(['mae', 'r2', 'rmse']);
    expect(fake.artifacts.has('confusion_matrix.json')).toBe(false);
    // Forests are written in the safe format too: their trees as JSON.
    expect(fake.artifacts.has('model/insighter_model.json')).toBe(true);
    expect(forest.stdout.join('\n')).toMatch(/model: safe format written \(insighter_model\.json\), checked against the pipeline on \d+ rows/);
    expect(
      JSON.parse(
        fake.artifacts
          .get('model/MLmodel')!
          .toString()
          .match(/outputs: '(.*)'/)![1]
      )
    ).toEqual([{ type: 'double', required: true }]);

    fake.requests.length = 0;
    const logistic = await runScript(
      fake,
      spec({ algorithm: 'logistic_regression', params: { C: 0.5 } })
    );
    expect(logistic.code).toBe(TrainExit.ok);
    expect(logistic.stdout).toContain(
      "registered model 'credit-risk' version 2"
    );
    expect(
      loggedMetrics(fake)
        .map((m: { key: string }) => m.key)
        .sort()
    ).toEqual(['accuracy', 'auc', 'f1', 'log_loss', 'precision', 'recall']);
  });

  describe('fails clearly, and marks the run failed with the reason', () => {
    const expectFailure = async (
      run: ScriptRun,
      code: number,
      reason: RegExp
    ) => {
      expect(run.code).toBe(code);
      const said = scriptError(run.stderr);
      expect(said).toMatch(reason);
      expect(loggedTags(fake)['insighter.error']).toBe(said);
      expect(posts(fake, 'runs/update')).toEqual([
        expect.objectContaining({ status: 'FAILED' })
      ]);
      expect(posts(fake, 'model-versions/create')).toEqual([]);
    };

    it('an unknown target column', async () => {
      await expectFailure(
        await runScript(fake, spec({ target: 'Klass' })),
        TrainExit.badInput,
        /^The target column "Klass" is not in the dataset\. Its columns are: Duration, Amount, .* \(and 42 more\)\.$/
      );
    });

    it('a text target for a regressor', async () => {
      await expectFailure(
        await runScript(fake, spec({ task: 'regression' })),
        TrainExit.badInput,
        /^The target column "Class" holds text \(e\.g\. 'Good', 'Bad'\): a regressor needs numbers\./
      );
    });

    it('a target with one class only', async () => {
      fake.serveDataset('constant', 'x,y\n1,a\n2,a\n3,a\n4,a\n5,a\n');
      await expectFailure(
        await runScript(fake, spec({ target: 'y' }), 'constant'),
        TrainExit.badInput,
        /^The target column "y" has only one value \('a'\): a classifier needs at least two classes/
      );
    });

    it('hyperparameters out of range, every one named, before any data is fetched', async () => {
      await expectFailure(
        await runScript(
          fake,
          spec({ params: { n_estimators: 0, learning_rate: 1.5, depth: 3 } })
        ),
        TrainExit.badInput,
        /^XGBoost has no hyperparameter 'depth': it takes n_estimators, .*\. n_estimators must be a whole number from 1 to 5000\. learning_rate must be a number greater than 0 and at most 1\.$/
      );
      expect(fake.requests.some(r => r.path.startsWith('/datasets/'))).toBe(
        false
      );
    });

    it('a dataset deleted before the job read it', async () => {
      await expectFailure(
        await runScript(fake, spec(), 'deleted'),
        TrainExit.dataset,
        /^The dataset is gone: Dataset not found\. It was deleted/
      );
    });

    it('a crash: the traceback on stderr, the exception as the reason', async () => {
      fake.runInfo = {
        run_id: FAKE_RUN_ID,
        experiment_id: '7',
        status: 'RUNNING'
      };
      const run = await runScript(fake, spec());
      expect(run.stderr).toContain('Traceback (most recent call last):');
      await expectFailure(
        run,
        TrainExit.crash,
        /^The training crashed: KeyError: 'artifact_uri'$/
      );
    });
  });
});
