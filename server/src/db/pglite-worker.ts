import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pgliteStorageOptions, syncNewDataDir } from './pglite-fsync';
import type {
  FromPgliteThread,
  PgliteThreadOptions,
  ToPgliteThread
} from './pglite-thread';

/**
 * The worker half of `PgliteThread`: PGlite (WASM Postgres) on its own
 * thread, answering raw protocol messages with raw protocol bytes. Any
 * failure of PGlite itself (a WASM abort, Postgres' own exit) ends this
 * thread: the instance is unusable after one, and the main thread opens a
 * new one on the same data dir.
 */
const port = parentPort!;
const options = workerData as PgliteThreadOptions;

function send(message: FromPgliteThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function fatal(err: unknown): never {
  send({
    type: 'failed',
    message: (err as { message?: string })?.message ?? String(err)
  });
  process.exit(1);
}

async function open(): Promise<PGlite> {
  const { dataDir, durable } = options;
  const fresh =
    dataDir !== undefined && !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  const pglite = new PGlite({
    ...pgliteStorageOptions(options),
    loadDataDir: options.loadFrom ? new Blob([options.loadFrom]) : undefined
  });
  await pglite.waitReady;
  if (fresh && durable && dataDir) {
    syncNewDataDir(dataDir);
  }
  return pglite;
}

open().then(
  pglite => {
    // One message at a time, in order: PGlite is one connection.
    let queue: Promise<void> = Promise.resolve();
    port.on('message', (message: ToPgliteThread) => {
      queue = queue.then(() => handle(pglite, message)).catch(fatal);
    });
    send({ type: 'ready' });
  },
  err => fatal(err)
);

async function handle(pglite: PGlite, message: ToPgliteThread): Promise<void> {
  switch (message.type) {
    case 'exec': {
      const bytes = await execRaw(pglite, message.bytes);
      // Handed over, not copied: the buffer is this answer's own.
      send({ type: 'done', id: message.id, bytes }, [
        bytes.buffer as ArrayBuffer
      ]);
      return;
    }
    case 'dump': {
      const dump = await (await pglite.dumpDataDir('none')).arrayBuffer();
      send({ type: 'done', id: message.id, bytes: new Uint8Array(dump) }, [
        dump
      ]);
      return;
    }
    case 'close':
      await pglite.close();
      send({ type: 'done', id: message.id });
      process.exit(0);
  }
}

/**
 * One round of protocol messages, answered in raw bytes. Through the
 * stream form: `execProtocolRaw` also parses every answer into message
 * objects in JavaScript (for PGlite's own query API), which `pg` on the
 * main thread does again — a tenth of this thread's time under load. No
 * sync to the file system after it: NODEFS and memory write through (and
 * durable mode fsyncs at each commit, see pglite-fsync.ts).
 */
async function execRaw(
  pglite: PGlite,
  message: Uint8Array
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  await pglite.execProtocolRawStream(message, {
    syncToFs: false,
    // A view into the WASM memory: copied before the next write reuses it.
    onRawData: chunk => {
      chunks.push(chunk.slice());
      length += chunk.byteLength;
    }
  });
  if (chunks.length === 1) {
    return chunks[0];
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
