import os from 'node:os';
import { z } from 'zod';
import type { RunnerMode } from './runners';
import { BWRAP } from './sandbox';

/**
 * Jobs' settings from the environment (spread into the sidecar's env schema).
 *
 * - `INSIGHTER_JOBS_RUNNER`: `auto` (default: Docker when `DOCKER_HOST` is set
 *   or the default socket answers, else processes), `process` or `docker`;
 * - `DOCKER_HOST`: the Docker engine (`unix:///…`, `tcp://host:port`);
 * - `INSIGHTER_JOB_MEMORY_MB` / `INSIGHTER_JOB_CPUS`: a job's limits unless it
 *   asks for others, up to `INSIGHTER_JOB_MAX_MEMORY_MB` / `INSIGHTER_JOB_MAX_CPUS`;
 * - `INSIGHTER_JOBS_MAX_RUNNING`: jobs at once (more wait, queued);
 * - `INSIGHTER_JOB_TOKEN_TTL_S`: how long a job's token lasts (its longest run);
 * - `INSIGHTER_SANDBOX_BWRAP`: bubblewrap, the sandbox of process jobs and of
 *   model servers where no Docker engine runs them (jobs/sandbox.ts).
 */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);
const count = (fallback: number) =>
  z.preprocess(unsetIfEmpty, z.coerce.number().int().min(1).default(fallback));
const cores = (fallback: number) =>
  z.preprocess(unsetIfEmpty, z.coerce.number().positive().default(fallback));

export const jobsEnvShape = {
  INSIGHTER_JOBS_RUNNER: z.preprocess(
    unsetIfEmpty,
    z.enum(['auto', 'process', 'docker']).default('auto')
  ),
  DOCKER_HOST: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(
        /^(unix:\/\/\/|tcp:\/\/|https?:\/\/|\/)\S+$/,
        'must be unix:///path/to/docker.sock or tcp://host:port'
      )
      .optional()
  ),
  INSIGHTER_JOB_MEMORY_MB: count(2048),
  INSIGHTER_JOB_MAX_MEMORY_MB: count(16384),
  INSIGHTER_JOB_CPUS: cores(1),
  INSIGHTER_JOB_MAX_CPUS: cores(Math.max(1, os.cpus().length)),
  INSIGHTER_JOBS_MAX_RUNNING: count(2),
  INSIGHTER_JOB_TOKEN_TTL_S: count(24 * 3600),
  INSIGHTER_SANDBOX_BWRAP: z.preprocess(
    unsetIfEmpty,
    z.string().startsWith('/', 'must be an absolute path').default(BWRAP)
  )
};

export interface JobsConfig {
  runner: RunnerMode;
  dockerHost?: string;
  memoryMb: number;
  maxMemoryMb: number;
  cpus: number;
  maxCpus: number;
  maxRunning: number;
  tokenTtlS: number;
  /** The bubblewrap binary. */
  bwrap: string;
}

type JobsEnv = z.output<z.ZodObject<typeof jobsEnvShape>>;

export function jobsConfigFrom(e: JobsEnv): JobsConfig {
  return {
    runner: e.INSIGHTER_JOBS_RUNNER,
    dockerHost: e.DOCKER_HOST,
    memoryMb: e.INSIGHTER_JOB_MEMORY_MB,
    maxMemoryMb: Math.max(
      e.INSIGHTER_JOB_MAX_MEMORY_MB,
      e.INSIGHTER_JOB_MEMORY_MB
    ),
    cpus: e.INSIGHTER_JOB_CPUS,
    maxCpus: Math.max(e.INSIGHTER_JOB_MAX_CPUS, e.INSIGHTER_JOB_CPUS),
    maxRunning: e.INSIGHTER_JOBS_MAX_RUNNING,
    tokenTtlS: e.INSIGHTER_JOB_TOKEN_TTL_S,
    bwrap: e.INSIGHTER_SANDBOX_BWRAP
  };
}
