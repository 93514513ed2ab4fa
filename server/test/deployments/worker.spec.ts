import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PYTHON, TRAINING_PYTHON_DIR } from '../../src/jobs/training-package';
import { fixtureModel, type FixtureKind } from './harness';

/**
 * The scoring worker on its own (python3 -m insighter_serve), as
 * `mlflow models serve` would be used: MLflow's routes and error answers,
 * and its fast path (the pipeline's arithmetic replayed with numpy) answering
 * exactly what the pipeline answers — on 200 rows with missing values, for
 * every estimator the training script fits and for one-hot and ordinal text
 * columns.
 */
interface Worker {
  process: ChildProcess;
  url: string;
}

async function startWorker(modelDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Worker> {
  const child = spawn(PYTHON, ['-m', 'insighter_serve', '--model-dir', modelDir, ...extra], {
    env: { PATH: '/usr/bin:/bin', PYTHONPATH: TRAINING_PYTHON_DIR, OMP_NUM_THREADS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let stderr = '';
  child.stderr?.on('data', chunk => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('exit', code => reject(new Error(`worker exited ${code}: ${stderr}`)));
    readline.createInterface({ input: child.stdout! }).once('line', line => {
      const ready = JSON.parse(line) as { event: string; port: number };
      child.removeAllListeners('exit');
      resolve({ process: child, url: `http://127.0.0.1:${ready.port}` });
    });
  });
}

async function stopWorker(worker: Worker | undefined): Promise<void> {
  if (!worker || worker.process.exitCode !== null) {
    return;
  }
  const done = new Promise(resolve => worker.process.once('exit', resolve));
  worker.process.kill('SIGTERM');
  await done;
}

const invoke = async (worker: Worker, body: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${worker.url}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body
  });
  return { status: res.status, body: (await res.json()) as { predictions?: { probabilities: Record<string, number> }[]; error_code?: string; message?: string } };
};

describe.each<FixtureKind>(['logistic', 'xgboost', 'forest', 'categorical'])('the scoring worker with the %s model', kind => {
  let fast: Worker | undefined;
  let slow: Worker | undefined;
  let modelDir: string;

  beforeAll(async () => {
    modelDir = await fixtureModel(kind);
    [fast, slow] = await Promise.all([startWorker(modelDir), startWorker(modelDir, ['--no-fast-path'])]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopWorker(fast), stopWorker(slow)]);
  });

  it('uses its fast path, checked against the pipeline at load', async () => {
    const meta = (await (await fetch(`${fast!.url}/metadata`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ kind: 'classifier', classes: ['Bad', 'Good'], fast_path: true });
    expect(meta.fast_path_note).toMatch(/^ColumnTransformer → \w+, checked on \d+ rows$/);
    const plain = (await (await fetch(`${slow!.url}/metadata`)).json()) as Record<string, unknown>;
    expect(plain).toMatchObject({ fast_path: false, fast_path_note: 'disabled' });
  });

  it('answers exactly what the pipeline answers, in one batch and row by row', async () => {
    const rows = JSON.parse(fs.readFileSync(path.join(modelDir, 'test_rows.json'), 'utf8')) as {
      columns: string[];
      data: unknown[][];
    };
    // Missing values everywhere: each row loses one column's value.
    const data = rows.data.map((row, i) => row.map((v, j) => (j === i % row.length ? null : v)));
    const body = JSON.stringify({ dataframe_split: { columns: rows.columns, data } });
    const [a, b] = await Promise.all([invoke(fast!, body), invoke(slow!, body)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const probabilities = (answer: typeof a) => answer.body.predictions!.map(p => p.probabilities.Good);
    const expected = probabilities(b);
    probabilities(a).forEach((p, i) => expect(p).toBeCloseTo(expected[i], 12));
    expect(a.body.predictions!.map(p => (p as { prediction?: string }).prediction)).toEqual(
      b.body.predictions!.map(p => (p as { prediction?: string }).prediction)
    );
    const single = await invoke(fast!, JSON.stringify({ dataframe_split: { columns: rows.columns, data: [data[7]] } }));
    expect(single.body.predictions![0].probabilities.Good).toBeCloseTo(expected[7], 12);
  });
});

describe("the scoring worker's MLflow routes", () => {
  let worker: Worker | undefined;

  beforeAll(async () => {
    worker = await startWorker(await fixtureModel('logistic'), [], { INSIGHTER_SERVE_TOKEN: 'sidecar-secret' });
  }, 120_000);

  afterAll(async () => {
    await stopWorker(worker);
  });

  it('answers /ping, /health and /version to anyone', async () => {
    for (const route of ['/ping', '/health']) {
      const res = await fetch(`${worker!.url}${route}`);
      expect(res.status).toBe(200);
    }
    expect(await (await fetch(`${worker!.url}/version`)).text()).toMatch(/^insighter-serve/);
  });

  it('demands its token for predictions and metadata', async () => {
    const refused = await invoke(worker!, '{}');
    expect(refused).toEqual({
      status: 401,
      body: { error_code: 'UNAUTHENTICATED', message: expect.stringMatching(/X-Insighter-Worker-Token/) }
    });
    expect((await fetch(`${worker!.url}/metadata`)).status).toBe(401);
  });

  it("refuses bad input as MLflow's scoring server does", async () => {
    const token = { 'x-insighter-worker-token': 'sidecar-secret' };
    const badType = await fetch(`${worker!.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...token },
      body: 'x'
    });
    expect(badType.status).toBe(415);
    expect(await badType.json()).toEqual({
      error_code: 'BAD_REQUEST',
      message: "This predictor only supports the following content types: ['application/json', 'text/csv']. Got 'text/plain'."
    });
    const cases: [string, RegExp][] = [
      ['{"dataframe_split": ', /not valid JSON/],
      ['{"columns": []}', /exactly one of "dataframe_split"/],
      ['{"dataframe_records": [{"Duration": 1}]}', /Row 1 of "dataframe_records": missing columns "Amount"/],
      ['{"dataframe_split": {"columns": ["Duration"], "data": [["x"]]}}', /^Missing columns "Amount"/]
    ];
    for (const [body, message] of cases) {
      const res = await invoke(worker!, body, token);
      expect({ status: res.status, code: res.body.error_code, message: res.body.message }).toEqual({
        status: 400,
        code: 'BAD_REQUEST',
        message: expect.stringMatching(message)
      });
    }
    const csv = await fetch(`${worker!.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...token },
      body: 'Duration,Amount\n6,abc\n'
    });
    expect(csv.status).toBe(400);
  });
});
