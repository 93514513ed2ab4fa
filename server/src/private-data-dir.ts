import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger';

/**
 * Everything under the data dir belongs to the service's OS user alone: the
 * database and its WAL, secrets, stored objects, logs, spools, notebooks.
 * Group and other permission bits are taken off at start (`makePrivate`)
 * and never given afterwards (`keepNewFilesPrivate`, and the PGlite file
 * system of db/private-nodefs.ts, which ignores the umask).
 */

/** Permission bits of group and others. */
export const SHARED_BITS = 0o077;

/**
 * From now on the process (and every process it starts: Python workers,
 * DuckDB's spill files) creates folders 0700 and files 0600. Set first
 * thing by the process entry (main.ts); a library must not change the
 * umask of whoever embeds it.
 */
export function keepNewFilesPrivate(): void {
  process.umask(SHARED_BITS);
}

/**
 * Takes group and other bits off `dir` and everything below it: folders
 * become 0700 and files 0600 (an executable keeps its owner's x bit).
 * Symbolic links are not followed: what they point at is not ours to change.
 * Creates `dir` (0700) when it is missing. Returns how many entries changed.
 */
export async function makePrivate(
  dir: string,
  logger: Logger
): Promise<number> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  let changed = 0;
  const refused: string[] = [];
  const visit = async (entry: string): Promise<void> => {
    let stat;
    try {
      stat = await fs.lstat(entry);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return; // Removed while we walked (a finished upload's spool).
      }
      throw err;
    }
    if (stat.isSymbolicLink()) {
      return;
    }
    if (stat.mode & SHARED_BITS) {
      try {
        await fs.chmod(entry, stat.mode & 0o7700 & ~SHARED_BITS);
        changed += 1;
      } catch (err) {
        // Another user's file (a shared mount): say so, and go on.
        refused.push(`${entry} (${(err as NodeJS.ErrnoException).code})`);
      }
    }
    if (stat.isDirectory()) {
      let names: string[];
      try {
        names = await fs.readdir(entry);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return;
        }
        throw err;
      }
      for (const name of names) {
        await visit(path.join(entry, name));
      }
    }
  };
  await visit(dir);
  if (changed > 0) {
    logger.info(
      { dataDir: dir, changed },
      'data dir: took group and other permissions off files and folders'
    );
  }
  if (refused.length > 0) {
    logger.warn(
      { dataDir: dir, refused: refused.slice(0, 20), count: refused.length },
      'data dir: some entries could not be made private (not owned by this user)'
    );
  }
  return changed;
}
