import { Transform, type TransformCallback } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import type { CsvProfileOptions } from '../profile/csv-profiler';
import type { DatasetProfile } from '../profile/profile-types';
import { startWorkerScript } from '../../worker-script';
import { DatasetValidationError, type ValidationResult } from './validator';

/** Main thread → worker. */
export type ToWorker = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' };

/** Worker → main thread. */
type FromWorker =
  | { type: 'ack'; bytes: number }
  | { type: 'invalid'; reason: string }
  | { type: 'crashed'; message: string }
  | {
      type: 'done';
      result: ValidationResult;
      sha256: string;
      profile?: DatasetProfile;
    };

/**
 * Bytes handed to the worker and not yet checked, before the stream waits:
 * bounds the memory a fast sender can pin while the worker catches up.
 */
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/**
 * `DatasetValidator` and SHA-256 on a worker thread, as a pass-through
 * stage of the upload's pipeline. On the event loop they took ≈ 1.7 s of
 * every GB uploaded (the validator's scan and the hash), time the loop
 * needs to receive the body and hand it to Storage; on the second core
 * they run beside that. Each chunk is copied once to the worker; at most
 * `MAX_IN_FLIGHT_BYTES` wait there unchecked. The first problem the
 * worker finds ends the stream with its `DatasetValidationError` (a few
 * MB may have passed on by then: the caller discards the upload anyway).
 * With `profile` options a CSV is profiled as its bytes go by, on a thread
 * of its own fed by that one (`CsvProfiler`): the profile is ready when
 * the upload ends, and the chunk is acknowledged once profiled too. After
 * `finish`, `result`, `sha256` and (a CSV's) `profile` hold the outcome.
 */
export class ThreadedValidator extends Transform {
  result: ValidationResult | undefined;
  sha256 = '';
  profile: DatasetProfile | undefined;
  private readonly worker: Worker;
  private inFlight = 0;
  /** The write held back while too much is in flight. */
  private waiting: (() => void) | undefined;
  private finishing: ((err?: Error) => void) | undefined;
  private problem: Error | undefined;

  constructor(options: { profile?: CsvProfileOptions } = {}) {
    super();
    this.worker = startWorkerScript(__dirname, 'validator-worker', {
      workerData: options,
      resourceLimits: WORKER_LIMITS
    });
    this.worker.on('message', (message: FromWorker) => this.heard(message));
    this.worker.on('error', err => this.fail(err));
    this.worker.on('exit', code => {
      if (this.result === undefined && !this.problem) {
        this.fail(new Error(`The validation thread stopped (exit ${code}).`));
      }
    });
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: TransformCallback
  ): void {
    if (this.problem) {
      callback(this.problem);
      return;
    }
    // A copy the worker owns: the chunk goes on to Storage meanwhile.
    const bytes = new Uint8Array(chunk);
    this.worker.postMessage({ type: 'chunk', bytes } satisfies ToWorker, [
      bytes.buffer
    ]);
    this.inFlight += chunk.length;
    this.push(chunk);
    if (this.inFlight <= MAX_IN_FLIGHT_BYTES) {
      callback();
      return;
    }
    this.waiting = () => callback(this.problem);
  }

  override _flush(callback: TransformCallback): void {
    if (this.problem) {
      callback(this.problem);
      return;
    }
    this.finishing = callback;
    this.worker.postMessage({ type: 'end' } satisfies ToWorker);
  }

  override _destroy(
    err: Error | null,
    callback: (error?: Error | null) => void
  ): void {
    void this.worker.terminate();
    callback(err);
  }

  private heard(message: FromWorker): void {
    switch (message.type) {
      case 'ack':
        this.inFlight -= message.bytes;
        if (this.waiting && this.inFlight <= MAX_IN_FLIGHT_BYTES / 2) {
          const resume = this.waiting;
          this.waiting = undefined;
          resume();
        }
        return;
      case 'done':
        this.result = message.result;
        this.sha256 = message.sha256;
        this.profile = message.profile;
        void this.worker.terminate();
        this.finishing?.();
        return;
      case 'invalid':
        this.result = { ok: false, reason: message.reason };
        this.fail(new DatasetValidationError(message.reason));
        return;
      case 'crashed':
        this.fail(new Error(`Validation failed: ${message.message}`));
        return;
    }
  }

  /** Ends the stream with `err` wherever it is: writing, waiting or finishing. */
  private fail(err: Error): void {
    if (this.problem) {
      return;
    }
    this.problem = err;
    void this.worker.terminate();
    if (this.finishing) {
      this.finishing(err);
    } else if (this.waiting) {
      const resume = this.waiting;
      this.waiting = undefined;
      resume();
    } else {
      this.destroy(err);
    }
  }
}

/**
 * The worker keeps almost nothing on its heap (the chunks are outside it):
 * a small young generation keeps its share of the sidecar's RSS small.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2 };
