import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RunnerAvailability } from './runner';

/**
 * The sandbox untrusted code runs in on this machine when no Docker engine
 * does: bubblewrap (Debian's `bubblewrap`). Training reads user data with
 * user-chosen parameters, and a model that was not written by Insighter's
 * own jobs runs whatever its pickle says: neither may run with the
 * sidecar's rights.
 *
 * Inside: the host's /usr (read-only, so Debian's Python with pandas,
 * scikit-learn and XGBoost), /etc/alternatives (numpy's BLAS is an
 * alternatives link), a private /tmp and /dev/shm, its own /proc, and of
 * the host's files only the folders the job names (`SandboxMount`), at the
 * same paths — nothing else of the data dir, no secrets. No network: its
 * own empty network namespace (loopback only); the sidecar is reached
 * through a unix socket in a mounted folder. Its own PID, IPC and UTS
 * namespaces and session; it dies with the sidecar (`--die-with-parent`).
 *
 * The user: nobody (65534), for real. As root, bwrap's `--uid` needs a user
 * namespace, whose 65534 is root outside it (files owned by root stay
 * readable); so bwrap runs without one and `setpriv` drops to 65534 with no
 * capabilities and no new privileges before the command starts. A sidecar
 * that is not root gets a user namespace instead (65534 inside is that
 * user outside, who owns nothing the sandbox can see but its mounts).
 */
export const BWRAP = '/usr/bin/bwrap';
export const SETPRIV = '/usr/bin/setpriv';
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

export const SANDBOX_MISSING =
  'No sandbox can run it here: install bubblewrap (apt-get install bubblewrap) or start a Docker engine (DOCKER_HOST).';

/** A host folder the sandboxed job sees at the same path. */
export interface SandboxMount {
  path: string;
  /** Read-only unless set. */
  writable?: boolean;
}

/** No sandbox answers: the job is refused, never run without one. */
export class SandboxUnavailableError extends Error {}

const PROBE_CACHE_MS = 30_000;

export class Bubblewrap {
  private probed?: { at: number; result: RunnerAvailability };
  private readonly asRoot = process.getuid?.() === 0;

  constructor(private readonly bin = BWRAP) {}

  /** Whether the sandbox starts here: a probe run of `true` in it (kept 30 s, for good once it worked). */
  async availability(): Promise<RunnerAvailability> {
    const now = Date.now();
    if (
      this.probed &&
      (this.probed.result.available || now - this.probed.at < PROBE_CACHE_MS)
    ) {
      return this.probed.result;
    }
    const result = await this.probe();
    this.probed = { at: now, result };
    return result;
  }

  /** argv that runs `command` in the sandbox, seeing `mounts`. */
  command(command: string[], mounts: SandboxMount[]): string[] {
    const args = [
      this.bin,
      '--die-with-parent',
      '--new-session',
      '--unshare-ipc',
      '--unshare-pid',
      '--unshare-net',
      '--unshare-uts',
      '--unshare-cgroup-try',
      ...(this.asRoot
        ? []
        : [
            '--unshare-user',
            '--uid',
            String(SANDBOX_UID),
            '--gid',
            String(SANDBOX_GID)
          ]),
      '--hostname',
      'sandbox',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/bin',
      '/bin',
      '--symlink',
      'usr/sbin',
      '/sbin',
      '--symlink',
      'usr/lib',
      '/lib',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--perms',
      '0755',
      '--dir',
      '/etc',
      '--ro-bind',
      '/etc/alternatives',
      '/etc/alternatives',
      '--ro-bind-try',
      '/etc/ld.so.cache',
      '/etc/ld.so.cache',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--perms',
      '1777',
      '--tmpfs',
      '/dev/shm',
      '--perms',
      '1777',
      '--tmpfs',
      '/tmp'
    ];
    const made = new Set(['/', '/etc', '/tmp', '/dev', '/proc']);
    for (const mount of mounts) {
      const where = path.resolve(mount.path);
      if (where === '/usr' || where.startsWith('/usr/')) {
        continue; // Already there, read-only.
      }
      // bwrap makes missing parents 0700 (root's): nobody could pass them.
      const parents: string[] = [];
      for (
        let dir = path.dirname(where);
        !made.has(dir);
        dir = path.dirname(dir)
      ) {
        parents.unshift(dir);
      }
      for (const dir of parents) {
        args.push('--perms', '0755', '--dir', dir);
        made.add(dir);
      }
      args.push(mount.writable ? '--bind' : '--ro-bind', where, where);
      made.add(where);
    }
    args.push('--chdir', '/tmp', '--');
    if (this.asRoot) {
      args.push(
        SETPRIV,
        `--reuid=${SANDBOX_UID}`,
        `--regid=${SANDBOX_GID}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--no-new-privs',
        '--'
      );
    }
    return [...args, ...command];
  }

  private probe(): Promise<RunnerAvailability> {
    const [bin, ...args] = this.command(['/usr/bin/true'], []);
    return new Promise(resolve =>
      execFile(bin, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
        if (!err) {
          resolve({
            available: true,
            detail:
              'Untrusted code runs in a bubblewrap sandbox (no network, as nobody, seeing only its own files).'
          });
          return;
        }
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        resolve({
          available: false,
          detail: missing
            ? `${this.bin} is missing: install bubblewrap (apt-get install bubblewrap) to sandbox jobs and models.`
            : `The bubblewrap sandbox does not start here (${String(stderr).trim() || err.message}): jobs and models that need it are refused.`
        });
      })
    );
  }
}

/**
 * Makes a fresh folder the sandbox's to write in (e.g. for its socket): as
 * root, given to nobody; otherwise the sandbox's user is this user already
 * (a user namespace, or Docker's `--user`).
 */
export async function makeSandboxWritableDir(dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true });
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    await fs.promises.chown(dir, SANDBOX_UID, SANDBOX_GID);
  }
}

/**
 * Takes a folder made by `makeSandboxWritableDir` back once the sandbox has
 * made what it had to (its socket): from then on the sandbox can no longer
 * swap what is in it (e.g. a symlink to another socket where the sidecar
 * expects its worker). As root only; otherwise the sandbox's user is the
 * folder's owner whatever is done here.
 */
export async function sealSandboxDir(dir: string): Promise<void> {
  if (process.getuid?.() === 0) {
    await fs.promises.chown(dir, 0, 0);
    // A listening socket keeps accepting without its owner reaching the folder.
    await fs.promises.chmod(dir, 0o700);
  }
}

/**
 * Lets the sandbox's user read a folder the sidecar wrote (a model) while
 * the data dir keeps its one rule — folders 0700, files 0600, nothing for
 * group or others (private-data-dir.ts): as root the folder is given to
 * nobody, the sandbox's user; otherwise the sandbox's user is this user
 * already. The sandbox sees it read-only, and no other sandbox sees it.
 */
export async function makeSandboxReadable(dir: string): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const lend = async (where: string, mode: number) => {
    if (asRoot) {
      await fs.promises.chown(where, SANDBOX_UID, SANDBOX_GID);
    }
    await fs.promises.chmod(where, mode);
  };
  await lend(dir, 0o700);
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const where = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await makeSandboxReadable(where);
    } else if (entry.isFile()) {
      await lend(where, 0o600);
    }
  }
}

/** Who a Docker container runs as: nobody when the sidecar is root, else the sidecar's own user. */
export function containerUser(): string {
  const uid = process.getuid?.() ?? 0;
  return uid === 0
    ? `${SANDBOX_UID}:${SANDBOX_GID}`
    : `${uid}:${process.getgid?.() ?? uid}`;
}
