import fs from 'node:fs';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import {
  LogLines,
  type JobExit,
  type JobHandle,
  type JobRunner,
  type JobSpec,
  type JobStats,
  type RunnerAvailability,
  type SurvivingJob
} from './runner';
import { containerUser } from './sandbox';
import {
  CONTAINER_PYTHON_DIR,
  HOST_RUNTIME_MOUNTS,
  TRAIN_IMAGE,
  TrainImage
} from './train-image';

/**
 * Jobs as Docker containers (dockerode), when an engine is configured
 * (`DOCKER_HOST`) or answers on the default socket.
 *
 * - Image: `insighter/train:local`, imported on first use (train-image.ts).
 * - Limits: memory (no extra swap), CPUs (NanoCpus), processes; all
 *   capabilities dropped, no new privileges, run as nobody.
 * - Files: the host's /usr (read-only), the training package, and the
 *   folders the spec mounts (at the same paths), nothing else.
 * - Network: none. A job reaches the sidecar (tracking, its dataset) through
 *   a unix socket in a mounted folder, and a model server answers on one:
 *   nothing in the container can reach the machine's network or the
 *   sidecar's other routes.
 * - Labels `insighter.job_id` and `insighter.project_id` (never secrets: the
 *   token travels in the environment only) find the job again after a
 *   sidecar restart.
 * - Exit: the exit code, and `OOMKilled` reported as out of memory.
 * Containers are removed once their end and every log line were seen; one
 * that ended while the sidecar was down is still there to be read.
 */
export const JOB_ID_LABEL = 'insighter.job_id';
export const PROJECT_ID_LABEL = 'insighter.project_id';

const PING_TIMEOUT_MS = 2000;
const NANO_CPUS_PER_CPU = 1e9;
const PIDS_LIMIT = 1024;

export class DockerUnavailableError extends Error {}

export interface DockerRunnerOptions {
  /** `DOCKER_HOST` (unix://, tcp://, http://); undefined: the default socket. */
  host?: string;
  /** The host folder holding the training package, mounted read-only. */
  pythonDir: string;
}

