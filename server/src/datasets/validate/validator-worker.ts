import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { CsvProfiler, type CsvProfileOptions } from '../profile/csv-profiler';
import { DatasetValidationError, DatasetValidator } from './validator';
import type { ToWorker } from './threaded-validator';

/**
 * The worker half of `ThreadedValidator`: one upload's bytes, in order,
 * through `DatasetValidator` and SHA-256 — and, when asked
 * (`workerData.profile`), a CSV's through `CsvProfiler` as well, from the
 * moment the validator has read its header. Answers every chunk with
 * `ack` (the sender's flow control), the first problem with `invalid`,
 * and the end with `done` (the result, the digest and a CSV's profile).
 */
const port = parentPort!;
const profileOptions = (workerData as { profile?: CsvProfileOptions } | null)
  ?.profile;
const validator = new DatasetValidator();
const hash = createHash('sha256');
let stopped = false;
let profiler: CsvProfiler | undefined;
/** Chunks before the header is known (the validator's 64 KB sample). */
let held: Buffer[] | undefined = profileOptions ? [] : undefined;

function stop(message: object): void {
  if (!stopped) {
    stopped = true;
    port.postMessage(message);
  }
}

function crashed(err: unknown): void {
  stop({ type: 'crashed', message: (err as Error).message });
}

function profile(chunk: Buffer): void {
  if (profiler) {
    profiler.push(chunk);
    return;
  }
  if (!held) return;
  held.push(chunk);
  const layout = validator.csvLayout;
  if (layout) {
    profiler = new CsvProfiler(layout, profileOptions);
    for (const bytes of held) profiler.push(bytes);
    held = undefined;
  } else if (validator.isParquet) {
    held = undefined;
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
      if (err || stopped) return;
      try {
        profile(chunk);
      } catch (error) {
        crashed(error);
        return;
      }
      port.postMessage({ type: 'ack', bytes: chunk.length });
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
    try {
      // A file smaller than the sample: its header is known only now.
      if (held) profile(Buffer.alloc(0));
      stop({
        type: 'done',
        result,
        sha256: hash.digest('hex'),
        profile: profiler?.finish()
      });
    } catch (error) {
      crashed(error);
    }
  });
});
