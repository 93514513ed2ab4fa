import fs from 'node:fs';

/**
 * PGlite does not lock its data dir, and two processes writing one dir
 * silently lose writes: a lock file holding the owner's PID prevents it.
 * A lock left by a process that is gone (crash, kill -9) is taken over.
 */
export class DataDirLockedError extends Error {
  constructor(
    readonly pid: number,
    readonly dir: string
  ) {
    super(
      `Another Insighter sidecar (pid ${pid}) is using ${dir}. ` +
        'Stop it first, or point INSIGHTER_DATA_DIR at another folder.'
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

export function acquireDataDirLock(lockPath: string, dir: string): DataDirLock {
  // A few rounds: another process may take over the same stale lock at once.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o600);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
      } finally {
        fs.closeSync(fd);
      }
      return heldLock(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err;
      }
    }
    const holder = readLockPid(lockPath);
    if (holder !== undefined && isAlive(holder)) {
      throw new DataDirLockedError(holder, dir);
    }
    removeIfUnchanged(lockPath, holder);
  }
  throw new Error(
    `Could not take the lock ${lockPath}: it keeps changing hands.`
  );
}

function heldLock(lockPath: string): DataDirLock {
  let held = true;
  const release = () => {
    if (!held) {
      return;
    }
    held = false;
    process.off('exit', release);
    if (readLockPid(lockPath) === process.pid) {
      fs.rmSync(lockPath, { force: true });
    }
  };
  // A process that exits without closing the database still frees the dir.
  process.on('exit', release);
  return { path: lockPath, release };
}

function readLockPid(lockPath: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeIfUnchanged(
  lockPath: string,
  stalePid: number | undefined
): void {
  if (readLockPid(lockPath) === stalePid) {
    fs.rmSync(lockPath, { force: true });
  }
}
