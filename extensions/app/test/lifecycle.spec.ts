/**
 * Nothing outlives Insighter: `npm start` on one data dir, with a model
 * deployment serving, a training job running and a kernel computing, is
 * ended each way a machine ends it — SIGTERM and SIGKILL to `npm start`,
 * SIGKILL to the Jupyter server alone and SIGTERM to `npm start` (each with
 * the sidecar's main thread stuck in an endless computation), a second
 * SIGTERM, SIGKILL to the sidecar during a long request (then a script's
 * stop: SIGTERM to the group, SIGKILL three seconds later), and a closed
 * terminal. Each time, within 10 s of the signal, no process of the
 * data dir is left (/proc: its path in a process's environment or command
 * line, and everything under those) and both ports are free; then `npm
 * start` on the same data dir comes up with the project, dataset, runs and
 * deployment intact (the next scenario runs on that start).
 *
 * The scenarios run in order on one data dir: each start checks what the
 * stop before it left.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { Kernel } from './support/kernel';
import {
  freePort,
  randomToken,
  REPO_ROOT,
  RunningLab,
  sleep,
  startLab,
  waitFor
} from './support/lab';
import {
  describeProcesses,
  descendantsOf,
  isRunning,
  portIsFree,
  processesOf
} from './support/process-tree';

const GERMAN_CREDIT =
  process.env.INSIGHTER_TEST_GERMAN_CREDIT ??
  '/work/shared/data/german_credit.csv';
/** The bound: from the signal until nothing of the data dir runs. */
const STOP_BOUND_MS = 10_000;
const PTY_SESSION = path.join(__dirname, 'support', 'pty-session.py');
const BUSY_MAIN_THREAD = path.join(
  REPO_ROOT,
  'server',
  'test',
  'support',
  'busy-main-thread.js'
);
/** Long enough to be caught running by every stop. */
const LONG_TRAINING = { n_estimators: 5000, learning_rate: 0.01, max_depth: 8 };
const STOPPED_IN_ORDER = /^Insighter stopped while the job was running/;
const FOUND_AFTER_RESTART = /restarted while the job was running/;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'insighter-lifecycle-'));
const token = randomToken();
let ports: [number, number];

/** What the data dir must hold after every restart. */
const state = {
  accessToken: '',
  projectId: '',
  slug: '',
  datasetId: '',
  deploymentId: '',
  firstJob: { id: '', runId: '' },
  columns: [] as string[],
  rows: [] as number[][],
  predictions: [] as unknown[],
  /** Jobs a stop ended while they trained, with how their end must read. */
  stoppedJobs: [] as { id: string; runId: string; error: RegExp }[]
};

/** A running `npm start` with its pieces. */
interface Insighter {
  lab: RunningLab;
  /** The process the test started: `npm start`, or the terminal holding it. */
  top: ChildProcess;
  npmPid: number;
  serverPid: number;
  sidecarPid: number;
  kernel: Kernel;
  kernelPid: number;
  /** The job training while the stop comes. */
  job: { id: string; runId: string };
}

function api(
  lab: RunningLab,
  method: string,
  pathname: string,
  body?: unknown,
  init: { contentType?: string } = {}
): Promise<{ status: number; body: Json }> {
  return fetch(`http://127.0.0.1:${lab.apiPort}${pathname}`, {
    method,
    headers: {
      ...(state.accessToken
        ? { authorization: `Bearer ${state.accessToken}` }
        : {}),
      ...(body === undefined
        ? {}
        : { 'content-type': init.contentType ?? 'application/json' })
    },
    body:
      body === undefined || typeof body === 'string'
        ? (body as string | undefined)
        : JSON.stringify(body)
  }).then(async res => ({
    status: res.status,
    body: await res.json().catch(() => undefined)
  }));
}

/** Direct children of `pid` whose command line says `what`. */
function childOf(pid: number, what: string): number | undefined {
  return descendantsOf(pid).find(
    p => p.ppid === pid && p.cmdline.includes(what)
  )?.pid;
}

