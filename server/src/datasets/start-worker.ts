import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker script `name` of the folder `dir`: compiled JavaScript
 * in the built sidecar; under ts-jest or tsx (tests, benchmarks) the
 * TypeScript source, loaded through tsx's require hook.
 */
export function startWorker(
  dir: string,
  name: string,
  options: WorkerOptions
): Worker {
  const extension = path.extname(__filename);
  const script = path.join(dir, `${name}${extension}`);
  if (extension === '.ts') {
    return new Worker(
      `require('tsx/cjs'); require(${JSON.stringify(script)});`,
      { ...options, eval: true }
    );
  }
  return new Worker(script, options);
}
