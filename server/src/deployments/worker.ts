import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { JobExit, JobHandle, JobRunner } from '../jobs/runner';
import { makeSandboxReadable, makeSandboxWritableDir, sealSandboxDir } from '../jobs/sandbox';
import { reachableSocket } from '../jobs/unix-socket';
import { PYTHON } from '../jobs/training-package';
import { BatchRefusedError, MicroBatcher } from './batcher';
import type { ColumnSpec, Row } from './predict-input';

/**
 * One scoring worker (`python3 -m insighter_serve`) serving one deployment's
 * model directory, started through a jobs runner (a sandbox — bubblewrap or
 * a Docker container — or, for a model in the safe format only, a plain
 * process), and the sidecar's client of it: the worker prints one "ready"
 * line, then answers MLflow's `/invocations` (keep-alive HTTP) on a unix
 * socket in a folder of its own — the one place a sandbox without network
 * shares with the sidecar — to whoever sends its token. Requests reach it
 * through a `MicroBatcher`. The package lives beside the training script's
 * (server/python), on the runner's PYTHONPATH.
 *
 * `loader` says how it loads the model: `json` from the files Insighter's
 * jobs write (nothing in them can run: the worker forbids unpickling), or
 * `pickle` — which runs whatever the file says, so only in a sandbox.
 */
const TOKEN_HEADER = 'x-insighter-worker-token';

export interface WorkerMetadata {
  signature: ColumnSpec[] | null;
  kind: 'classifier' | 'regressor' | 'model';
  classes: unknown[] | null;
  fast_path: boolean;
  fast_path_note: string;
  model_class: string;
  loader: ModelLoader;
  /** Globals an unpickler asked for in the worker (each refused under the json loader). */
  refused_unpickling: number;
}

export type ModelLoader = 'json' | 'pickle';

export interface WorkerOptions {
  deploymentId: string;
  projectId: string;
  /** The folder with MLmodel, model.pkl and input_example.json. */
  modelDir: string;
  /** How the worker loads the model (see above). */
  loader: ModelLoader;
  /** A folder of its own for its socket, made afresh here. */
  socketDir: string;
  /** Where the worker's output lines are appended. */
  logFile: string;
  /** How long loading the model may take. */
  startTimeoutMs: number;
  memoryMb: number;
  batch: { maxRows: number; maxInFlight: number };
  /** How long one batch may take before the worker is considered hung. */
  requestTimeoutMs: number;
}

/** Why a worker could not start, with the lines it wrote last. */
export class WorkerStartError extends Error {}

/** The worker is gone (crashed, killed) or did not answer. */
export class WorkerUnavailableError extends Error {}

const TAIL_LINES = 20;

export class ServingWorker {
  readonly batcher: MicroBatcher;
  private readonly agent: http.Agent;
  private readonly columnsJson: string;
  private stopping = false;

