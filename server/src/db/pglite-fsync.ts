import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { NodeFS } from '@electric-sql/pglite/nodefs';
import { PrivateNodeFS } from './private-nodefs';

/**
 * Durable commits for PGlite in a data dir.
 *
 * PGlite starts Postgres with fsync off (`-F` in its default start
 * parameters), and with fsync on its Emscripten file system would still
 * drop every sync: `fsync()` calls a stream operation NODEFS does not have,
 * and `fdatasync()` (Postgres' default way to sync the WAL on Linux) is a
 * stub that answers 0. A commit then reaches the OS page cache — it
 * survives the process being killed — but not the disk: a power cut could
 * lose acknowledged commits, and a checkpoint that recycled WAL whose data
 * pages never reached the disk could leave the database corrupt.
 *
 * Durable mode turns fsync on, gives NODEFS the missing `fsync` (a real
 * fsync of the host file), and syncs the WAL with `fsync()` instead of the
 * stubbed `fdatasync()`: each commit is one host fsync of the WAL segment,
 * and a checkpoint fsyncs the data files it wrote before it lets the WAL go.
 */
export function pgliteStorageOptions(options: {
  dataDir?: string;
  durable: boolean;
  /** Added to PGlite's default start parameters. */
  startParams: string[];
}): Pick<PGliteOptions, 'dataDir' | 'fs' | 'startParams'> {
  const { dataDir, durable, startParams } = options;
  if (!dataDir) {
    return { startParams: [...PGlite.defaultStartParams, ...startParams] };
  }
  if (!durable) {
    return {
      fs: new PrivateNodeFS(dataDir),
      startParams: [...PGlite.defaultStartParams, ...startParams]
    };
  }
  return {
    fs: new SyncingNodeFS(dataDir),
    startParams: [
      ...PGlite.defaultStartParams.filter(param => param !== '-F'),
      '-c',
      'fsync=on',
      '-c',
      'wal_sync_method=fsync',
      ...startParams
    ]
  };
}

/** The stream operations of Emscripten's NODEFS that matter here. */
interface NodefsStream {
  nfd?: number;
}
interface Nodefs {
  stream_ops: { fsync?: (stream: NodefsStream) => number };
  tryFSOperation<T>(operation: () => T): T;
}

/** PGlite's private NODEFS mount (private-nodefs.ts), with `fsync()` reaching the host file. */
class SyncingNodeFS extends PrivateNodeFS {
  override async init(
    pg: PGlite,
    options: Parameters<NodeFS['init']>[1]
  ): ReturnType<NodeFS['init']> {
    const amended = await super.init(pg, options);
    const preRun = amended.emscriptenOpts.preRun as unknown[];
    preRun.push((mod: { FS: { filesystems: { NODEFS: Nodefs } } }) => {
      const nodefs = mod.FS.filesystems.NODEFS;
      // Every NODEFS file and folder shares this object, so one property does it.
      nodefs.stream_ops.fsync = stream => {
        const fd = stream.nfd;
        if (fd !== undefined) {
          // A failed fsync becomes Postgres' errno (it then stops, as it must).
          nodefs.tryFSOperation(() => fs.fsyncSync(fd));
        }
        return 0;
      };
    });
    return amended;
  }
}

/**
 * Flushes a new data dir to the disk: every file and folder under it, and
 * its entry in its parent. PGlite makes a new data dir by copying initdb's
 * result (or a snapshot) in with plain writes that no checkpoint knows of:
 * without this a power cut soon after the first start could leave it half
 * on disk.
 */
export function syncNewDataDir(dataDir: string): void {
  syncTree(dataDir);
  syncPath(path.dirname(dataDir));
}

function syncTree(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      syncTree(full);
    } else if (entry.isFile()) {
      syncPath(full);
    }
  }
  syncPath(dir);
}

function syncPath(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
