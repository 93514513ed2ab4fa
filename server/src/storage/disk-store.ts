import { createHash, randomUUID } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { storageErrors } from './errors';

/** What a finished upload left in the temp folder. */
export interface ReceivedBytes {
  tempPath: string;
  size: number;
  /** Hex SHA-256 of the bytes, computed while they streamed. */
  sha256: string;
}

/** A file found under a bucket folder (for the orphan sweep). */
export interface StoredFile {
  bucket: string;
  key: string;
  path: string;
  mtimeMs: number;
}

/** Raised while receiving when the body grows past the allowed size. */
class TooLarge extends Error {}

const TEMP_DIR = '.tmp';
/**
 * Bytes a write stream takes before it asks for a pause. Its default
 * (16 KB) is smaller than one socket read (64 KB), so every chunk waited
 * for the previous write to reach the disk: uploads ran at the speed of
 * thread-pool round trips, not of the disk.
 */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/**
 * Object bytes on disk: `<root>/<bucket>/<key>`, uploads first streamed into
 * `<root>/.tmp` (same filesystem, so placing one is an atomic rename). Keys
 * reach this adapter already validated (object-path.ts); it still refuses any
 * path that would resolve outside its root.
 *
 * Durable (the default), an object is on the disk before `place` returns:
 * its bytes are fsynced before the rename, and the folders whose entries
 * changed after it — so the metadata row committed next never names a file
 * that a power cut took away.
 */
export class DiskObjectStore {
  readonly tempDir: string;
  private readonly durable: boolean;

