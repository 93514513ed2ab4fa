import { parentPort } from 'node:worker_threads';
import {
  CsvProfiler,
  type CsvLayout,
  type CsvProfileOptions
} from './csv-profiler';

/** The validation thread → this one. */
export type ToProfiler =
  | { type: 'start'; layout: CsvLayout; options: CsvProfileOptions }
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'end' };

/**
 * A CSV upload's profile, on a thread of its own beside the validation
 * thread that feeds it (validator-worker.ts): `CsvProfiler` takes each
 * chunk as it comes and answers `ack` (the feeder's flow control), and
 * at the end the profile.
 */
const port = parentPort!;
let profiler: CsvProfiler | undefined;

port.on('message', (message: ToProfiler) => {
  try {
    switch (message.type) {
      case 'start':
        profiler = new CsvProfiler(message.layout, message.options);
        return;
      case 'chunk':
        profiler!.push(message.bytes);
        // The bytes go back: a thread that allocates little collects its
        // garbage rarely, and dead chunks would pile up here meanwhile.
        port.postMessage(
          { type: 'ack', bytes: message.bytes.length, chunk: message.bytes },
          [message.bytes.buffer as ArrayBuffer]
        );
        return;
      case 'end':
        port.postMessage({ type: 'profile', profile: profiler!.finish() });
        return;
    }
  } catch (err) {
    port.postMessage({ type: 'crashed', message: (err as Error).message });
  }
});
