import { createHash } from 'node:crypto';
import path from 'node:path';
import { parentPort, workerData, type Worker } from 'node:worker_threads';
import type { CsvProfileOptions } from '../profile/csv-profiler';
import type { ToProfiler } from '../profile/profile-worker';
import type { DatasetProfile } from '../profile/profile-types';
import { startWorkerScript } from '../../worker-script';
import { DatasetValidationError, DatasetValidator } from './validator';
import type { ToWorker } from './threaded-validator';

/**
 * The worker half of `ThreadedValidator`: one upload's bytes, in order,
 * through `DatasetValidator` and SHA-256 — and, when asked
 * (`workerData.profile`), a CSV's on to a profiling thread of its own
 * (profile-worker.ts) from the moment the validator has read the header.
 * Answers every chunk with `ack` once it is through (the sender's flow
 * control), the first problem with `invalid`, and the end with `done`
 * (the result, the digest and a CSV's profile).
 */
const port = parentPort!;
const profileOptions = (workerData as { profile?: CsvProfileOptions } | null)
  ?.profile;
const validator = new DatasetValidator();
const hash = createHash('sha256');
let stopped = false;
let profiler: Worker | undefined;
let profiled: ((profile: DatasetProfile) => void) | undefined;
/** Chunks before the header is known (the validator's 64 KB sample). */
let held: Buffer[] | undefined = profileOptions ? [] : undefined;

/** The profiling thread keeps almost nothing but its sample on its heap. */
const PROFILER_LIMITS = { maxYoungGenerationSizeMb: 2 };

function stop(message: object): void {
  if (!stopped) {
    stopped = true;
    port.postMessage(message);
    void profiler?.terminate();
  }
}

function ack(bytes: number, chunk?: Uint8Array): void {
  port.postMessage(
    { type: 'ack', bytes },
    chunk ? [chunk.buffer as ArrayBuffer] : []
  );
}

function toProfiler(message: ToProfiler, transfer: ArrayBuffer[] = []): void {
  profiler!.postMessage(message, transfer);
}

function forward(chunk: Buffer): void {
  // The chunk's buffer is this thread's (sent over) and used no more here.
  toProfiler(
    { type: 'chunk', bytes: chunk },
    chunk.byteLength === chunk.buffer.byteLength
      ? [chunk.buffer as ArrayBuffer]
      : []
  );
}

/** After validation: on to the profiler (acknowledged by it), or done. */
function profile(chunk: Buffer): void {
  if (profiler) {
    forward(chunk);
    return;
  }
  if (!held) {
    ack(chunk.length);
    return;
  }
  held.push(chunk);
  const layout = validator.csvLayout;
  if (layout) {
    profiler = startWorkerScript(
      path.join(__dirname, '../profile'),
      'profile-worker',
      {
        resourceLimits: PROFILER_LIMITS
      }
    );
    profiler.on('message', heard);
    profiler.on('error', err =>
      stop({ type: 'crashed', message: err.message })
    );
    toProfiler({ type: 'start', layout, options: profileOptions! });
    for (const bytes of held) forward(bytes);
    held = undefined;
  } else if (validator.isParquet) {
    for (const bytes of held) ack(bytes.length);
    held = undefined;
  }
}

function heard(
  message:
    | { type: 'ack'; bytes: number; chunk: Uint8Array }
    | { type: 'profile'; profile: DatasetProfile }
    | { type: 'crashed'; message: string }
): void {
  // The chunk goes on back to the main thread, which collects it soon.
  if (message.type === 'ack') ack(message.bytes, message.chunk);
  else if (message.type === 'profile') profiled?.(message.profile);
  else stop(message);
}

validator.on('error', err => {
  stop(
    err instanceof DatasetValidationError
      ? { type: 'invalid', reason: err.reason }
      : { type: 'crashed', message: err.message }
  );
});
// The bytes pass through the validator unchanged; nobody needs them here.
validator.resume();

port.on('message', (message: ToWorker) => {
  if (stopped) {
    return;
  }
  if (message.type === 'chunk') {
    const chunk = Buffer.from(
      message.bytes.buffer,
      message.bytes.byteOffset,
      message.bytes.byteLength
    );
    hash.update(chunk);
    validator.write(chunk, err => {
      if (!err && !stopped) profile(chunk);
    });
    return;
  }
  validator.end(() => {
    const result = validator.result;
    if (!result?.ok) {
      stop({
        type: 'invalid',
        reason: result?.reason ?? 'The file could not be read'
      });
      return;
    }
    const done = (profile?: DatasetProfile) =>
      stop({ type: 'done', result, sha256: hash.digest('hex'), profile });
    // A file smaller than the sample: its header is known only now.
    if (held) profile(Buffer.alloc(0));
    if (!profiler) {
      done();
      return;
    }
    profiled = done;
    toProfiler({ type: 'end' });
  });
});
