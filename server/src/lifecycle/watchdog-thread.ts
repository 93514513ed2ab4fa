import { parentPort, workerData } from 'node:worker_threads';
import type { FromWatchdog, ToWatchdog, WatchdogOptions } from './watchdog';

/**
 * The thread half of `Watchdog`: it runs whatever the main thread is doing,
 * so a main thread stuck in a long computation still ends in time. It sees
 * the parent go (the pid this process was re-parented to differs) and ends
 * the process with SIGKILL when a deadline passes.
 */
const port = parentPort!;
const options = workerData as WatchdogOptions;
let deadline: NodeJS.Timeout | undefined;

function endBy(ms: number): void {
  if (deadline) {
    return;
  }
  deadline = setTimeout(() => process.kill(process.pid, 'SIGKILL'), ms);
}

port.on('message', (message: ToWatchdog) => {
  if (message.type === 'end-by') {
    endBy(message.ms);
  }
});

if (options.parentPid > 1) {
  const poll = setInterval(() => {
    if (process.ppid !== options.parentPid) {
      clearInterval(poll);
      port.postMessage({ type: 'parent-gone' } satisfies FromWatchdog);
      endBy(options.parentGoneGraceMs);
    }
  }, options.pollMs);
}
