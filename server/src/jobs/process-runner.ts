import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import {
  LogLines,
  type JobExit,
  type JobHandle,
  type JobRunner,
  type JobSpec,
  type JobStats,
  type LogLine,
  type RunnerAvailability,
  type SurvivingJob
} from './runner';

/**
 * Jobs as local child processes: the embedded default, nothing to install.
 *
 * - Memory: the program runs under `prlimit --as=<limit>` (RLIMIT_AS), so an
 *   allocation beyond the limit fails inside the job (Python's MemoryError,
 *   C++'s bad_alloc) instead of the machine swapping or the kernel's OOM
 *   killer picking a victim; the runner reports it as out of memory.
 * - CPU: not capped (no cgroup of our own without systemd); threads of
 *   numeric libraries are held to `cpus` through their usual variables.
 * - Its own process group, so cancel reaches the workers it forks too:
 *   SIGTERM to the group, SIGKILL after the grace period.
 * - Its environment is only what the job needs: the sidecar's own (database
 *   URLs, keys) never reaches training code.
 * A child cannot outlive its pipes to a restarted sidecar, so processes are
 * never re-attached: the jobs service marks them failed.
 */
export const PRLIMIT = '/usr/bin/prlimit';

/** Linux's USER_HZ, what /proc counts CPU time in. */
const CLOCK_TICKS = 100;

const OUT_OF_MEMORY_LINE =
  /\bMemoryError\b|std::bad_alloc|Cannot allocate memory|Unable to allocate|failed to map segment/;

export interface ProcessRunnerOptions {
  /** Folder the job runs in; made if missing. */
  workDir: string;
  /** Prepended to PYTHONPATH (the training package's folder). */
  pythonPath?: string;
}

export class ProcessRunner implements JobRunner {
  readonly kind = 'process' as const;

  constructor(private readonly options: ProcessRunnerOptions) {}

  async availability(): Promise<RunnerAvailability> {
    try {
      await fs.promises.access(PRLIMIT, fs.constants.X_OK);
    } catch {
      return {
        available: false,
        detail: `${PRLIMIT} is missing (Debian's util-linux): jobs cannot be given a memory limit.`
      };
    }
    return {
      available: true,
      detail: 'Jobs run as local processes with a memory limit.'
    };
  }

  async start(spec: JobSpec): Promise<JobHandle> {
    await fs.promises.mkdir(this.options.workDir, { recursive: true });
    const threads = String(Math.max(1, Math.floor(spec.limits.cpus)));
    const env: Record<string, string> = {
      PATH: '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      HOME: this.options.workDir,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      OMP_NUM_THREADS: threads,
      // One BLAS thread: under a tight memory limit OpenBLAS can hang
      // starting its threads instead of failing (XGBoost uses OpenMP).
      OPENBLAS_NUM_THREADS: '1',
      MKL_NUM_THREADS: '1',
      ...(this.options.pythonPath
        ? { PYTHONPATH: this.options.pythonPath }
        : {}),
      ...spec.env
    };
    const child = spawn(
      PRLIMIT,
      [`--as=${spec.limits.memoryMb * 1024 * 1024}`, '--', ...spec.command],
      {
        cwd: this.options.workDir,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe']
      }
    );
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return new ProcessHandle(child, spec.limits.memoryMb * 1024 * 1024);
  }

  async survivors(): Promise<SurvivingJob[]> {
    return [];
  }

  async reattach(
    _jobId: string,
    _skipLines: number
  ): Promise<JobHandle | undefined> {
    return undefined;
  }

  /**
   * Ends what is left of a process job whose sidecar died (`ref` as recorded,
   * `pid:<n>`): only when that pid is still a training process the runner
   * started, never an unrelated process that took its number.
   */
  async endLost(ref: string, marker: string): Promise<boolean> {
    const pid = Number(/^pid:(\d+)$/.exec(ref)?.[1]);
    if (!pid) {
      return false;
    }
    let cmdline: string;
    try {
      cmdline = await fs.promises.readFile(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return false;
    }
    if (!cmdline.split('\0').includes(marker)) {
      return false;
    }
    try {
      process.kill(-pid, 'SIGKILL');
      return true;
    } catch {
      return false;
    }
  }
}

class ProcessHandle implements JobHandle {
  readonly runner = 'process' as const;
  readonly ref: string;
  private readonly lines = new LogLines(0, line => {
    if (line.stream === 'stderr' && OUT_OF_MEMORY_LINE.test(line.text)) {
      this.outOfMemory = true;
    }
  });
  private stopped = false;
  private outOfMemory = false;
  private killTimer?: NodeJS.Timeout;
  private readonly exited: Promise<JobExit>;

  constructor(
    private readonly child: ChildProcess,
    private readonly memoryLimitBytes: number
  ) {
    this.ref = `pid:${child.pid}`;
    const stdout = this.lines.source('stdout');
    const stderr = this.lines.source('stderr');
    child.stdout?.on('data', chunk => stdout.write(chunk));
    child.stdout?.on('close', () => stdout.end());
    child.stderr?.on('data', chunk => stderr.write(chunk));
    child.stderr?.on('close', () => stderr.end());
    this.exited = new Promise(resolve => {
      child.once('close', (code, signal) => {
        clearTimeout(this.killTimer);
        // Node may report 'close' before our own pipe listeners ran: flush
        // each pipe's unfinished last line first.
        stdout.end();
        stderr.end();
        resolve({
          exitCode: code,
          signal,
          oomKilled: this.outOfMemory && !this.stopped,
          stopped: this.stopped
        });
      });
    });
  }

  /** From /proc: resident memory now, CPU over a quarter of a second. */
  async stats(): Promise<JobStats> {
    const pid = this.child.pid as number;
    const ticks = async () => {
      const stat = await fs.promises.readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime (fields 14 and 15 of proc(5)), in clock ticks.
      return Number(fields[11]) + Number(fields[12]);
    };
    const before = await ticks();
    const started = performance.now();
    await new Promise(resolve => setTimeout(resolve, 250));
    const used = (await ticks()) - before;
    const seconds = (performance.now() - started) / 1000;
    const status = await fs.promises.readFile(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    return {
      cpu_percent: Math.round((used / CLOCK_TICKS / seconds) * 1000) / 10,
      memory_bytes: rssKb * 1024,
      memory_limit_bytes: this.memoryLimitBytes
    };
  }

  get logs(): AsyncIterable<LogLine> {
    return this.lines.readable;
  }

  wait(): Promise<JobExit> {
    return this.exited;
  }

  async stop(graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return;
    }
    this.stopped = true;
    this.signalGroup('SIGTERM');
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    this.killTimer.unref();
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      // Negative pid: the whole group the job's own children belong to.
      process.kill(-(this.child.pid as number), signal);
    } catch {
      // Already gone.
    }
  }
}