  private constructor(
    readonly handle: JobHandle,
    readonly socketPath: string,
    private readonly token: string,
    readonly metadata: WorkerMetadata,
    readonly exited: Promise<JobExit>,
    private readonly tail: string[],
    private readonly options: WorkerOptions
  ) {
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: options.batch.maxInFlight + 1,
      scheduling: 'lifo'
    });
    this.columnsJson = JSON.stringify(
      (metadata.signature ?? []).map(column => column.name)
    );
    this.batcher = new MicroBatcher(rows => this.invoke(rows), options.batch);
    exited.then(() => {
      this.agent.destroy();
      this.batcher.failWaiting(
        new WorkerUnavailableError('The model server stopped.')
      );
    });
  }

  static async start(
    runner: JobRunner,
    options: WorkerOptions
  ): Promise<ServingWorker> {
    const token = randomBytes(32).toString('hex');
    const socketPath = path.join(options.socketDir, 'worker.sock');
    await fs.promises.mkdir(path.dirname(options.logFile), { recursive: true });
    await makeSandboxWritableDir(options.socketDir);
    await makeSandboxReadable(options.modelDir);
    const log = fs.createWriteStream(options.logFile, { flags: 'a' });
    const handle = await runner.start({
      jobId: options.deploymentId,
      projectId: options.projectId,
      command: [
        PYTHON,
        '-m',
        'insighter_serve',
        '--model-dir',
        options.modelDir,
        '--loader',
        options.loader,
        '--socket',
        socketPath,
        '--exit-with-parent',
        '--deployment-id',
        options.deploymentId
      ],
      env: { INSIGHTER_SERVE_TOKEN: token },
      limits: { memoryMb: options.memoryMb, cpus: 1 },
      mounts: [{ path: options.modelDir }, { path: options.socketDir, writable: true }]
    });
    const tail: string[] = [];
    let onReady!: (ready: { socket: string }) => void;
    const ready = new Promise<{ socket: string }>(resolve => (onReady = resolve));
    const exited = (async () => {
      for await (const line of handle.logs) {
        if (line.stream === 'stdout' && line.text.startsWith('{"event": "ready"')) {
          try {
            onReady(JSON.parse(line.text));
            continue;
          } catch {
            // Not ours after all: kept as output.
          }
        }
        tail.push(line.text);
        if (tail.length > TAIL_LINES) {
          tail.shift();
        }
        log.write(`${new Date(line.timestamp).toJSON()} ${line.stream} ${line.text}\n`);
      }
      const exit = await handle.wait();
      log.end();
      return exit;
    })();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready,
      exited.then(exit => ({ exit })),
      new Promise<'timeout'>(resolve => {
        timer = setTimeout(() => resolve('timeout'), options.startTimeoutMs);
      })
    ]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') {
      await handle.stop(1000);
      throw new WorkerStartError(
        `The model server did not start within ${Math.round(options.startTimeoutMs / 1000)} s.${lastLines(tail)}`
      );
    }
    if ('exit' in outcome) {
      throw new WorkerStartError(
        `The model server could not start (${describeExit(outcome.exit)}).${lastLines(tail)}`
      );
    }
    // Its socket is there: the folder is the sidecar's again, and what is in it must be a socket.
    await sealSandboxDir(options.socketDir);
    const made = await fs.promises.lstat(socketPath).catch(() => undefined);
    if (!made?.isSocket()) {
      await handle.stop(1000);
      throw new WorkerStartError(
        `The model server said it was ready, but ${socketPath} is not its socket.${lastLines(tail)}`
      );
    }
    // Held while the worker runs: a long socket path is reached through its folder's handle.
    const socket = await reachableSocket(socketPath);
    void exited.finally(() => socket.close());
    let metadata: WorkerMetadata;
    try {
      metadata = await fetchMetadata(socket.path, token);
    } catch (err) {
      await handle.stop(1000);
      throw new WorkerStartError(
        `The model server started but did not describe its model (${(err as Error).message}).${lastLines(tail)}`
      );
    }
    return new ServingWorker(
      handle,
      socket.path,
      token,
      metadata,
      exited,
      tail,
      options
    );
  }

  /** The lines the worker wrote last, for an error message. */
  lastOutput(): string {
    return lastLines(this.tail);
  }

  /** Rows in the signature's order → one prediction per row. */
  predict(rows: Row[]): Promise<unknown[]> {
    return this.batcher.submit(rows);
  }

  /** A request body as the client sent it (models without a signature): no batching. */
  async forward(
    body: Buffer,
    contentType: string
  ): Promise<{ status: number; body: Buffer }> {
    return this.post(body, contentType);
  }

  /** Lets answered requests finish, then ends the process. */
  async stop(graceMs = 5000): Promise<JobExit> {
    this.stopping = true;
    await Promise.race([
      this.batcher.idle(),
      new Promise(resolve => setTimeout(resolve, graceMs).unref())
    ]);
    await this.handle.stop(graceMs);
    return this.exited;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  private async invoke(rows: Row[]): Promise<unknown[]> {
    let body = `{"dataframe_split":{"columns":${this.columnsJson},"data":[`;
    for (let i = 0; i < rows.length; i++) {
      body += (i ? ',' : '') + JSON.stringify(rows[i]);
    }
    body += ']}}';
    const answer = await this.post(Buffer.from(body), 'application/json');
    const parsed = JSON.parse(answer.body.toString('utf8'));
    if (answer.status !== 200) {
      throw new BatchRefusedError(
        parsed?.message ?? `The model server answered ${answer.status}.`,
        answer.status
      );
    }
    return parsed.predictions;
  }

  private post(
    body: Buffer,
    contentType: string
  ): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method: 'POST',
          path: '/invocations',
          agent: this.agent,
          headers: {
            'content-type': contentType,
            'content-length': body.length,
            [TOKEN_HEADER]: this.token
          },
          timeout: this.options.requestTimeoutMs
        },
        res => {
          const chunks: Buffer[] = [];
          res.on('data', chunk => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) })
          );
          res.on('error', err => reject(unavailable(err)));
        }
      );
      req.on('timeout', () => {
        req.destroy(
          new Error(
            `no answer within ${Math.round(this.options.requestTimeoutMs / 1000)} s`
          )
        );
      });
      req.on('error', err => reject(unavailable(err)));
      req.end(body);
    });
  }
}

function fetchMetadata(socketPath: string, token: string): Promise<WorkerMetadata> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { socketPath, path: '/metadata', headers: { [TOKEN_HEADER]: token }, timeout: 10_000 },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', chunk => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`/metadata answered ${res.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WorkerMetadata);
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      }
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

function unavailable(err: Error): WorkerUnavailableError {
  return new WorkerUnavailableError(`The model server did not answer (${err.message}).`);
}

export function describeExit(exit: JobExit): string {
  if (exit.oomKilled) {
    return 'it ran out of memory';
  }
  if (exit.signal) {
    return `ended by ${exit.signal}`;
  }
  return `exit code ${exit.exitCode}`;
}

function lastLines(tail: string[]): string {
  const useful = tail.filter(line => line.trim() !== '').slice(-5);
  return useful.length ? ` Its last output: ${useful.join(' | ')}` : '';
}
