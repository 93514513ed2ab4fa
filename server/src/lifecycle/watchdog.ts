import type { Worker } from 'node:worker_threads';
import type { Logger } from '../logger';
import { startWorkerScript } from '../worker-script';

/**
 * Keeps the sidecar from outliving its parent or overrunning its stop, even
 * when its main thread is busy (a WASM loop, a huge JSON.parse): signals
 * reach JavaScript only through the event loop, so a thread of its own
 * watches instead (watchdog-thread.ts).
 *
 * - The parent dies (the Jupyter server killed, a crash): noticed within
 *   `pollMs`; the main thread is told, to stop in order, and the process is
 *   killed after `parentGoneGraceMs` if it has not ended by then. On Linux
 *   the supervisor also has the kernel send SIGTERM (PR_SET_PDEATHSIG).
 * - `endBy(ms)`: a stop has begun; the process is killed when it has not
 *   ended within `ms`.
 * Killed with SIGKILL, the sidecar's own workers and jobs end with it (each
 * has a parent-death signal); its data dir lock is taken over as stale.
 */
export interface WatchdogOptions {
  /** The parent to watch (its pid at start); 1 or 0: none (started by init). */
  parentPid: number;
  pollMs: number;
  parentGoneGraceMs: number;
}

export type ToWatchdog = { type: 'end-by'; ms: number };
export type FromWatchdog = { type: 'parent-gone' };

export class Watchdog {
  private constructor(private readonly worker: Worker) {}

  static start(
    logger: Logger,
    onParentGone: () => void,
    options: Partial<WatchdogOptions> = {}
  ): Watchdog {
    const worker = startWorkerScript(__dirname, 'watchdog-thread', {
      workerData: {
        parentPid: process.ppid,
        pollMs: 200,
        parentGoneGraceMs: 4000,
        ...options
      } satisfies WatchdogOptions
    });
    worker.on('message', (message: FromWatchdog) => {
      if (message.type === 'parent-gone') {
        onParentGone();
      }
    });
    worker.on('error', err =>
      logger.error(
        { err },
        'the watchdog thread failed: the sidecar may outlive its parent'
      )
    );
    // It watches; it never keeps the process alive.
    worker.unref();
    return new Watchdog(worker);
  }

  /** Kills the process unless it has ended within `ms`. */
  endBy(ms: number): void {
    this.worker.postMessage({ type: 'end-by', ms } satisfies ToWatchdog);
  }
}
