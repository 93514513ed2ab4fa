/**
 * Issues 7 and 12 benchmark: predictions through the sidecar's endpoint
 * `POST /api/v1/predict/<slug>`, next to baselines built the way MLflow's
 * scoring servers work, in the same run on the same machine and model.
 *
 * - Insighter: the real sidecar (src/main.ts in a child process, embedded
 *   PGlite); the model trained by a training job (so it is a built-in
 *   version, served from its safe format — JSON and XGBoost's UBJSON, never
 *   its pickle — by a worker in the bubblewrap sandbox), deployed with
 *   `POST /api/v1/deployments`, called with an API key — auth, signature
 *   checks, micro-batching into the scoring worker, metrics.
 * - MLflow 2 baseline: Flask under gunicorn (2 sync workers, one per core),
 *   a pandas DataFrame built per request and `pipeline.predict_proba` on it
 *   (flask_baseline.py).
 * - MLflow 3 baseline: FastAPI under uvicorn (2 workers), the same per
 *   request in a thread of the async handler (fastapi_baseline.py).
 *   Both serve the job's own model.pkl.
 *
 * Model: the training job's XGBoost pipeline on german_credit (61 columns,
 * 40 trees of depth 3). Load: autocannon, 32 connections, single-row and
 * 100-row requests; each side gets BENCH_DURATION_S seconds per size, in
 * rotating rounds after a warm-up, so the machine's load weighs on all
 * alike. Targets (single row): ≥ 3 × the Flask baseline's throughput
 * (issue 7), ≥ 10 × the FastAPI baseline's (issue 12), p99 ≤ 10 ms.
 *
 *   node bench/deployments/run.mjs
 *   env: BENCH_DURATION_S (10), BENCH_ROUNDS (2), BENCH_CONNECTIONS (32), BENCH_BASELINE_WORKERS (2)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { creditRows } from '../../server/test/deployments/harness';
import { exited } from '../../server/test/support/sidecar-process';
import { cpuMs, processTree } from '../process-cpu';
import { startTrainedDeployment } from '../trained-deployment';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BASELINE_WORKERS = Number(process.env.BENCH_BASELINE_WORKERS ?? 2);
const WARMUP_S = 2;
/** Single-row throughput over each baseline's. */
const TARGET_RATIOS = { flask: 3, fastapi: 10 };
const TARGET_P99_MS = 10;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

interface Target {
  url: string;
  headers: Record<string, string>;
  /** Processes whose CPU time is this side's. */
  pids: () => number[];
}

interface Sample {
  latencies: number[];
  seconds: number;
  errors: number;
  cpuMs: number;
}

interface Measurement {
  requests: number;
  throughput: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  /** CPU time of the side's processes per request: steadier than throughput on a busy machine. */
  cpu_ms_per_request: number;
}

