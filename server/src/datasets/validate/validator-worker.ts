import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { DatasetValidationError, DatasetValidator } from './validator';
import type { ToWorker } from './threaded-validator';

/**
 * The worker half of `ThreadedValidator`: one upload's bytes, in order,
 * through `DatasetValidator` and SHA-256. Answers every chunk with `ack`
 * (the sender's flow control), the first problem with `invalid`, and the
 * end with `done` (the result and the digest).
 */
const port = parentPort!;
const validator = new DatasetValidator();
const hash = createHash('sha256');
let stopped = false;

function stop(message: object): void {
  if (!stopped) {
    stopped = true;
    port.postMessage(message);
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
      if (!err) {
        port.postMessage({ type: 'ack', bytes: chunk.length });
      }
    });
    return;
  }
  validator.end(() => {
    const result = validator.result;
    if (result?.ok) {
      stop({ type: 'done', result, sha256: hash.digest('hex') });
    } else {
      stop({
        type: 'invalid',
        reason: result?.reason ?? 'The file could not be read'
      });
    }
  });
});