async function startInsighter(
  options: { terminal?: boolean; env?: Record<string, string> } = {}
): Promise<Omit<Insighter, 'kernel' | 'kernelPid' | 'job'>> {
  const lab = await startLab({
    command: options.terminal
      ? ['/usr/bin/python3', PTY_SESSION, 'npm', 'start']
      : ['npm', 'start'],
    detached: true,
    dataDir,
    ports,
    token,
    env: {
      INSIGHTER_JOBS_RUNNER: 'process',
      INSIGHTER_AUTH_AUTOCONFIRM: 'true',
      ...options.env
    },
    // npm start builds first when the sources changed since the last build.
    timeoutMs: 300_000
  });
  const top = lab.process;
  const npmPid = options.terminal
    ? Number(/^pty-session child (\d+)$/m.exec(lab.output())![1])
    : top.pid!;
  // `exec` all the way: the server is npm's own child.
  const serverPid = childOf(npmPid, 'insighter_lab')!;
  expect(serverPid).toBeDefined();
  const sidecarPid = lab.sidecarPid()!;
  expect(childOf(serverPid, 'main.js')).toBe(sidecarPid);
  return { lab, top, npmPid, serverPid, sidecarPid };
}

/** Everything the data dir held before the stop, checked through the new start. */
async function expectStateIntact(lab: RunningLab): Promise<void> {
  const projects = await api(lab, 'GET', '/api/v1/projects');
  expect(projects.status).toBe(200);
  expect(projects.body.projects.map((p: Json) => p.id)).toContain(
    state.projectId
  );

  const dataset = await api(lab, 'GET', `/api/v1/datasets/${state.datasetId}`);
  expect(dataset.status).toBe(200);
  expect(dataset.body).toMatchObject({ id: state.datasetId, status: 'ready' });

  const first = await api(lab, 'GET', `/api/v1/jobs/${state.firstJob.id}`);
  expect(first.body).toMatchObject({ status: 'succeeded' });
  const firstRun = await api(
    lab,
    'GET',
    `/api/2.0/mlflow/runs/get?run_id=${state.firstJob.runId}`
  );
  expect(firstRun.body.run.info.status).toBe('FINISHED');
  expect(firstRun.body.run.data.metrics.length).toBeGreaterThan(0);
  // A job a stop ended is failed with the reason (a SIGKILLed sidecar's by the next start).
  for (const stopped of state.stoppedJobs) {
    const job = await waitFor(
      `job ${stopped.id} to be failed`,
      async () => {
        const res = await api(lab, 'GET', `/api/v1/jobs/${stopped.id}`);
        return res.body?.status === 'failed' ? res.body : undefined;
      },
      30_000,
      250
    );
    expect(job.error).toMatch(stopped.error);
    const run = await api(
      lab,
      'GET',
      `/api/2.0/mlflow/runs/get?run_id=${stopped.runId}`
    );
    expect(run.body.run.info.status).toBe('FAILED');
  }

  await deploymentServes(lab);
}

/** The deployment serves again (restored by the start) with the same answers. */
async function deploymentServes(lab: RunningLab): Promise<void> {
  await waitFor(
    'the deployment to serve',
    async () => {
      const res = await api(
        lab,
        'GET',
        `/api/v1/deployments/${state.deploymentId}`
      );
      expect(res.body?.status).not.toBe('failed');
      return res.body?.status === 'ready' && res.body.serving;
    },
    120_000,
    250
  );
  const answer = await api(lab, 'POST', `/api/v1/predict/${state.slug}`, {
    dataframe_split: { columns: state.columns, data: state.rows }
  });
  expect(answer.status).toBe(200);
  expect(answer.body.predictions).toEqual(state.predictions);
}

async function trainingJob(
  lab: RunningLab,
  params: Record<string, number>
): Promise<{ id: string; runId: string }> {
  const res = await api(lab, 'POST', '/api/v1/jobs', {
    kind: 'train',
    project_id: state.projectId,
    dataset_id: state.datasetId,
    target: 'Class',
    algorithm: 'xgboost',
    params
  });
  expect(res.status).toBe(202);
  return { id: res.body.id, runId: res.body.run_id };
}

