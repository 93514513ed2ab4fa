import type { Worker } from 'node:worker_threads';
import { startWorkerScript } from '../worker-script';
import { DatabaseUnavailableError } from './errors';

/** What the worker opens: a data dir, or (tests) memory loaded from a dump. */
export interface PgliteThreadOptions {
  dataDir?: string;
  /** A `dumpDataDir` tarball to start from when the folder is new (tests). */
  loadFrom?: ArrayBuffer;
  /** Added to PGlite's default start parameters. */
  startParams: string[];
  /** Commits and the data dir reach the disk (fsync) before they are answered (see pglite-fsync.ts). */
  durable: boolean;
}

/** Main thread → worker. */
export type ToPgliteThread =
  | { type: 'exec'; id: number; bytes: Uint8Array }
  | { type: 'dump'; id: number }
  | { type: 'close'; id: number };

/** Worker → main thread. */
export type FromPgliteThread =
  | { type: 'ready' }
  | { type: 'done'; id: number; bytes?: Uint8Array }
  | { type: 'failed'; message: string };

interface Pending {
  resolve(bytes: Uint8Array | undefined): void;
  reject(err: Error): void;
}

/**
 * PGlite on a worker thread (pglite-worker.ts), spoken to in raw protocol
 * messages. On the event loop, PGlite blocked every request while one
 * query ran (a filter of 100 comparisons kept /health waiting 10 s); here a
 * query runs on the second core, and one that outlives its time limit is
 * ended by ending the thread: PGlite's WASM checks no timers, so Postgres'
 * own statement_timeout never fires in it. A thread that ended, or whose
 * PGlite failed, is `lost`: every call on it is refused and the owner opens
 * a new one.
 */
export class PgliteThread {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private lostBecause: Error | undefined;
  private closing = false;
  private readonly lostListeners: ((reason: Error) => void)[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromPgliteThread) => {
      if (message.type === 'done') {
        const call = this.pending.get(message.id);
        this.pending.delete(message.id);
        call?.resolve(message.bytes);
      } else if (message.type === 'failed') {
        this.lose(
          new DatabaseUnavailableError(
            `The embedded database stopped (${message.message}); it is being reopened, try again in a moment.`
          )
        );
      }
    });
    worker.on('error', err =>
      this.lose(
        new DatabaseUnavailableError(
          `The embedded database stopped (${err.message}); it is being reopened, try again in a moment.`
        )
      )
    );
    worker.on('exit', code => {
      if (!this.closing) {
        this.lose(
          new DatabaseUnavailableError(
            `The embedded database stopped (exit ${code}); it is being reopened, try again in a moment.`
          )
        );
      }
    });
  }

  /** Starts the thread and waits until its PGlite is open. */
  static start(options: PgliteThreadOptions): Promise<PgliteThread> {
    const worker = startWorkerScript(__dirname, 'pglite-worker', {
      workerData: options,
      transferList: options.loadFrom ? [options.loadFrom] : []
    });
    return new Promise((resolve, reject) => {
      const failed = (err: Error) => {
        void worker.terminate();
        reject(err);
      };
      const onMessage = (message: FromPgliteThread) => {
        if (message.type === 'ready') {
          cleanup();
          resolve(new PgliteThread(worker));
        } else if (message.type === 'failed') {
          cleanup();
          failed(new Error(message.message));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        failed(err);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(
          new Error(
            `The embedded database thread exited (${code}) while opening.`
          )
        );
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  get lost(): boolean {
    return this.lostBecause !== undefined;
  }

  /** Called once, when the thread ends or fails on its own (not on close). */
  onLost(listener: (reason: Error) => void): void {
    this.lostListeners.push(listener);
  }

  /**
   * One round of protocol messages, answered within `timeoutMs` or the
   * thread is ended (and the call refused with SQLSTATE 57014, as Postgres
   * answers a statement timeout).
   */
  async exec(bytes: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    // A copy to hand over: `pg` writes from a shared buffer pool.
    const copy = new Uint8Array(bytes);
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(
        () =>
          this.lose(
            new DatabaseUnavailableError(
              `canceling statement due to statement timeout (${timeoutMs} ms)`,
              '57014'
            )
          ),
        timeoutMs
      );
    }
    try {
      return (await this.call({ type: 'exec', bytes: copy }, [copy.buffer]))!;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A `dumpDataDir` tarball of the whole database. */
  async dump(): Promise<Uint8Array> {
    return (await this.call({ type: 'dump' }))!;
  }

  /** Closes PGlite (it flushes the data dir) and ends the thread. */
  async close(): Promise<void> {
    if (this.lost) {
      return;
    }
    this.closing = true;
    try {
      await this.call({ type: 'close' });
    } finally {
      await this.worker.terminate();
    }
  }

  /** Ends the thread at once, whatever it is doing. */
  async terminate(): Promise<void> {
    this.lose(
      new DatabaseUnavailableError('The embedded database was stopped.')
    );
    await this.worker.terminate();
  }

  private call(
    message:
      | { type: 'exec'; bytes: Uint8Array }
      | { type: 'dump' }
      | { type: 'close' },
    transfer: ArrayBuffer[] = []
  ): Promise<Uint8Array | undefined> {
    if (this.lostBecause) {
      return Promise.reject(this.lostBecause);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id } as ToPgliteThread, transfer);
    });
  }

  private lose(reason: Error): void {
    if (this.lostBecause) {
      return;
    }
    this.lostBecause = reason;
    for (const call of this.pending.values()) {
      call.reject(reason);
    }
    this.pending.clear();
    void this.worker.terminate();
    for (const listener of this.lostListeners) {
      listener(reason);
    }
  }
}