  constructor(
    readonly root: string,
    options: { durable?: boolean } = {}
  ) {
    this.tempDir = path.join(root, TEMP_DIR);
    this.durable = options.durable ?? true;
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.tempDir, { recursive: true });
  }

  objectPath(bucket: string, key: string): string {
    const bucketDir = path.join(this.root, bucket);
    const full = path.join(bucketDir, ...key.split('/'));
    if (!full.startsWith(bucketDir + path.sep)) {
      throw storageErrors.invalidKey('the object name leaves its bucket.');
    }
    return full;
  }

  /**
   * Streams `source` into a new temp file while counting and hashing it; past
   * `maxBytes` it stops with 413. On any failure (including the client going
   * away) the temp file is gone before this rejects.
   */
  async receive(source: Readable, maxBytes: number): Promise<ReceivedBytes> {
    const tempPath = path.join(this.tempDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) {
          done(new TooLarge());
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      }
    });
    // Piped by hand, not with pipeline(source, …): a refusal must not destroy
    // the request, so the client still reads the 413 (the route drains it).
    const written = pipeline(
      meter,
      fs.createWriteStream(tempPath, {
        flags: 'wx',
        mode: 0o600,
        highWaterMark: WRITE_BUFFER_BYTES,
        // fsync before close: the rename in `place` must not outrun the bytes.
        flush: this.durable
      })
    );
    const onError = (err: Error) => meter.destroy(err);
    const onClose = () => {
      if (!source.readableEnded) {
        meter.destroy(new Error('The upload ended before its last byte.'));
      }
    };
    source.once('error', onError);
    source.once('close', onClose);
    source.pipe(meter);
    // Gone before anyone listened (while the caller's session was checked):
    // its 'close' will not come again.
    if (source.closed) {
      onClose();
    }
    try {
      await written;
    } catch (err) {
      source.unpipe(meter);
      await this.discard(tempPath);
      if (err instanceof TooLarge) {
        throw storageErrors.entityTooLarge();
      }
      throw err;
    } finally {
      source.off('error', onError);
      source.off('close', onClose);
    }
    return { tempPath, size, sha256: hash.digest('hex') };
  }

  /** Moves a received file to its object path (replacing an older version). */
  async place(tempPath: string, bucket: string, key: string): Promise<void> {
    const target = this.objectPath(bucket, key);
    const folder = path.dirname(target);
    const created = await this.moveInto(tempPath, target);
    if (!this.durable) {
      return;
    }
    // The target's folder gained an entry, and each folder made just now is
    // a new entry of its parent. (A temp file that a power cut brings back
    // beside the object is swept at the next start.)
    const changed = [folder];
    if (created) {
      const above = path.dirname(created);
      for (
        let dir = folder;
        dir !== above && dir.startsWith(this.root + path.sep);
        dir = path.dirname(dir)
      ) {
        changed.push(path.dirname(dir));
      }
    }
    await Promise.all(changed.map(syncFolder));
  }

  /** The rename, with the folders it needs; answers the first folder it made. */
  private async moveInto(
    tempPath: string,
    target: string
  ): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const created = await fsp.mkdir(path.dirname(target), {
          recursive: true
        });
        await fsp.rename(tempPath, target);
        return created;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A delete next door may have pruned the folder just made: again.
        if (code === 'ENOENT' && attempt < 3) {
          continue;
        }
        if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
          throw storageErrors.invalidKey(
            'a file and a folder cannot have the same name in one folder.'
          );
        }
        throw err;
      }
    }
  }

  async discard(tempPath: string): Promise<void> {
    await fsp.rm(tempPath, { force: true });
  }

  /** Removes an object's file and the folders it leaves empty. */
  async remove(bucket: string, key: string): Promise<void> {
    const target = this.objectPath(bucket, key);
    await fsp.rm(target, { force: true });
    await this.pruneEmptyFolders(
      path.dirname(target),
      path.join(this.root, bucket)
    );
  }

  /** Size of the object's file, or undefined if it is missing. */
  async size(bucket: string, key: string): Promise<number | undefined> {
    try {
      const stat = await fsp.stat(this.objectPath(bucket, key));
      return stat.isFile() ? stat.size : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return undefined;
      }
      throw err;
    }
  }

  /** A stream of the object's bytes, `start`..`end` inclusive when given. */
  read(
    bucket: string,
    key: string,
    range?: { start: number; end: number }
  ): Readable {
    return fs.createReadStream(this.objectPath(bucket, key), range);
  }

  /** Bytes available to this process on the objects' filesystem. */
  async freeBytes(): Promise<number> {
    const stats = await fsp.statfs(this.root);
    return stats.bavail * stats.bsize;
  }

  /** Proves the folder is writable: a tiny file written and removed. */
  async probeWritable(): Promise<void> {
    const probe = path.join(this.tempDir, `${randomUUID()}.probe`);
    await fsp.writeFile(probe, 'ok', { flag: 'wx' });
    await fsp.rm(probe, { force: true });
  }

  /** Temp files last written before `cutoffMs` (uploads that never finished). */
  async staleTempFiles(cutoffMs: number): Promise<string[]> {
    const stale: string[] = [];
    for (const entry of await readDirIfAny(this.tempDir)) {
      const full = path.join(this.tempDir, entry.name);
      const stat = await fsp.lstat(full).catch(() => undefined);
      if (stat && stat.mtimeMs < cutoffMs) {
        stale.push(full);
      }
    }
    return stale;
  }

  /** Every file under the bucket folders, depth first. */
  async *files(): AsyncGenerator<StoredFile> {
    for (const bucket of await readDirIfAny(this.root)) {
      if (!bucket.isDirectory() || bucket.name === TEMP_DIR) {
        continue;
      }
      yield* this.walk(bucket.name, path.join(this.root, bucket.name), []);
    }
  }

  /** Removes a file found by `files()` and the folders it leaves empty. */
  async removeFile(file: StoredFile): Promise<void> {
    await fsp.rm(file.path, { force: true });
    await this.pruneEmptyFolders(
      path.dirname(file.path),
      path.join(this.root, file.bucket)
    );
  }

  private async *walk(
    bucket: string,
    dir: string,
    segments: string[]
  ): AsyncGenerator<StoredFile> {
    for (const entry of await readDirIfAny(dir)) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        yield* this.walk(bucket, full, [...segments, entry.name]);
      } else if (entry.isFile()) {
        const stat = await fsp.lstat(full).catch(() => undefined);
        if (stat) {
          yield {
            bucket,
            key: [...segments, entry.name].join('/'),
            path: full,
            mtimeMs: stat.mtimeMs
          };
        }
      }
    }
  }

  private async pruneEmptyFolders(from: string, stopAt: string): Promise<void> {
    let dir = from;
    while (dir.startsWith(stopAt + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        // Not empty (or already gone, or in use by an upload): stop here.
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readDirIfAny(dir: string): Promise<fs.Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }
    throw err;
  }
}
