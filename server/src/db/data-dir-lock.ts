import fs from 'node:fs';

/**
 * PGlite does not lock its data dir, and two processes writing one dir
 * silently lose writes: a lock file holding the owner's PID prevents it.
 * A lock left by a process that is gone (crash, kill -9, power cut) is taken
 * over — also when its PID now belongs to another process: one that started
 * after the lock was written cannot be its owner (PIDs wrap at 32768 here,
 * and a container restarted gives the same PIDs again).
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
    if (
      holder !== undefined &&
      isAlive(holder) &&
      !startedAfter(holder, lockPath)
    ) {
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

/** Slack for /proc/stat's boot time, which is whole seconds and drifts by one. */
const START_TIME_SLACK_MS = 2000;
/** Linux's USER_HZ, the unit of a process's start time in /proc. */
const CLOCK_TICKS = 100;

/** Whether `pid` started after the lock file was last written (so it cannot have written it). */
function startedAfter(pid: number, lockPath: string): boolean {
  const started = processStartMs(pid);
  if (started === undefined) {
    return false;
  }
  let written: number;
  try {
    written = fs.statSync(lockPath).mtimeMs;
  } catch {
    return false;
  }
  return started > written + START_TIME_SLACK_MS;
}

/** When a process started, in ms since the epoch; undefined where /proc does not tell. */
export function processStartMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis; starttime is the 22nd of proc(5).
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(
      /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]
    );
    return Number.isFinite(ticks) && boot > 0
      ? boot * 1000 + (ticks / CLOCK_TICKS) * 1000
      : undefined;
  } catch {
    return undefined;
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