/** dockerode options for a DOCKER_HOST value (parsed here, never from the process env). */
export function dockerOptions(host?: string): Docker.DockerOptions {
  if (!host) {
    return { socketPath: '/var/run/docker.sock' };
  }
  if (host.startsWith('unix://')) {
    return { socketPath: host.slice('unix://'.length) };
  }
  if (host.startsWith('/')) {
    return { socketPath: host };
  }
  const url = new URL(host.replace(/^tcp:\/\//, 'http://'));
  return {
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'https:' ? 2376 : 2375)
  };
}

export class DockerRunner implements JobRunner {
  readonly kind = 'docker' as const;
  readonly docker: Docker;
  readonly image: TrainImage;
  /** Where the engine is, for messages (a path or URL: never a secret). */
  readonly where: string;

  constructor(private readonly options: DockerRunnerOptions) {
    this.docker = new Docker(dockerOptions(options.host));
    this.image = new TrainImage(this.docker);
    this.where = options.host ?? 'unix:///var/run/docker.sock';
  }

  /** Whether the engine answers `/_ping` within two seconds. */
  async ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.docker.ping().then(() => true),
        new Promise<boolean>(resolve => {
          timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
        })
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async availability(): Promise<RunnerAvailability> {
    if (!(await this.ping())) {
      return {
        available: false,
        detail: `The Docker engine at ${this.where} does not answer: start it, or run jobs as local processes.`
      };
    }
    return {
      available: true,
      detail: `Jobs run in containers on the Docker engine at ${this.where}.`
    };
  }

  async start(spec: JobSpec): Promise<JobHandle> {
    try {
      await this.image.ensure();
    } catch (err) {
      throw this.unavailable(err);
    }
    const threads = String(Math.max(1, Math.floor(spec.limits.cpus)));
    const memory = spec.limits.memoryMb * 1024 * 1024;
    const binds = HOST_RUNTIME_MOUNTS.filter(p => fs.existsSync(p)).map(
      p => `${p}:${p}:ro`
    );
    binds.push(`${this.options.pythonDir}:${CONTAINER_PYTHON_DIR}:ro`);
    for (const mount of spec.mounts ?? []) {
      binds.push(`${mount.path}:${mount.path}:${mount.writable ? 'rw' : 'ro'}`);
    }
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name: `insighter-job-${spec.jobId}`,
        Image: TRAIN_IMAGE,
        Cmd: spec.command,
        User: containerUser(),
        WorkingDir: '/tmp',
        Env: Object.entries({
          PATH: '/usr/bin:/bin',
          LANG: 'C.UTF-8',
          HOME: '/tmp',
          PYTHONUNBUFFERED: '1',
          PYTHONDONTWRITEBYTECODE: '1',
          PYTHONPATH: CONTAINER_PYTHON_DIR,
          OMP_NUM_THREADS: threads,
          // One BLAS thread: under a tight memory limit OpenBLAS can hang
          // starting its threads instead of failing (XGBoost uses OpenMP).
          OPENBLAS_NUM_THREADS: '1',
          MKL_NUM_THREADS: '1',
          ...spec.env
        }).map(([key, value]) => `${key}=${value}`),
        Labels: {
          [JOB_ID_LABEL]: spec.jobId,
          [PROJECT_ID_LABEL]: spec.projectId
        },
        HostConfig: {
          NetworkMode: 'none',
          Binds: binds,
          Memory: memory,
          MemorySwap: memory,
          NanoCpus: Math.round(spec.limits.cpus * NANO_CPUS_PER_CPU),
          PidsLimit: PIDS_LIMIT,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges']
        }
      });
    } catch (err) {
      throw this.unavailable(err);
    }
    try {
      const lines = new LogLines();
      // Attached before start: not one line of output can be missed.
      const stream = await container.attach({
        stream: true,
        stdout: true,
        stderr: true
      });
      followStream(this.docker, stream, lines);
      await container.start();
      return new ContainerHandle(container, lines, stream);
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw this.unavailable(err);
    }
  }

  async survivors(): Promise<SurvivingJob[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [JOB_ID_LABEL] }
    });
    return containers.map(c => ({
      jobId: c.Labels[JOB_ID_LABEL],
      ref: c.Id,
      running: c.State === 'running'
    }));
  }

  async reattach(
    jobId: string,
    skipLines: number
  ): Promise<JobHandle | undefined> {
    const [found] = await this.docker.listContainers({
      all: true,
      filters: { label: [`${JOB_ID_LABEL}=${jobId}`] }
    });
    if (!found) {
      return undefined;
    }
    const container = this.docker.getContainer(found.Id);
    const lines = new LogLines(skipLines);
    // The log from its start (minus what was already recorded), then live.
    const stream = (await container.logs({
      follow: true,
      stdout: true,
      stderr: true
    })) as unknown as NodeJS.ReadableStream;
    followStream(this.docker, stream, lines);
    return new ContainerHandle(container, lines, stream);
  }

  /**
   * Removes a container a sidecar before this one left running (`ref` as
   * recorded), only when it is still the one labelled `marker`.
   */
  async endLost(ref: string, marker: string): Promise<boolean> {
    try {
      const container = this.docker.getContainer(ref);
      const info = await container.inspect();
      if (info.Config.Labels?.[JOB_ID_LABEL] !== marker) {
        return false;
      }
      await container.remove({ force: true });
      return true;
    } catch {
      return false;
    }
  }

  /** Removes the job's container, if any (cancel of a job whose container never started, cleanup). */
  async remove(jobId: string): Promise<void> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${JOB_ID_LABEL}=${jobId}`] }
    });
    await Promise.all(
      containers.map(c =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined)
      )
    );
  }

  private unavailable(err: unknown): Error {
    const code = (err as { code?: string }).code;
    if (
      code === 'ECONNREFUSED' ||
      code === 'ENOENT' ||
      code === 'EACCES' ||
      code === 'ETIMEDOUT' ||
      code === 'EHOSTUNREACH'
    ) {
      return new DockerUnavailableError(
        `The Docker engine at ${this.where} is not reachable (${code}): start it, or run the job as a local process (runner "process").`
      );
    }
    const statusCode = (err as { statusCode?: number }).statusCode;
    const reason =
      (err as { json?: { message?: string } }).json?.message ??
      (err as Error).message;
    return new Error(
      `The Docker engine refused the job${statusCode ? ` (${statusCode})` : ''}: ${reason}`
    );
  }
}

/** CPU use between the two samples of a one-shot stats answer, in percent of one core. */
function cpuPercent(stats: Docker.ContainerStats): number {
  const cpu =
    stats.cpu_stats.cpu_usage.total_usage -
    stats.precpu_stats.cpu_usage.total_usage;
  const system =
    (stats.cpu_stats.system_cpu_usage ?? 0) -
    (stats.precpu_stats.system_cpu_usage ?? 0);
  const cores =
    stats.cpu_stats.online_cpus ??
    stats.cpu_stats.cpu_usage.percpu_usage?.length ??
    1;
  return cpu > 0 && system > 0 ? (cpu / system) * cores * 100 : 0;
}

/** A multiplexed attach/logs stream into the handle's lines (stdout and stderr apart). */
function followStream(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  lines: LogLines
): void {
  const stdout = lines.source('stdout');
  const stderr = lines.source('stderr');
  const sink = (source: typeof stdout) =>
    new Writable({
      write(chunk, _encoding, callback) {
        source.write(chunk);
        callback();
      }
    });
  docker.modem.demuxStream(stream, sink(stdout), sink(stderr));
  const end = () => {
    stdout.end();
    stderr.end();
  };
  stream.on('end', end);
  stream.on('close', end);
  stream.on('error', end);
}

class ContainerHandle implements JobHandle {
  readonly runner = 'docker' as const;
  readonly ref: string;
  private stopped = false;
  /** Left for the next sidecar: its container must stay to be read. */
  private detached = false;
  private exited?: Promise<JobExit>;

  constructor(
    private readonly container: Docker.Container,
    private readonly lines: LogLines,
    private readonly stream: NodeJS.ReadableStream
  ) {
    this.ref = container.id;
  }

  detach(): void {
    this.detached = true;
    (this.stream as NodeJS.ReadableStream & { destroy?(): void }).destroy?.();
  }

  async stats(): Promise<JobStats> {
    const stats = (await this.container.stats({
      stream: false
    })) as Docker.ContainerStats;
    const limit = stats.memory_stats.limit;
    return {
      cpu_percent: Math.round(cpuPercent(stats) * 10) / 10,
      // Docker's CLI shows usage less the page cache the kernel can drop.
      memory_bytes: Math.max(
        0,
        (stats.memory_stats.usage ?? 0) -
          ((stats.memory_stats.stats as Record<string, number> | undefined)
            ?.total_inactive_file ?? 0)
      ),
      memory_limit_bytes: limit && limit < 2 ** 60 ? limit : null
    };
  }

  get logs(): AsyncIterable<import('./runner').LogLine> {
    return this.lines.readable;
  }

  wait(): Promise<JobExit> {
    return (this.exited ??= this.waitOnce());
  }

  private async waitOnce(): Promise<JobExit> {
    const result = (await this.container.wait()) as { StatusCode: number };
    await this.lines.whenEnded();
    const info = await this.container.inspect();
    if (!this.detached) {
      await this.container.remove({ force: true }).catch(() => undefined);
    }
    const exitCode = info.State.ExitCode ?? result.StatusCode;
    return {
      exitCode,
      signal: null,
      oomKilled: Boolean(info.State.OOMKilled),
      stopped: this.stopped
    };
  }

  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    try {
      await this.container.stop({ t: Math.max(1, Math.ceil(graceMs / 1000)) });
    } catch (err) {
      // 304: already stopped; 404: already gone.
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 304 && status !== 404) {
        throw err;
      }
    }
  }
}
