import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import {
  DockerRunner,
  DockerUnavailableError,
  dockerOptions,
  JOB_ID_LABEL,
  PROJECT_ID_LABEL
} from '../../src/jobs/docker-runner';
import type { JobHandle, JobSpec, LogLine } from '../../src/jobs/runner';
import { TRAIN_IMAGE } from '../../src/jobs/train-image';
import { testDockerHost } from '../support/dockerd';

const PYTHON = '/usr/bin/python3';

function collect(handle: JobHandle): { lines: LogLine[]; done: Promise<void> } {
  const lines: LogLine[] = [];
  const done = (async () => {
    for await (const line of handle.logs) {
      lines.push(line);
    }
  })();
  return { lines, done };
}

async function until(probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) {
      throw new Error('Timed out');
    }
    await new Promise(resolve => setTimeout(resolve, 25));
  }
}

/** A real Docker engine: the one the test setup started (or DOCKER_HOST). */
describe('DockerRunner', () => {
  let host: string;
  let docker: Docker;
  let pythonDir: string;
  let runner: DockerRunner;
  let n = 0;

  beforeAll(async () => {
    host = testDockerHost();
    docker = new Docker(dockerOptions(host));
    pythonDir = fs.mkdtempSync(
      path.join(os.tmpdir(), 'insighter-docker-runner-')
    );
    // Jobs run as nobody: the package must be readable by others, as installed.
    fs.chmodSync(pythonDir, 0o755);
    fs.mkdirSync(path.join(pythonDir, 'probe'));
    fs.writeFileSync(path.join(pythonDir, 'probe', '__init__.py'), '');
    fs.writeFileSync(
      path.join(pythonDir, 'probe', '__main__.py'),
      'import os, sys\nprint("probe", os.getuid(), sys.argv[1:])\n'
    );
    runner = new DockerRunner({ host, pythonDir });
    // Each run of the suite starts from an engine without the image.
    await docker
      .getImage(TRAIN_IMAGE)
      .remove({ force: true })
      .catch(() => undefined);
  });

  afterAll(async () => {
    fs.rmSync(pythonDir, { recursive: true, force: true });
  });

  const spec = (code: string, extra: Partial<JobSpec> = {}): JobSpec => ({
    jobId: `docker-runner-test-${process.pid}-${++n}`,
    projectId: 'project-1',
    command: [PYTHON, '-c', code],
    env: {},
    limits: { memoryMb: 256, cpus: 1 },
    ...extra
  });

  it('answers its availability from /_ping', async () => {
    expect(await runner.availability()).toEqual({
      available: true,
      detail: `Jobs run in containers on the Docker engine at ${host}.`
    });
  });

  it('imports its image on first use, then runs the host Python with the training package, as nobody', async () => {
    expect(await runner.image.present()).toBe(false);
    const handle = await runner.start(
      spec('', { command: [PYTHON, '-m', 'probe', 'a b'] })
    );
    expect(await runner.image.present()).toBe(true);
    const { lines, done } = collect(handle);
    expect(await handle.wait()).toEqual({
      exitCode: 0,
      signal: null,
      oomKilled: false,
      stopped: false
    });
    await done;
    expect(lines.map(l => l.text)).toEqual(["probe 65534 ['a b']"]);
  });

  it('runs pandas, scikit-learn and XGBoost from the host', async () => {
    const handle = await runner.start(
      spec('import pandas, sklearn, xgboost; print(xgboost.__version__)', {
        limits: { memoryMb: 1024, cpus: 1 }
      })
    );
    const { lines, done } = collect(handle);
    expect((await handle.wait()).exitCode).toBe(0);
    await done;
    expect(lines.map(l => l.text)).toEqual([expect.stringMatching(/^1\.7\./)]);
  });

  it('streams lines while it runs, stdout and stderr apart, labels the container, and reports the exit code', async () => {
    const s = spec(
      [
        'import sys, time, os',
        'print("first", flush=True)',
        'print("token" in os.environ and "set", flush=True)',
        'time.sleep(1)',
        'print("to stderr", file=sys.stderr, flush=True)',
        'sys.exit(3)'
      ].join('\n'),
      { env: { token: 'secret-value' } }
    );
    const handle = await runner.start(s);
    const { lines, done } = collect(handle);
    await until(() => lines.length >= 2);
    // Still running when the first lines came.
    const info = await docker.getContainer(handle.ref).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels).toEqual({
      [JOB_ID_LABEL]: s.jobId,
      [PROJECT_ID_LABEL]: 'project-1'
    });
    expect(JSON.stringify(info.Config.Cmd)).not.toContain('secret-value');
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    // No network: a job reaches the sidecar through its own unix socket (issue 12).
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(await handle.wait()).toEqual({
      exitCode: 3,
      signal: null,
      oomKilled: false,
      stopped: false
    });
    await done;
    expect(lines.map(l => [l.stream, l.text])).toEqual([
      ['stdout', 'first'],
      ['stdout', 'set'],
      ['stderr', 'to stderr']
    ]);
    // Removed once its end was seen.
    await expect(
      docker.getContainer(handle.ref).inspect()
    ).rejects.toMatchObject({
      statusCode: 404
    });
  });

  it('reports running out of memory as OOMKilled with exit 137', async () => {
    const handle = await runner.start(
      spec('x = bytearray(400 * 1024 * 1024)\nprint(len(x))', {
        limits: { memoryMb: 100, cpus: 1 }
      })
    );
    const { done } = collect(handle);
    expect(await handle.wait()).toEqual({
      exitCode: 137,
      signal: null,
      oomKilled: true,
      stopped: false
    });
    await done;
  });

  it('stops a container on cancel', async () => {
    const handle = await runner.start(
      spec('import time\nprint("up", flush=True)\ntime.sleep(60)')
    );
    const { lines, done } = collect(handle);
    await until(() => lines.length > 0);
    await handle.stop(1000);
    const exit = await handle.wait();
    await done;
    expect(exit.stopped).toBe(true);
    expect(exit.oomKilled).toBe(false);
    expect(exit.exitCode).not.toBe(0);
  });

  it('re-attaches after a restart: the lines not yet recorded, then the end', async () => {
    const s = spec(
      [
        'import time',
        'print("before", flush=True)',
        'time.sleep(1.5)',
        'print("after", flush=True)',
        'raise SystemExit(4)'
      ].join('\n')
    );
    const first = await runner.start(s);
    const seen = collect(first);
    await until(() => seen.lines.length === 1);
    // A new sidecar: a new runner that never saw the job start.
    const restarted = new DockerRunner({ host, pythonDir });
    const survivors = await restarted.survivors();
    expect(survivors).toContainEqual({
      jobId: s.jobId,
      ref: first.ref,
      running: true
    });
    const handle = await restarted.reattach(s.jobId, 1);
    expect(handle?.ref).toBe(first.ref);
    const { lines, done } = collect(handle!);
    expect(await handle!.wait()).toMatchObject({
      exitCode: 4,
      oomKilled: false
    });
    await done;
    expect(lines.map(l => l.text)).toEqual(['after']);
    expect(await restarted.reattach(s.jobId, 0)).toBeUndefined();
  });

  it('re-attaches to a container that ended while nobody watched', async () => {
    const s = spec(
      'print("one", flush=True)\nprint("two", flush=True)\nraise SystemExit(5)'
    );
    const first = await runner.start(s);
    // The old sidecar dies before the end: nobody waits, nobody removes.
    await until(() => false, 1500).catch(() => undefined);
    const restarted = new DockerRunner({ host, pythonDir });
    expect(await restarted.survivors()).toContainEqual({
      jobId: s.jobId,
      ref: first.ref,
      running: false
    });
    const handle = await restarted.reattach(s.jobId, 1);
    const { lines, done } = collect(handle!);
    expect(await handle!.wait()).toMatchObject({ exitCode: 5 });
    await done;
    expect(lines.map(l => l.text)).toEqual(['two']);
  });

  it('says clearly when the engine is not there', async () => {
    const down = new DockerRunner({
      host: `unix://${path.join(pythonDir, 'no-engine.sock')}`,
      pythonDir
    });
    expect(await down.availability()).toEqual({
      available: false,
      detail: expect.stringContaining('does not answer')
    });
    const started = down.start(spec('print(1)'));
    await expect(started).rejects.toBeInstanceOf(DockerUnavailableError);
    await expect(started).rejects.toThrow(
      /Docker engine at unix:\/\/.*no-engine\.sock is not reachable/
    );
  });
});