async function jobReaches(
  lab: RunningLab,
  id: string,
  statuses: string[]
): Promise<Json> {
  return waitFor(
    `job ${id} to be ${statuses.join(' or ')}`,
    async () => {
      const res = await api(lab, 'GET', `/api/v1/jobs/${id}`);
      if (['failed', 'cancelled'].includes(res.body?.status)) {
        if (!statuses.includes(res.body.status)) {
          throw new Error(`job ${id} ended: ${JSON.stringify(res.body)}`);
        }
      }
      return statuses.includes(res.body?.status) ? res.body : undefined;
    },
    180_000,
    250
  );
}

/** A kernel computing in an endless loop, and its pid. */
async function busyKernel(
  lab: RunningLab
): Promise<{ kernel: Kernel; kernelPid: number }> {
  const kernel = await Kernel.start(lab);
  const { stdout } = await kernel.run('import os\nprint(os.getpid())');
  void kernel
    .execute('import time\nwhile True:\n    time.sleep(0.05)', 600_000)
    .catch(() => undefined);
  return { kernel, kernelPid: Number(stdout.trim()) };
}

/** Starts the next round: Insighter with a job training and a kernel computing. */
async function startBusyInsighter(
  options: Parameters<typeof startInsighter>[0] = {}
): Promise<Insighter> {
  const started = await startInsighter(options);
  await expectStateIntact(started.lab);
  const job = await trainingJob(started.lab, LONG_TRAINING);
  await jobReaches(started.lab, job.id, ['running']);
  const { kernel, kernelPid } = await busyKernel(started.lab);
  expect(isRunning(kernelPid)).toBe(true);
  return { ...started, job, kernel, kernelPid };
}

/** As `startBusyInsighter`, with the sidecar's main thread then stuck for good. */
async function startStuckInsighter(): Promise<Insighter> {
  const started = await startBusyInsighter({
    env: {
      INSIGHTER_SIDECAR_COMMAND: `${process.execPath} -r ${BUSY_MAIN_THREAD} ${path.join(REPO_ROOT, 'server', 'lib', 'main.js')}`
    }
  });
  process.kill(started.sidecarPid, 'SIGUSR2');
  expect(answersWithin(started.lab.apiPort, 1000)).toBe(false);
  return started;
}

/**
 * Waits until no process of the data dir runs and both ports are free again
 * (a killed process closes its sockets only once its memory is gone, after
 * /proc stopped telling whose it was); fails unless that came within the
 * bound of `since`, when the signal was sent. Returns how long it took.
 */
async function expectNothingLeft(since: number): Promise<number> {
  const look = async () => ({
    left: processesOf(dataDir),
    busyPorts: (
      await Promise.all(
        ports.map(async port => ((await portIsFree(port)) ? [] : [port]))
      )
    ).flat()
  });
  let now = await look();
  while (
    (now.left.length > 0 || now.busyPorts.length > 0) &&
    Date.now() - since < STOP_BOUND_MS + 20_000
  ) {
    await sleep(100);
    now = await look();
  }
  const took = Date.now() - since;
  process.stderr.write(`[lifecycle] nothing left after ${took} ms\n`);
  if (now.left.length > 0 || now.busyPorts.length > 0 || took > STOP_BOUND_MS) {
    throw new Error(
      `${took} ms after the signal, ${now.left.length} processes of the data dir still ran` +
        ` and ports [${now.busyPorts.join(', ')}] were taken:\n` +
        describeProcesses(now.left)
    );
  }
  return took;
}

/**
 * Whether the sidecar answers /health within `ms` (its socket accepts even
 * when its main thread is stuck). Asked from a separate process.
 */
function answersWithin(port: number, ms: number): boolean {
  const probe = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))',
      `http://127.0.0.1:${port}/health`,
      String(ms / 1000)
    ],
    { stdio: 'ignore', timeout: ms + 10_000 }
  );
  return probe.status === 0;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise(resolve => child.once('exit', () => resolve()));
}

