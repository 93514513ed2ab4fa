import { Readable } from 'node:stream';
import type { SandboxMount } from './sandbox';

/**
 * Where training code runs. One interface, several engines: a local process
 * (the embedded default), a Docker container, later a Kubernetes Job. The
 * jobs service only ever sees this seam, so the same job record, logs, exit
 * reporting and cancel work whatever runs it.
 */
export type RunnerKind = 'process' | 'docker';

export interface JobSpec {
  jobId: string;
  projectId: string;
  /** argv; the first element is the program (an absolute path). */
  command: string[];
  /**
   * The job's whole environment besides the runner's own few variables.
   * Secrets (tokens) travel only here: never in argv, labels or logs.
   */
  env: Record<string, string>;
  limits: JobLimits;
  /**
   * Host folders the job sees, at the same paths (read-only unless
   * writable): in a sandbox or a container, the only files of the host it
   * sees besides /usr.
   */
  mounts?: SandboxMount[];
}

export interface JobLimits {
  memoryMb: number;
  /** Cores (fractions allowed); engines that cannot cap CPU ignore it. */
  cpus: number;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** One line, without its newline. */
  text: string;
  /** Milliseconds since the epoch, when the runner received it. */
  timestamp: number;
}

export interface JobExit {
  /** null when the program was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  /** The memory limit ended it (Docker's OOMKilled, or the process ran out of address space). */
  oomKilled: boolean;
  /** `stop()` was asked for: a cancel, not a failure. */
  stopped: boolean;
}

export interface JobHandle {
  readonly runner: RunnerKind;
  /** What identifies the running thing to its engine: `pid:<n>` or a container id. */
  readonly ref: string;
  /** Every output line in order, then the end; buffered, so a late reader loses nothing. */
  readonly logs: AsyncIterable<LogLine>;
  /** Resolves once the program ended and every log line was delivered to `logs`. */
  wait(): Promise<JobExit>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it asked (use `wait()` for the end). */
  stop(graceMs?: number): Promise<void>;
  /**
   * Stops following the job without stopping it (the sidecar is shutting
   * down; a container goes on and is re-attached by the next sidecar).
   */
  detach?(): void;
  /** CPU and memory use now, where the engine can tell. */
  stats?(): Promise<JobStats>;
}

export interface JobStats {
  /** Of one core: 150 means one and a half cores busy. */
  cpu_percent: number;
  memory_bytes: number;
  memory_limit_bytes: number | null;
}

export interface RunnerAvailability {
  available: boolean;
  /** One sentence a person can act on. */
  detail: string;
}

/** A job still known to the engine after a sidecar restart. */
export interface SurvivingJob {
  jobId: string;
  ref: string;
  running: boolean;
}

export interface JobRunner {
  readonly kind: RunnerKind;
  availability(): Promise<RunnerAvailability>;
  start(spec: JobSpec): Promise<JobHandle>;
  /** Jobs the engine still holds (Docker: containers labelled `insighter.job_id`). */
  survivors(): Promise<SurvivingJob[]>;
  /**
   * Follows a job started before a restart; `skipLines` lines of it were
   * already recorded and are not delivered again. Undefined when the engine
   * no longer knows it.
   */
  reattach(jobId: string, skipLines: number): Promise<JobHandle | undefined>;
}

/** The memory-limit message jobs show, in the same words whatever engine ran them. */
export function outOfMemoryMessage(limits: JobLimits): string {
  return `The training ran out of memory (limit ${limits.memoryMb} MB): use a smaller dataset or fewer/shallower trees, or raise the job's memory limit.`;
}

/** Longer lines are cut into pieces of this many characters (a runaway print must not hold memory). */
export const MAX_LINE_CHARS = 8192;

/**
 * Turns a byte stream into lines. Bytes are decoded as UTF-8 across chunk
 * boundaries; `\r\n` and a lone `\n` end a line; what is left at the end is
 * the last line.
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private rest = '';

  constructor(private readonly onLine: (text: string) => void) {}

  write(chunk: Uint8Array): void {
    this.take(this.decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    this.take(this.decoder.decode());
    if (this.rest) {
      this.emit(this.rest);
      this.rest = '';
    }
  }

  private take(text: string): void {
    if (!text) {
      return;
    }
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop() ?? '';
    for (const part of parts) {
      this.emit(part.endsWith('\r') ? part.slice(0, -1) : part);
    }
    while (this.rest.length > MAX_LINE_CHARS) {
      this.onLine(this.rest.slice(0, MAX_LINE_CHARS));
      this.rest = this.rest.slice(MAX_LINE_CHARS);
    }
  }

  private emit(line: string): void {
    for (let i = 0; i < line.length; i += MAX_LINE_CHARS) {
      this.onLine(line.slice(i, i + MAX_LINE_CHARS));
    }
    if (line.length === 0) {
      this.onLine('');
    }
  }
}

/**
 * The `logs` of a handle: lines from stdout and stderr merged in arrival
 * order, ended once every source ended.
 */
export class LogLines {
  readonly readable = new Readable({ objectMode: true, read() {} });
  private open = 0;
  private skip: number;
  private ended = false;
  private readonly drained: Promise<void>;
  private markDrained!: () => void;

  /**
   * `skipLines`: lines already delivered before (a re-attach) that are
   * dropped; `observe` sees every delivered line first (e.g. to spot an
   * out-of-memory message).
   */
  constructor(
    skipLines = 0,
    private readonly observe?: (line: LogLine) => void
  ) {
    this.skip = skipLines;
    this.drained = new Promise(resolve => (this.markDrained = resolve));
  }

  /** A byte source; returns what to call with its chunks and at its end. */
  source(stream: LogLine['stream']): {
    write(chunk: Uint8Array): void;
    end(): void;
  } {
    this.open += 1;
    const splitter = new LineSplitter(text =>
      this.push({ stream, text, timestamp: Date.now() })
    );
    let done = false;
    return {
      write: chunk => splitter.write(chunk),
      end: () => {
        if (done) {
          return;
        }
        done = true;
        splitter.end();
        this.open -= 1;
        if (this.open === 0) {
          this.end();
        }
      }
    };
  }

  push(line: LogLine): void {
    if (this.ended) {
      return;
    }
    if (this.skip > 0) {
      this.skip -= 1;
      return;
    }
    this.observe?.(line);
    this.readable.push(line);
  }

  end(): void {
    if (!this.ended) {
      this.ended = true;
      this.readable.push(null);
      this.markDrained();
    }
  }

  /** Resolves when the last line was queued. */
  whenEnded(): Promise<void> {
    return this.drained;
  }
}
