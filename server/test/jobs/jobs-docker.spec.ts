import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Client } from 'pg';
import { dockerOptions, JOB_ID_LABEL } from '../../src/jobs/docker-runner';
import { SIDECAR_RESTARTED } from '../../src/services/jobs';
import { testDockerHost } from '../support/dockerd';
import { GERMAN_CREDIT, startJobsSidecar, type JobsSidecar } from './harness';

/**
 * Training jobs in containers on the real Docker engine the test setup
 * started (no registry: the sidecar imports its own image), against the real
 * sidecar: a job trained in Docker, one killed by its memory limit, an
 * engine that is down, and a sidecar killed and started again under a
 * running container (followed again) and a running process (failed).
 */
describe('/api/v1/jobs with the Docker runner', () => {
  let host: string;
  let docker: Docker;
  const csv = fs.readFileSync(GERMAN_CREDIT);

  beforeAll(() => {
    host = testDockerHost();
    docker = new Docker(dockerOptions(host));
  });

  const containersOf = async (jobId: string) =>
    docker.listContainers({
      all: true,
      filters: { label: [`${JOB_ID_LABEL}=${jobId}`] }
    });

  async function setUp(t: JobsSidecar) {
    const alice = await t.person('Alice Analyst');
    const project = await t.project(alice, 'Credit Risk Alpha');
    const dataset = await t.dataset(alice, project.id, 'german_credit', csv);
    const train = (body: Record<string, unknown> = {}) =>
      t.api(alice, 'POST', '/api/v1/jobs', {
        kind: 'train',
        project_id: project.id,
        dataset_id: dataset.id,
        target: 'Class',
        algorithm: 'xgboost',
        params: { n_estimators: 30 },
        ...body
      });
    const run = async (runId: string) =>
      (await t.api(alice, 'GET', `/api/2.0/mlflow/runs/get?run_id=${runId}`))
        .body.run;
    return { alice, project, dataset, train, run };
  }

  describe('on a running engine', () => {
    let t: JobsSidecar;
    let s: Awaited<ReturnType<typeof setUp>>;

    beforeAll(async () => {
      // DOCKER_HOST set: Docker is the default runner.
      t = await startJobsSidecar({
        env: { DOCKER_HOST: host, INSIGHTER_JOBS_RUNNER: 'auto' }
      });
      s = await setUp(t);
    });

    afterAll(async () => {
      await t?.close();
    });

    it('trains XGBoost on german_credit in a container: logs, metrics, model version 1, the container removed', async () => {
      const res = await s.train();
      expect(res.status).toBe(202);
      const job = await t.ended(s.alice, res.body.id, 120_000);
      expect(job).toMatchObject({
        status: 'succeeded',
        runner: 'docker',
        exit_code: 0,
        model_name: s.project.slug,
        model_version: 1
      });
      const logs = (await t.api(s.alice, 'GET', `/api/v1/jobs/${job.id}/logs`))
        .body;
      expect(logs.lines[0].text).toMatch(/^insighter_train: starting/);
      expect(logs.lines.map((l: { text: string }) => l.text)).toContain('done');
      const run = await s.run(job.run_id);
      expect(run.info.status).toBe('FINISHED');
      const metrics = Object.fromEntries(
        run.data.metrics.map((m: { key: string; value: number }) => [
          m.key,
          m.value
        ])
      );
      expect(metrics.auc).toBeGreaterThan(0.7);
      expect(metrics.accuracy).toBeGreaterThan(0.65);
      const model = (
        await t.api(
          s.alice,
          'GET',
          `/api/2.0/mlflow/artifacts/list?run_id=${job.run_id}&path=model`
        )
      ).body;
      expect(model.files.map((f: { path: string }) => f.path)).toEqual(
        expect.arrayContaining(['model/MLmodel', 'model/model.pkl'])
      );
      expect(await containersOf(job.id)).toEqual([]);
    }, 180_000);

    it('reports a container killed by its memory limit: exit 137, the limit named, the run FAILED', async () => {
      const res = await s.train({ limits: { memory_mb: 32 } });
      const job = await t.ended(s.alice, res.body.id, 120_000);
      expect(job).toMatchObject({
        status: 'failed',
        runner: 'docker',
        exit_code: 137
      });
      expect(job.error).toBe(
        "The training ran out of memory (limit 32 MB): use a smaller dataset or fewer/shallower trees, or raise the job's memory limit."
      );
      expect((await s.run(job.run_id)).info.status).toBe('FAILED');
    }, 180_000);

    it('shows the engine in the system status', async () => {
      const status = (await t.api(null, 'GET', '/api/v1/status')).body;
      expect(status.components.jobs).toMatchObject({
        state: 'ok',
        backend: 'docker'
      });
      expect(status.components.jobs.detail).toContain(host);
    });
  });

  it('with the engine down: the job fails saying so, the run FAILED, and the status shows it', async () => {
    const missing = `unix://${path.join(os.tmpdir(), `no-docker-${process.pid}.sock`)}`;
    const t = await startJobsSidecar({ env: { DOCKER_HOST: missing } });
    try {
      const s = await setUp(t);
      const res = await s.train({ runner: 'docker' });
      expect(res.status).toBe(202);
      const job = await t.ended(s.alice, res.body.id);
      expect(job).toMatchObject({
        status: 'failed',
        runner: 'docker',
        exit_code: null
      });
      expect(job.error).toBe(
        `The Docker engine at ${missing} is not reachable (ENOENT): start it, or run the job as a local process (runner "process").`
      );
      const run = await s.run(job.run_id);
      expect(run.info.status).toBe('FAILED');
      expect(run.data.tags).toContainEqual({
        key: 'insighter.error',
        value: job.error
      });
      const status = (await t.api(null, 'GET', '/api/v1/status')).body;
      expect(status.components.jobs).toMatchObject({
        state: 'degraded',
        backend: 'docker'
      });
      expect(status.components.jobs.detail).toContain('does not answer');
    } finally {
      await t.close();
    }
  }, 120_000);

  it('survives a sidecar restart: the container is followed again to its end, a process job is failed with the reason', async () => {
    const env = { DOCKER_HOST: host, INSIGHTER_JOBS_RUNNER: 'docker' };
    const first = await startJobsSidecar({ child: true, env });
    const reuse = {
      dataDir: first.dataDir,
      database: first.database!,
      port: Number(new URL(first.url).port)
    };
    let second: JobsSidecar | undefined;
    const db = new Client({ connectionString: first.database!.url });
    await db.connect();
    try {
      const s = await setUp(first);
      // Both long enough to be running when the sidecar is killed, however
      // fast the machine: once it is gone the container's next tracking call
      // waits (the script retries), so it goes on after the restart.
      const inDocker = (
        await s.train({
          params: { n_estimators: 5000, learning_rate: 0.01, max_depth: 6 }
        })
      ).body;
      const asProcess = (
        await s.train({
          runner: 'process',
          algorithm: 'random_forest',
          params: { n_estimators: 5000 }
        })
      ).body;
      await first.logged(s.alice, inDocker.id, /^round /, 120_000);
      await first.logged(s.alice, asProcess.id, /^rows: /, 120_000);
      const { rows } = await db.query<{ runner_ref: string }>(
        'select runner_ref from public.jobs where id = $1',
        [asProcess.id]
      );
      const pid = Number(/^pid:(\d+)$/.exec(rows[0].runner_ref)?.[1]);
      // The container's resource use, as the Tool Monitor shows it.
      const stats = await first.api(
        s.alice,
        'GET',
        `/api/v1/jobs/${inDocker.id}/stats`
      );
      expect(stats.status).toBe(200);
      expect(stats.body).toEqual({
        cpu_percent: expect.any(Number),
        memory_bytes: expect.any(Number),
        memory_limit_bytes: 2048 * 1024 * 1024
      });
      expect(stats.body.memory_bytes).toBeGreaterThan(10 * 1024 * 1024);

      await first.kill(); // SIGKILL: no goodbye
      expect((await containersOf(inDocker.id)).map(c => c.State)).toEqual([
        'running'
      ]);

      second = await startJobsSidecar({ child: true, env, reuse });
      const followed = await second.ended(s.alice, inDocker.id, 180_000);
      expect(followed).toMatchObject({
        status: 'succeeded',
        runner: 'docker',
        exit_code: 0,
        model_version: 1
      });
      const logs = (
        await second.api(s.alice, 'GET', `/api/v1/jobs/${inDocker.id}/logs`)
      ).body;
      const texts: string[] = logs.lines.map((l: { text: string }) => l.text);
      // Every line once, numbered without a gap, from the first to the last.
      expect(logs.lines.map((l: { n: number }) => l.n)).toEqual([
        ...texts.keys()
      ]);
      expect(
        texts.filter(l => l.startsWith('insighter_train: starting'))
      ).toHaveLength(1);
      expect(new Set(texts.filter(l => l.startsWith('round '))).size).toBe(
        texts.filter(l => l.startsWith('round ')).length
      );
      expect(texts[texts.length - 1]).toBe('done');
      expect((await s.run(inDocker.run_id)).info.status).toBe('FINISHED');
      expect(await containersOf(inDocker.id)).toEqual([]);

      const lost = await second.ended(s.alice, asProcess.id);
      expect(lost).toMatchObject({
        status: 'failed',
        error: SIDECAR_RESTARTED
      });
      const lostRun = await s.run(asProcess.run_id);
      expect(lostRun.info.status).toBe('FAILED');
      // The orphaned process was ended, not left to run.
      await new Promise(resolve => setTimeout(resolve, 200));
      expect(processGone(pid)).toBe(true);
    } finally {
      await db.end();
      await second?.close();
      await first.database!.drop();
      fs.rmSync(first.dataDir, { recursive: true, force: true });
    }
  }, 400_000);
});

function processGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