/** Reads the first rows of the shared data, without the target, as the model's input. */
function creditRows(count: number): { columns: string[]; rows: number[][] } {
  const lines = readFileSync(GERMAN_CREDIT, 'utf8').trim().split('\n');
  const header = lines[0].split(',').map(name => name.replace(/"/g, ''));
  const target = header.indexOf('Class');
  return {
    columns: header.filter((_, i) => i !== target),
    rows: lines.slice(1, count + 1).map(line =>
      line
        .split(',')
        .filter((_, i) => i !== target)
        .map(Number)
    )
  };
}

describe('nothing outlives Insighter', () => {
  let running: Insighter | undefined;

  beforeAll(async () => {
    ports = [await freePort(), await freePort()];
    while (ports[1] === ports[0]) ports[1] = await freePort();
  });

  afterAll(() => {
    // Whatever a failed scenario left goes, by pid, before the data dir does.
    for (const left of processesOf(dataDir)) {
      try {
        process.kill(left.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGTERM to npm start: stops in order within 10 s, jobs failed with the reason', async () => {
    const started = await startInsighter();
    const { lab } = started;
    // The state every later start must find: a person, a project, a dataset,
    // a trained version, a deployment serving it.
    const config = await api(lab, 'GET', '/api/v1/config');
    const signUp = await fetch(
      `http://127.0.0.1:${lab.apiPort}/auth/v1/signup`,
      {
        method: 'POST',
        headers: {
          apikey: config.body.supabase_anon_key,
          'content-type': 'application/json'
        },
        body: JSON.stringify({
          email: 'lifecycle@example.com',
          password: 'stop1t-cleanly',
          data: { full_name: 'Lee Cycle' }
        })
      }
    );
    state.accessToken = ((await signUp.json()) as Json).access_token;
    expect(state.accessToken).toBeTruthy();
    const project = await api(lab, 'POST', '/api/v1/projects', {
      name: 'Lifecycle'
    });
    expect(project.status).toBe(201);
    state.projectId = project.body.id;
    state.slug = project.body.slug;
    const dataset = await api(
      lab,
      'POST',
      `/api/v1/datasets?project_id=${state.projectId}&name=german_credit`,
      readFileSync(GERMAN_CREDIT, 'utf8'),
      { contentType: 'text/csv' }
    );
    expect(dataset.body).toMatchObject({ status: 'ready' });
    state.datasetId = dataset.body.id;
    state.firstJob = await trainingJob(lab, { n_estimators: 20 });
    const trained = await jobReaches(lab, state.firstJob.id, ['succeeded']);
    const deployment = await api(lab, 'POST', '/api/v1/deployments', {
      project_id: state.projectId,
      version: trained.model_version ?? 1
    });
    expect(deployment.status).toBe(201);
    state.deploymentId = deployment.body.id;
    ({ columns: state.columns, rows: state.rows } = creditRows(5));
    await waitFor(
      'the deployment to serve',
      async () =>
        (await api(lab, 'GET', `/api/v1/deployments/${state.deploymentId}`))
          .body?.serving,
      120_000,
      250
    );
    const answer = await api(lab, 'POST', `/api/v1/predict/${state.slug}`, {
      dataframe_split: { columns: state.columns, data: state.rows }
    });
    expect(answer.status).toBe(200);
    state.predictions = answer.body.predictions;
    expect(state.predictions).toHaveLength(5);

    const job = await trainingJob(lab, LONG_TRAINING);
    await jobReaches(lab, job.id, ['running']);
    const { kernelPid } = await busyKernel(lab);
    const worker = descendantsOf(started.sidecarPid).find(p =>
      p.cmdline.includes('insighter_serve')
    );
    expect(worker).toBeDefined();

    const since = Date.now();
    process.kill(started.npmPid, 'SIGTERM');
    await expectNothingLeft(since);
    expect(isRunning(kernelPid)).toBe(false);
    await exited(started.top);
    state.stoppedJobs.push({ ...job, error: STOPPED_IN_ORDER });
  }, 600_000);

  it('SIGKILL to npm start: the server notices and stops in order within 10 s', async () => {
    running = await startBusyInsighter();
    const since = Date.now();
    process.kill(running.npmPid, 'SIGKILL');
    await expectNothingLeft(since);
    state.stoppedJobs.push({ ...running.job, error: STOPPED_IN_ORDER });
  }, 600_000);

  it('SIGKILL to the Jupyter server alone, its sidecar stuck in a computation: all gone within 10 s', async () => {
    running = await startStuckInsighter();
    const since = Date.now();
    process.kill(running.serverPid, 'SIGKILL');
    await expectNothingLeft(since);
    // The sidecar was killed: the next start fails the job it ran.
    state.stoppedJobs.push({ ...running.job, error: FOUND_AFTER_RESTART });
  }, 600_000);

  it('SIGTERM to npm start with the sidecar stuck: the supervisor kills it in time', async () => {
    running = await startStuckInsighter();
    const since = Date.now();
    process.kill(running.npmPid, 'SIGTERM');
    await expectNothingLeft(since);
    expect(running.lab.output()).toMatch(
      /Insighter sidecar did not stop within 6 s; killing it/
    );
    state.stoppedJobs.push({ ...running.job, error: FOUND_AFTER_RESTART });
  }, 600_000);

  it('a second signal ends everything at once', async () => {
    running = await startStuckInsighter();
    const since = Date.now();
    process.kill(running.npmPid, 'SIGTERM');
    // Later than npm's own forwarding of the first, which is the same stop.
    await sleep(1500);
    const again = Date.now();
    process.kill(running.npmPid, 'SIGTERM');
    await expectNothingLeft(since);
    // An orderly stop would wait 6 s for the stuck sidecar.
    expect(Date.now() - again).toBeLessThanOrEqual(3000);
    expect(running.lab.output()).toMatch(
      /SIGTERM again, ending everything now/
    );
    state.stoppedJobs.push({ ...running.job, error: FOUND_AFTER_RESTART });
  }, 600_000);

  it('SIGKILL to the sidecar during a long request: its workers and jobs go, its restart stays in the tree; then a script stop', async () => {
    running = await startBusyInsighter();
    const { lab, sidecarPid, serverPid } = running;
    const underSidecar = descendantsOf(sidecarPid);
    expect(underSidecar.some(p => p.cmdline.includes('insighter_serve'))).toBe(
      true
    );
    // A long request: an upload that trickles in.
    const upload = http.request({
      host: '127.0.0.1',
      port: lab.apiPort,
      method: 'POST',
      path: `/api/v1/datasets?project_id=${state.projectId}&name=trickle`,
      headers: {
        authorization: `Bearer ${state.accessToken}`,
        'content-type': 'text/csv'
      }
    });
    upload.on('error', () => undefined);
    upload.write('a,b\n');
    const trickle = setInterval(() => upload.write('1,2\n'), 100);
    try {
      await sleep(500);
      const since = Date.now();
      process.kill(sidecarPid, 'SIGKILL');
      await waitFor(
        'the sidecar and everything under it to be gone',
        () =>
          !isRunning(sidecarPid) && underSidecar.every(p => !isRunning(p.pid)),
        STOP_BOUND_MS + 20_000
      );
      expect(Date.now() - since).toBeLessThanOrEqual(STOP_BOUND_MS);
    } finally {
      clearInterval(trickle);
      upload.destroy();
    }
    // The supervisor starts a new sidecar, its own child: inside the tree.
    const restarted = await waitFor(
      'a new sidecar',
      async () => {
        const pid = lab.sidecarPid();
        return pid &&
          pid !== sidecarPid &&
          (await fetch(`http://127.0.0.1:${lab.apiPort}/health`)).ok
          ? pid
          : undefined;
      },
      120_000,
      250
    );
    expect(childOf(serverPid, 'main.js')).toBe(restarted);
    state.stoppedJobs.push({ ...running.job, error: FOUND_AFTER_RESTART });
    await expectStateIntact(lab);

    // How scripts stop a service: SIGTERM to the group, SIGKILL 3 s later.
    const job = await trainingJob(lab, LONG_TRAINING);
    await jobReaches(lab, job.id, ['running']);
    const since = Date.now();
    process.kill(-running.npmPid, 'SIGTERM');
    const kill = setTimeout(() => {
      try {
        process.kill(-running!.npmPid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    }, 3000);
    try {
      await expectNothingLeft(since);
    } finally {
      clearTimeout(kill);
    }
    state.stoppedJobs.push({
      ...job,
      error:
        /Insighter stopped while the job was running|restarted while the job was running/
    });
  }, 600_000);

  it('a closed terminal (SIGHUP to its session): stops in order within 10 s', async () => {
    running = await startBusyInsighter({ terminal: true });
    const since = Date.now();
    // The terminal goes: its master side closes and the session is hung up.
    process.kill(running.top.pid!, 'SIGKILL');
    await expectNothingLeft(since);
    state.stoppedJobs.push({ ...running.job, error: STOPPED_IN_ORDER });
  }, 600_000);

  it('starts again with everything intact, stops a sidecar left behind, names a live owner and a taken port, and stops cleanly', async () => {
    // A sidecar of this data dir whose server is gone (as versions before
    // this one could leave): its pid recorded, the data dir in its environment.
    const leftBehind = spawn('sleep', ['600'], {
      env: { ...process.env, INSIGHTER_DATA_DIR: dataDir },
      stdio: 'ignore'
    });
    writeFileSync(
      path.join(dataDir, 'run', 'sidecar.pid'),
      `${leftBehind.pid}\n`
    );
    const started = await startInsighter();
    running = undefined;
    expect(isRunning(leftBehind.pid!)).toBe(false);
    expect(started.lab.output()).toContain(
      `a sidecar of an earlier run is still running on this data dir (pid ${leftBehind.pid}); stopping it.`
    );
    await expectStateIntact(started.lab);

    const second = spawnSync('/usr/bin/python3', ['-m', 'insighter_lab'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PYTHONPATH: path.join(REPO_ROOT, 'jupyter-config'),
        INSIGHTER_DATA_DIR: dataDir,
        INSIGHTER_PORT: String(await freePort()),
        INSIGHTER_API_PORT: String(await freePort())
      },
      encoding: 'utf8',
      timeout: 60_000
    });
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain(
      `Insighter is already running on this data dir at http://127.0.0.1:${ports[0]}/lab, pid ${started.serverPid}`
    );

    const otherDir = mkdtempSync(path.join(os.tmpdir(), 'insighter-ports-'));
    try {
      const clash = spawnSync('/usr/bin/python3', ['-m', 'insighter_lab'], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          PYTHONPATH: path.join(REPO_ROOT, 'jupyter-config'),
          INSIGHTER_DATA_DIR: otherDir,
          INSIGHTER_PORT: String(ports[0]),
          INSIGHTER_API_PORT: String(ports[1])
        },
        encoding: 'utf8',
        timeout: 60_000
      });
      expect(clash.status).not.toBe(0);
      expect(clash.stderr).toContain(
        `Port ${ports[0]} on 127.0.0.1, for Insighter Lab (Jupyter), is in use by another program: stop it, or set INSIGHTER_PORT to a free port`
      );
      expect(clash.stderr).toContain(
        `port ${ports[1]} on 127.0.0.1, for the Insighter service (sidecar), is in use by another program: stop it, or set INSIGHTER_API_PORT to a free port`
      );
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }

    const since = Date.now();
    process.kill(started.npmPid, 'SIGTERM');
    await expectNothingLeft(since);
    await exited(started.top);
  }, 600_000);
});

describe('kernels', () => {
  it('die at once with the server that started them, even where a subreaper adopts them', () => {
    const run = spawnSync(
      '/usr/bin/python3',
      [path.join(__dirname, 'support', 'kernel-orphan.py')],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          PYTHONPATH: path.join(REPO_ROOT, 'jupyter-config'),
          PYDEVD_DISABLE_FILE_VALIDATION: '1'
        },
        encoding: 'utf8',
        timeout: 60_000
      }
    );
    expect(run.status).toBe(0);
    const outcome = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(['gone', 'Z']).toContain(outcome.state);
    expect(outcome.seconds).toBeLessThan(1);
  }, 90_000);
});
