import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parentPort, workerData, type Worker } from 'node:worker_threads';
import { mergeProfiles, type CsvProfileOptions } from '../profile/csv-profiler';
import type { ToProfiler } from '../profile/profile-worker';
import type { DatasetProfile } from '../profile/profile-types';
import { startWorker } from '../start-worker';
import { DatasetValidationError, DatasetValidator } from './validator';
import type { ToWorker } from './threaded-validator';

/**
 * The worker half of `ThreadedValidator`: one upload's bytes, in order,
 * through `DatasetValidator` and SHA-256 — and, when asked
 * (`workerData.profile`), a CSV's on to profiling threads of their own
 * (profile-worker.ts; two on two cores, each with half of the columns)
 * from the moment the validator has read the header. Answers every chunk
 * with `ack` once it is through everywhere (the sender's flow control),
 * the first problem with `invalid`, and the end with `done` (the result,
 * the digest and a CSV's profile).
 */
const port = parentPort!;
const profileOptions = (workerData as { profile?: CsvProfileOptions } | null)
  ?.profile;
const validator = new DatasetValidator();
const hash = createHash('sha256');
let stopped = false;
let profilers: Worker[] = [];
/** Bytes each profiler has acknowledged, and the least of them passed on. */
let profiled: number[] = [];
let acknowledged = 0;
let profiles: (DatasetProfile | undefined)[] = [];
let finished: ((profile: DatasetProfile) => void) | undefined;
/** Chunks before the header is known (the validator's 64 KB sample). */
let held: Buffer[] | undefined = profileOptions ? [] : undefined;

/** A profiling thread keeps little but its sample on its heap. */
const PROFILER_LIMITS = { maxYoungGenerationSizeMb: 4 };

function stop(message: object): void {
  if (!stopped) {
    stopped = true;
    port.postMessage(message);
    for (const profiler of profilers) void profiler.terminate();
  }
}

function ack(bytes: number): void {
  port.postMessage({ type: 'ack', bytes });
}

function toProfilers(message: ToProfiler): void {
  for (const profiler of profilers) profiler.postMessage(message);
}

function forward(chunk: Buffer): void {
  profilers.forEach((profiler, i) => {
    // The last gets the chunk's own buffer (sent over from the main
    // thread, used no more here); the others a copy of their own.
    const own =
      i === profilers.length - 1 &&
      chunk.byteOffset === 0 &&
      chunk.byteLength === chunk.buffer.byteLength;
    const bytes = own ? chunk : new Uint8Array(chunk);
    profiler.postMessage({ type: 'chunk', bytes } satisfies ToProfiler, [
      bytes.buffer as ArrayBuffer
    ]);
  });
}

/** The columns of each profiling thread: halves on two cores. */
function columnRanges(width: number): [number, number][] {
  const threads = Math.min(width, os.availableParallelism() >= 2 ? 2 : 1);
  const size = Math.ceil(width / threads);
  return Array.from({ length: threads }, (_, k) => [
    k * size,
    Math.min(width, (k + 1) * size)
  ]);
}

function startProfilers(layout: { delimiter: string; header: string[] }): void {
  const ranges = columnRanges(layout.header.length);
  profiled = ranges.map(() => 0);
  profiles = ranges.map(() => undefined);
  profilers = ranges.map((columns, k) => {
    const profiler = startWorker(
      path.join(__dirname, '../profile'),
      'profile-worker',
      { resourceLimits: PROFILER_LIMITS }
    );
    profiler.on('message', message => heard(k, message));
    profiler.on('error', err =>
      stop({ type: 'crashed', message: err.message })
    );
    profiler.postMessage({
      type: 'start',
      layout,
      options: { ...profileOptions, columns }
    } satisfies ToProfiler);
    return profiler;
  });
}

/** After validation: on to the profilers (acknowledged by them), or done. */
function profile(chunk: Buffer): void {
  if (profilers.length > 0) {
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
    startProfilers(layout);
    for (const bytes of held) forward(bytes);
    held = undefined;
  } else if (validator.isParquet) {
    for (const bytes of held) ack(bytes.length);
    held = undefined;
  }
}

function heard(
  k: number,
  message:
    | { type: 'ack'; bytes: number }
    | { type: 'profile'; profile: DatasetProfile }
    | { type: 'crashed'; message: string }
): void {
  if (message.type === 'ack') {
    profiled[k] += message.bytes;
    const through = Math.min(...profiled);
    if (through > acknowledged) {
      ack(through - acknowledged);
      acknowledged = through;
    }
  } else if (message.type === 'profile') {
    profiles[k] = message.profile;
    if (profiles.every(part => part !== undefined)) {
      finished?.(mergeProfiles(profiles as DatasetProfile[]));
    }
  } else {
    stop(message);
  }
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
    if (profilers.length === 0) {
      done();
      return;
    }
    finished = done;
    toProfilers({ type: 'end' });
  });
});
