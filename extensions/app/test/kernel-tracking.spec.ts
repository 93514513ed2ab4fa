/**
 * `insighter.tracking` in real kernels of a real Insighter Lab (real
 * sidecar): a notebook's run lands in its project's experiment through
 * MLflow's REST API, with its params, metric history, tags and artifacts,
 * as MLflow's own `runs/search` and `metrics/get-history` report them; a
 * block that raises ends FAILED with the reason; outside a project folder the
 * helper says what to do. The same calls go to any MLflow server given by
 * `set_tracking_uri` (here the sidecar itself, as a script outside the lab).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { Kernel } from './support/kernel';
import { REPO_ROOT, RunningLab, startLab } from './support/lab';

const PASSWORD = 'engine1843';
const SLUG = 'churn-lab';

let lab: RunningLab;
let anonKey: string;
let token: string;
let projectId: string;
let kernel: Kernel;

function sidecar(relative: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${lab.apiPort}/${relative}`, init);
}

async function call<T>(
  method: string,
  relative: string,
  body?: unknown
): Promise<T> {
  const response = await sidecar(relative, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json'
    },
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `${method} ${relative} answered ${response.status}: ${text}`
    );
  }
  return JSON.parse(text) as T;
}

interface IRun {
  info: {
    run_id: string;
    run_name: string;
    experiment_id: string;
    status: string;
    end_time?: number;
  };
  data: {
    params?: { key: string; value: string }[];
    metrics?: { key: string; value: number; step: number }[];
    tags?: { key: string; value: string }[];
  };
}

async function projectExperiment(): Promise<{
  experiment_id: string;
  tags: { key: string; value: string }[];
}> {
  const { experiment } = await call<{
    experiment: {
      experiment_id: string;
      tags: { key: string; value: string }[];
    };
  }>('GET', `api/2.0/mlflow/experiments/get-by-name?experiment_name=${SLUG}`);
  return experiment;
}

async function runNamed(name: string): Promise<IRun> {
  const experiment = await projectExperiment();
  const { runs } = await call<{ runs?: IRun[] }>(
    'POST',
    'api/2.0/mlflow/runs/search',
    {
      experiment_ids: [experiment.experiment_id],
      filter: `attributes.run_name = '${name}'`
    }
  );
  expect(runs).toHaveLength(1);
  return runs![0];
}

function tagsOf(run: IRun): Record<string, string> {
  return Object.fromEntries((run.data.tags ?? []).map(t => [t.key, t.value]));
}

beforeAll(async () => {
  lab = await startLab({ env: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });
  const config = (await (await sidecar('api/v1/config')).json()) as {
    supabase_anon_key: string;
  };
  anonKey = config.supabase_anon_key;
  const signup = await sidecar('auth/v1/signup', {
    method: 'POST',
    headers: { apikey: anonKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      email: `grace.${Date.now()}@example.com`,
      password: PASSWORD,
      data: { full_name: 'Grace Hopper' }
    })
  });
  expect(signup.status).toBe(200);
  token = ((await signup.json()) as { access_token: string }).access_token;
  const project = await call<{ id: string; slug: string }>(
    'POST',
    'api/v1/projects',
    { name: 'Churn Lab', description: '', visibility: 'private' }
  );
  expect(project.slug).toBe(SLUG);
  projectId = project.id;
  mkdirSync(path.join(lab.dataDir, 'notebooks', 'projects', SLUG), {
    recursive: true
  });
  // What the page does after sign-in.
  const deposit = await lab.fetch('insighter-lab/kernel-session', {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ access_token: token })
  });
  expect(deposit.status).toBe(204);
  kernel = await Kernel.start(lab, `projects/${SLUG}`);
});

afterAll(async () => {
  await kernel?.shutdown();
  await lab?.stop();
});

describe('insighter.tracking in a kernel', () => {
  it("logs a run with params, a metric per step, tags and artifacts to the project's experiment", async () => {
    const { stdout } = await kernel.run(
      [
        'import json, os, insighter',
        'from insighter import tracking',
        'with open("notes.txt", "w") as f: f.write("depth 4 looks best\\n")',
        'os.makedirs("plots/curves", exist_ok=True)',
        'with open("plots/curves/auc.csv", "w") as f: f.write("step,auc\\n0,0.5\\n")',
        'with tracking.start_run(run_name="xgb depth 4", tags={"team": "risk"}) as run:',
        '    assert tracking.active_run() is run',
        '    tracking.log_param("max_depth", 4)',
        '    tracking.log_params({"eta": 0.1, "objective": "binary:logistic"})',
        '    for step in range(5):',
        '        tracking.log_metric("validation_auc", 0.5 + step / 10, step=step)',
        '    tracking.log_metrics({"accuracy": 0.8, "loss": float("nan")})',
        '    tracking.set_tag("stage", "baseline")',
        '    tracking.log_artifact("notes.txt")',
        '    tracking.log_artifact("notes.txt", artifact_path="docs/v1")',
        '    tracking.log_artifacts("plots", artifact_path="figures")',
        'print(json.dumps({"id": run.info.run_id, "status": run.info.status, "active": tracking.active_run() is None}))'
      ].join('\n')
    );
    const logged = JSON.parse(stdout) as {
      id: string;
      status: string;
      active: boolean;
    };
    expect(logged).toMatchObject({ status: 'FINISHED', active: true });

    const experiment = await projectExperiment();
    expect(experiment.tags).toContainEqual({
      key: 'insighter.project_id',
      value: projectId
    });
    const run = await runNamed('xgb depth 4');
    expect(run.info.run_id).toBe(logged.id);
    expect(run.info.status).toBe('FINISHED');
    expect(run.info.end_time).toBeGreaterThan(0);
    expect(
      Object.fromEntries((run.data.params ?? []).map(p => [p.key, p.value]))
    ).toEqual({ max_depth: '4', eta: '0.1', objective: 'binary:logistic' });
    expect(tagsOf(run)).toMatchObject({
      team: 'risk',
      stage: 'baseline',
      'mlflow.runName': 'xgb depth 4',
      'mlflow.source.type': 'NOTEBOOK'
    });
    const latest = Object.fromEntries(
      (run.data.metrics ?? []).map(m => [m.key, m.value])
    );
    expect(latest.validation_auc).toBeCloseTo(0.9);
    expect(latest.accuracy).toBeCloseTo(0.8);
    expect(Number.isNaN(Number(latest.loss))).toBe(true);

    const { metrics } = await call<{
      metrics: { value: number; step: number }[];
    }>(
      'GET',
      `api/2.0/mlflow/metrics/get-history?run_id=${run.info.run_id}&metric_key=validation_auc`
    );
    expect(
      metrics
        .sort((a, b) => a.step - b.step)
        .map(m => [m.step, Math.round(m.value * 10) / 10])
    ).toEqual([
      [0, 0.5],
      [1, 0.6],
      [2, 0.7],
      [3, 0.8],
      [4, 0.9]
    ]);

    const listed = async (folder?: string) =>
      (
        await call<{ files?: { path: string; is_dir: boolean }[] }>(
          'GET',
          `api/2.0/mlflow/artifacts/list?run_id=${run.info.run_id}${folder ? `&path=${folder}` : ''}`
        )
      ).files ?? [];
    expect((await listed()).map(f => f.path).sort()).toEqual([
      'docs',
      'figures',
      'notes.txt'
    ]);
    expect((await listed('docs/v1')).map(f => f.path)).toEqual([
      'docs/v1/notes.txt'
    ]);
    expect((await listed('figures/curves')).map(f => f.path)).toEqual([
      'figures/curves/auc.csv'
    ]);
    const download = await sidecar(
      `api/2.0/mlflow-artifacts/artifacts/${run.info.experiment_id}/${run.info.run_id}/artifacts/docs/v1/notes.txt`,
      { headers: { Authorization: `Bearer ${token}` } }
    );
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('depth 4 looks best\n');
  });

  it('ends a block that raises FAILED, with the reason, and lets the error through', async () => {
    const outcome = await kernel.execute(
      [
        'with insighter.tracking.start_run(run_name="broken"):',
        '    insighter.tracking.log_metric("validation_auc", 0.7, step=0)',
        '    raise ValueError("the target column is constant")'
      ].join('\n')
    );
    expect(outcome.error).toEqual({
      ename: 'ValueError',
      evalue: 'the target column is constant'
    });
    const run = await runNamed('broken');
    expect(run.info.status).toBe('FAILED');
    expect(tagsOf(run)['insighter.error']).toBe(
      'ValueError: the target column is constant'
    );
    const after = await kernel.run('print(insighter.tracking.active_run())');
    expect(after.stdout).toBe('None\n');
  });

  it('starts a run when logging without one, refuses a second active run, and ends it with end_run', async () => {
    const { stdout } = await kernel.run(
      [
        'insighter.tracking.log_metric("rmse", 3.5)',
        'auto = insighter.tracking.active_run()',
        'try:',
        '    insighter.tracking.start_run(run_name="second")',
        'except insighter.InsighterError as error:',
        '    print(type(error).__name__, "|", error)',
        'with insighter.tracking.start_run(run_name="child", nested=True) as child:',
        '    insighter.tracking.log_param("fold", 1)',
        'insighter.tracking.end_run()',
        'print(auto.info.run_id, auto.info.status, child.info.status, insighter.tracking.active_run())'
      ].join('\n')
    );
    const [refusal, ended] = stdout.trim().split('\n');
    expect(refusal).toMatch(
      /^InsighterError \| Run '.+' \([0-9a-f]{32}\) is still active\. End it with insighter\.tracking\.end_run\(\), or pass nested=True/
    );
    const [runId, status, childStatus, active] = ended.split(' ');
    expect([status, childStatus, active]).toEqual([
      'FINISHED',
      'FINISHED',
      'None'
    ]);
    const child = await runNamed('child');
    expect(tagsOf(child)['mlflow.parentRunId']).toBe(runId);
  });

  it("surfaces MLflow's own refusal: a param logged again with another value", async () => {
    const outcome = await kernel.execute(
      [
        'with insighter.tracking.start_run(run_name="twice"):',
        '    insighter.tracking.log_param("max_depth", 4)',
        '    insighter.tracking.log_param("max_depth", 6)'
      ].join('\n')
    );
    expect(outcome.error?.ename).toBe('ApiError');
    expect(outcome.error?.evalue).toMatch(/max_depth/);
    expect(outcome.error?.evalue).not.toMatch(/^HTTP \d+$/);
    const code = await kernel.run(
      [
        'try:',
        '    with insighter.tracking.start_run(run_name="twice again"):',
        '        insighter.tracking.log_params({"a": 1})',
        '        insighter.tracking.log_params({"a": 2})',
        'except insighter.ApiError as error:',
        '    print(error.status, error.code)'
      ].join('\n')
    );
    expect(code.stdout).toBe('400 INVALID_PARAMETER_VALUE\n');
    expect((await runNamed('twice')).info.status).toBe('FAILED');
  });

  it('says what to do outside a project folder, and project= picks the project there', async () => {
    const outside = await Kernel.start(lab, '');
    try {
      const outcome = await outside.execute(
        'import insighter\ninsighter.tracking.start_run()'
      );
      expect(outcome.error).toEqual({
        ename: 'InsighterError',
        evalue: `This notebook is not in a project's folder (projects/<slug>/), so there is no project experiment to log runs to. Open it from your project's folder, or pass project= one of: '${SLUG}' (Churn Lab).`
      });
      await outside.run(
        [
          'with insighter.tracking.start_run(run_name="from outside", project="Churn Lab"):',
          '    insighter.tracking.log_metric("accuracy", 0.75)'
        ].join('\n')
      );
    } finally {
      await outside.shutdown();
    }
    expect((await runNamed('from outside')).info.status).toBe('FINISHED');
  });
});

describe('insighter.tracking against any MLflow server', () => {
  it('sends the same REST calls to the server set_tracking_uri names', () => {
    const folder = path.join(lab.dataDir, 'notebooks', 'projects', SLUG);
    const result = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        [
          'import os, insighter',
          `insighter.tracking.set_tracking_uri("http://127.0.0.1:${lab.apiPort}")`,
          'with insighter.tracking.start_run(run_name="script run") as run:',
          '    insighter.tracking.log_metrics({"auc": 0.81}, step=3)',
          'print(run.info.status)'
        ].join('\n')
      ],
      {
        cwd: folder,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          PYTHONPATH: path.join(REPO_ROOT, 'jupyter-config'),
          MLFLOW_TRACKING_TOKEN: token
        },
        encoding: 'utf8',
        timeout: 60_000
      }
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('FINISHED\n');
    expect(result.stdout + result.stderr).not.toContain(token);
    return runNamed('script run').then(run => {
      expect(tagsOf(run)['mlflow.source.type']).toBe('LOCAL');
      expect(run.data.metrics).toEqual([
        expect.objectContaining({ key: 'auc', value: 0.81, step: 3 })
      ]);
    });
  });
});