type Side = 'insighter' | 'flask' | 'fastapi';

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-bench-deployments-'));
  let sidecar: ChildProcess | undefined;
  const baselines: ChildProcess[] = [];
  try {
    console.log('== starting the sidecar (embedded PGlite), training the model with a job and deploying it');
    const trained = await startTrainedDeployment(work);
    sidecar = trained.sidecar.process;
    const { base, job, deployment, apiKey: key } = trained;
    const token = trained.owner.token;
    console.log(
      `   version ${job.model_version} served from its safe format (loader ${deployment.loader}, sandbox ${deployment.sandbox})`
    );
    // The baselines serve the job's own pickle.
    const modelDir = path.join(work, 'model');
    await downloadFolder(base, token, `${job.experiment_id}/${job.run_id}/artifacts/model`, modelDir);

    const env = { PATH: '/usr/bin:/bin', OMP_NUM_THREADS: '1', BASELINE_MODEL_DIR: modelDir };
    console.log(`== starting the baselines: Flask under gunicorn and FastAPI under uvicorn, ${BASELINE_WORKERS} workers each`);
    const flaskPort = await freePort();
    const flaskProcess = spawn(
      '/usr/bin/gunicorn',
      ['-w', String(BASELINE_WORKERS), '-b', `127.0.0.1:${flaskPort}`, '--chdir', __dirname, '--log-level', 'warning', `flask_baseline:create_app(${JSON.stringify(modelDir)})`],
      { stdio: ['ignore', 'ignore', 'inherit'], env }
    );
    baselines.push(flaskProcess);
    const fastapiPort = await freePort();
    const fastapiProcess = spawn(
      '/usr/bin/python3',
      ['-m', 'uvicorn', '--factory', '--workers', String(BASELINE_WORKERS), '--app-dir', __dirname, '--host', '127.0.0.1', '--port', String(fastapiPort), '--log-level', 'warning', '--no-access-log', 'fastapi_baseline:create_app'],
      { stdio: ['ignore', 'ignore', 'inherit'], env }
    );
    baselines.push(fastapiProcess);
    await waitFor(`http://127.0.0.1:${flaskPort}/ping`);
    await waitFor(`http://127.0.0.1:${fastapiPort}/ping`);

    const targets: Record<Side, Target> = {
      insighter: {
        url: `${base}${deployment.url}`,
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        pids: () => processTree(sidecar!.pid!)
      },
      flask: {
        url: `http://127.0.0.1:${flaskPort}/invocations`,
        headers: { 'content-type': 'application/json' },
        pids: () => processTree(flaskProcess.pid!)
      },
      fastapi: {
        url: `http://127.0.0.1:${fastapiPort}/invocations`,
        headers: { 'content-type': 'application/json' },
        pids: () => processTree(fastapiProcess.pid!)
      }
    };
    await checkSameAnswers(targets.insighter, targets.flask);
    await checkSameAnswers(targets.insighter, targets.fastapi);

    const sides = Object.keys(targets) as Side[];
    const results = [];
    for (const rows of [1, 100]) {
      const body = JSON.stringify({ dataframe_split: creditRows(rows) });
      console.log(`\n== ${rows}-row requests, ${CONNECTIONS} connections, ${DURATION_S} s per side in ${ROUNDS} rounds`);
      const samples: Record<Side, Sample[]> = { insighter: [], flask: [], fastapi: [] };
      for (const side of sides) {
        await load(targets[side], body, WARMUP_S);
      }
      for (let round = 0; round < ROUNDS; round++) {
        // Each round starts with another side: the machine's load weighs on all alike.
        const order = sides.map((_, i) => sides[(i + round) % sides.length]);
        for (const side of order) {
          samples[side].push(await load(targets[side], body, DURATION_S / ROUNDS));
        }
      }
      const measured = {
        insighter: measure(samples.insighter),
        flask: measure(samples.flask),
        fastapi: measure(samples.fastapi)
      };
      for (const side of sides) {
        console.log(`   ${side.padEnd(9)}: ${fmt(measured[side])}`);
      }
      results.push({
        rows,
        ...measured,
        ratio: {
          flask: measured.insighter.throughput / measured.flask.throughput,
          fastapi: measured.insighter.throughput / measured.fastapi.throughput
        }
      });
    }
    report(results);
  } finally {
    for (const baseline of baselines) {
      if (baseline.exitCode === null) {
        baseline.kill('SIGINT');
        await exited(baseline);
      }
    }
    if (sidecar && sidecar.exitCode === null) {
      sidecar.kill('SIGTERM');
      await exited(sidecar);
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Every file of a proxied artifact folder (one level: a model folder) into `dir`. */
async function downloadFolder(base: string, token: string, folder: string, dir: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}` };
  const listing = (await (
    await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(folder)}`, { headers })
  ).json()) as { files: { path: string; is_dir: boolean }[] };
  fs.mkdirSync(dir, { recursive: true });
  for (const file of listing.files.filter(f => !f.is_dir)) {
    const res = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${folder}/${file.path}`, { headers });
    fs.writeFileSync(path.join(dir, file.path), Buffer.from(await res.arrayBuffer()));
  }
}

/** Both sides must give the same probabilities, or the comparison means nothing. */
async function checkSameAnswers(a: Target, b: Target): Promise<void> {
  const body = JSON.stringify({ dataframe_split: creditRows(5) });
  const answer = async (t: Target) =>
    ((await (await fetch(t.url, { method: 'POST', headers: t.headers, body })).json()) as {
      predictions: { probabilities: Record<string, number> }[];
    }).predictions.map(p => p.probabilities);
  const [ours, theirs] = await Promise.all([answer(a), answer(b)]);
  ours.forEach((p, i) => {
    for (const [label, value] of Object.entries(p)) {
      if (Math.abs(value - theirs[i][label]) > 1e-6) {
        throw new Error(`The two servers disagree on row ${i + 1}: ${JSON.stringify(p)} vs ${JSON.stringify(theirs[i])}`);
      }
    }
  });
  console.log('   both answer the same probabilities for 5 rows');
}

async function load(target: Target, body: string, seconds: number): Promise<Sample> {
  const cpuBefore = cpuMs(target.pids());
  const latencies: number[] = [];
  const instance = autocannon({
    url: target.url,
    method: 'POST',
    headers: target.headers,
    body,
    connections: CONNECTIONS,
    duration: seconds
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    if (status === 200) {
      latencies.push(responseTime);
    }
  });
  const result = await instance;
  return {
    latencies,
    seconds,
    errors: result.errors + result.timeouts + result.non2xx,
    cpuMs: cpuMs(target.pids()) - cpuBefore
  };
}

function measure(samples: Sample[]): Measurement {
  const latencies = samples.flatMap(s => s.latencies).sort((x, y) => x - y);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? NaN;
  const cpu = samples.reduce((sum, s) => sum + s.cpuMs, 0);
  return {
    requests: latencies.length,
    throughput: latencies.length / seconds,
    p50_ms: pick(0.5),
    p99_ms: pick(0.99),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
    cpu_ms_per_request: latencies.length ? cpu / latencies.length : NaN
  };
}

function fmt(m: Measurement): string {
  return (
    `${m.throughput.toFixed(0).padStart(6)} req/s  p50 ${m.p50_ms.toFixed(2)} ms  p99 ${m.p99_ms.toFixed(2)} ms  ` +
    `errors ${m.errors}  cpu ${m.cpu_ms_per_request.toFixed(3)} ms/req`
  );
}

function report(
  results: {
    rows: number;
    insighter: Measurement;
    flask: Measurement;
    fastapi: Measurement;
    ratio: { flask: number; fastapi: number };
  }[]
): void {
  const single = results.find(r => r.rows === 1)!;
  const flaskPass = single.ratio.flask >= TARGET_RATIOS.flask;
  const fastapiPass = single.ratio.fastapi >= TARGET_RATIOS.fastapi;
  const p99Pass = single.insighter.p99_ms <= TARGET_P99_MS;
  const errorsPass = results.every(r => r.insighter.errors === 0);
  console.log('\n== deployments: POST /api/v1/predict/<slug> (safe format, sandboxed) vs MLflow-style baselines');
  for (const r of results) {
    const vs = (side: 'flask' | 'fastapi') =>
      `${side} ${r[side].throughput.toFixed(0)} req/s (p99 ${r[side].p99_ms.toFixed(2)} ms): ${r.ratio[side].toFixed(1)}x, ` +
      `CPU per request ${(r[side].cpu_ms_per_request / r.insighter.cpu_ms_per_request).toFixed(1)}x less`;
    console.log(
      `   ${String(r.rows).padStart(3)} rows: insighter ${r.insighter.throughput.toFixed(0)} req/s (p99 ${r.insighter.p99_ms.toFixed(2)} ms); ` +
        `${vs('flask')}; ${vs('fastapi')}`
    );
  }
  const load = os.loadavg().map(l => l.toFixed(2)).join(' ');
  console.log(`   target: single-row >= ${TARGET_RATIOS.flask}x Flask + gunicorn: ${flaskPass ? 'PASS' : 'FAIL'} (${single.ratio.flask.toFixed(1)}x)`);
  console.log(`   target: single-row >= ${TARGET_RATIOS.fastapi}x FastAPI + uvicorn: ${fastapiPass ? 'PASS' : 'FAIL'} (${single.ratio.fastapi.toFixed(1)}x)`);
  console.log(`   target: single-row p99 <= ${TARGET_P99_MS} ms: ${p99Pass ? 'PASS' : 'FAIL'} (${single.insighter.p99_ms.toFixed(2)} ms)`);
  console.log(`   no failed requests: ${errorsPass ? 'PASS' : 'FAIL'}; load average ${load} on ${os.cpus().length} cores`);
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `deployments-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ connections: CONNECTIONS, duration_s: DURATION_S, rounds: ROUNDS, baseline_workers: BASELINE_WORKERS, load_average: os.loadavg(), results }, null, 2)
  );
  console.log(`   results: ${path.relative(REPO_ROOT, file)}`);
  process.exitCode = flaskPass && fastapiPass && p99Pass && errorsPass ? 0 : 1;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(url)).ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer within 60 s`);
    }
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
