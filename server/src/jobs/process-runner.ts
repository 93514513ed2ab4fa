import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { SandboxUnavailableError, SETPRIV, type Bubblewrap } from './sandbox';
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
 * - With a `sandbox` (what the sidecar always gives it for jobs and for
 *   models it did not write itself): the program runs in bubblewrap
 *   (sandbox.ts), seeing only the folders its spec mounts; a job is refused
 *   when the sandbox does not start here. Stopping ends bwrap, and the
 *   sandbox with it: no grace inside.
 * - It dies with the sidecar, however the sidecar ends (SIGKILL included):
 *   `setpriv --pdeathsig KILL` has the kernel kill it when its parent dies
 *   (bubblewrap's --die-with-parent then takes the sandbox along).
 * A child cannot outlive its pipes to a restarted sidecar, so processes are
 * never re-attached: the jobs service marks them failed.
 */
export const PRLIMIT = '/usr/bin/prlimit';

/** The prefix that kills a child when the sidecar dies (Linux; util-linux's setpriv). */
const DIE_WITH_SIDECAR = fs.existsSync(SETPRIV)
  ? [SETPRIV, '--pdeathsig', 'KILL', '--']
  : [];

/** Linux's USER_HZ, what /proc counts CPU time in. */
const CLOCK_TICKS = 100;

const OUT_OF_MEMORY_LINE =
  /\bMemoryError\b|std::bad_alloc|Cannot allocate memory|Unable to allocate|failed to map segment/;

export interface ProcessRunnerOptions {
  /** Folder the job runs in; made if missing. */
  workDir: string;
  /** Prepended to PYTHONPATH (the training package's folder); mounted read-only in the sandbox. */
  pythonPath?: string;
  /** Run every job in this sandbox; without it jobs run with the sidecar's rights. */
  sandbox?: Bubblewrap;
}

export class ProcessRunner implements JobRunner {
  readonly kind = 'process' as const;

  constructor(private readonly options: ProcessRunnerOptions) {}

  get sandboxed(): boolean {
    return this.options.sandbox !== undefined;
  }

  async availability(): Promise<RunnerAvailability> {
    try {
      await fs.promises.access(PRLIMIT, fs.constants.X_OK);
    } catch {
      return {
        available: false,
        detail: `${PRLIMIT} is missing (Debian's util-linux): jobs cannot be given a memory limit.`
      };
    }
    if (this.options.sandbox) {
      const sandbox = await this.options.sandbox.availability();
      return {
        available: sandbox.available,
        detail: sandbox.available
          ? 'Jobs run as local processes with a memory limit, in a bubblewrap sandbox.'
          : sandbox.detail
      };
    }
    return {
      available: true,
      detail: 'Jobs run as local processes with a memory limit.'
    };
  }

  async start(spec: JobSpec): Promise<JobHandle> {
    const { sandbox, pythonPath } = this.options;
    if (sandbox) {
      const ready = await sandbox.availability();
      if (!ready.available) {
        throw new SandboxUnavailableError(ready.detail);
      }
    }
    await fs.promises.mkdir(this.options.workDir, { recursive: true });
    const threads = String(Math.max(1, Math.floor(spec.limits.cpus)));
    const env: Record<string, string> = {
      PATH: '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      // In the sandbox nothing of the host is home: its private /tmp is.
      HOME: sandbox ? '/tmp' : this.options.workDir,
      ...(sandbox ? { LOGNAME: 'nobody' } : {}),
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
    const command = sandbox
      ? sandbox.command(spec.command, [
          ...(pythonPath ? [{ path: pythonPath }] : []),
          ...(spec.mounts ?? [])
        ])
      : spec.command;
    // Spawned from the main thread: the parent-death signal follows the thread that forks.
    const child = spawn(
      PRLIMIT,
      [
        `--as=${spec.limits.memoryMb * 1024 * 1024}`,
        '--',
        ...DIE_WITH_SIDECAR,
        ...command
      ],
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

  /**
   * From /proc, over the process and everything it started (a sandbox's
   * program is bwrap's grandchild): resident memory now, CPU over a quarter
   * of a second.
   */
  async stats(): Promise<JobStats> {
    const pid = this.child.pid as number;
    const ticks = async () => {
      let total = 0;
      for (const one of await processTree(pid)) {
        const stat = await fs.promises.readFile(`/proc/${one}/stat`, 'utf8').catch(() => '');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // utime and stime (fields 14 and 15 of proc(5)), in clock ticks.
        total += (Number(fields[11]) || 0) + (Number(fields[12]) || 0);
      }
      return total;
    };
    const before = await ticks();
    const started = performance.now();
    await new Promise(resolve => setTimeout(resolve, 250));
    const used = Math.max(0, (await ticks()) - before);
    const seconds = (performance.now() - started) / 1000;
    let rssKb = 0;
    for (const one of await processTree(pid)) {
      const status = await fs.promises.readFile(`/proc/${one}/status`, 'utf8').catch(() => '');
      rssKb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
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

/** A process and its descendants, from /proc's children lists. */
async function processTree(pid: number): Promise<number[]> {
  const found: number[] = [];
  const pending = [pid];
  while (pending.length) {
    const next = pending.pop() as number;
    found.push(next);
    const tasks = await fs.promises.readdir(`/proc/${next}/task`).catch(() => [] as string[]);
    for (const task of tasks) {
      const children = await fs.promises
        .readFile(`/proc/${next}/task/${task}/children`, 'utf8')
        .catch(() => '');
      for (const child of children.split(' ')) {
        if (/^\d+$/.test(child)) {
          pending.push(Number(child));
        }
      }
    }
  }
  return found;
}
