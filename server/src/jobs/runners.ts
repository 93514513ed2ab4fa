import path from 'node:path';
import type { HealthCheck } from '../services/status';
import { DockerRunner } from './docker-runner';
import { ProcessRunner } from './process-runner';
import type { JobRunner, RunnerKind } from './runner';
import { Bubblewrap } from './sandbox';
import { TRAINING_PYTHON_DIR } from './training-package';

/**
 * The runners a sidecar has and which one a job gets when it names none.
 * Both are sandboxes: the process runner runs every job in bubblewrap.
 *
 * `INSIGHTER_JOBS_RUNNER`: `process` or `docker` always; `auto` (default):
 * Docker when `DOCKER_HOST` is set, or when the default socket answers
 * `/_ping` (checked at most every 30 s), else local processes.
 */
export type RunnerMode = 'auto' | RunnerKind;

const PING_CACHE_MS = 30_000;

export interface JobRunnersOptions {
  dataDir: string;
  mode: RunnerMode;
  /** `DOCKER_HOST`; unset: the default socket. */
  dockerHost?: string;
  /** The bubblewrap binary (default /usr/bin/bwrap). */
  bwrap?: string;
}

export class JobRunners {
  readonly process: ProcessRunner;
  readonly docker: DockerRunner;
  private pinged?: { at: number; ok: boolean };

  constructor(private readonly options: JobRunnersOptions) {
    this.process = new ProcessRunner({
      workDir: path.join(options.dataDir, 'jobs', 'work'),
      pythonPath: TRAINING_PYTHON_DIR,
      sandbox: new Bubblewrap(options.bwrap)
    });
    this.docker = new DockerRunner({
      host: options.dockerHost,
      pythonDir: TRAINING_PYTHON_DIR
    });
  }

  get(kind: RunnerKind): JobRunner {
    return kind === 'docker' ? this.docker : this.process;
  }

  async defaultKind(): Promise<RunnerKind> {
    if (this.options.mode !== 'auto') {
      return this.options.mode;
    }
    if (this.options.dockerHost) {
      return 'docker';
    }
    return (await this.defaultSocketAnswers()) ? 'docker' : 'process';
  }

  private async defaultSocketAnswers(): Promise<boolean> {
    const now = Date.now();
    if (!this.pinged || now - this.pinged.at > PING_CACHE_MS) {
      this.pinged = { at: now, ok: await this.docker.ping() };
    }
    return this.pinged.ok;
  }

  /** The `jobs` component of the system status. */
  health(): HealthCheck {
    return {
      name: 'jobs',
      check: async () => {
        const [local, docker] = await Promise.all([
          this.process.availability(),
          this.docker.availability()
        ]);
        const dockerWanted =
          this.options.mode === 'docker' ||
          (this.options.mode === 'auto' && Boolean(this.options.dockerHost));
        const usesDocker =
          dockerWanted || (this.options.mode === 'auto' && docker.available);
        if (usesDocker) {
          return {
            state: docker.available ? 'ok' : 'degraded',
            detail: docker.available
              ? `${docker.detail} ${local.available ? 'Local processes (in bubblewrap) are available too.' : local.detail}`
              : `${docker.detail} Jobs asking for Docker fail; choose the process runner meanwhile.`,
            backend: 'docker'
          };
        }
        return {
          state: local.available ? 'ok' : 'down',
          detail:
            this.options.mode === 'process'
              ? local.detail
              : `${local.detail} No Docker engine answers (${this.docker.where}).`,
          backend: 'process'
        };
      }
    };
  }
}
