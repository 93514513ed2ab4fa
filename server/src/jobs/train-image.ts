import { pack } from 'tar-stream';
import type Docker from 'dockerode';

/**
 * The training image, made here because no registry can be reached: a
 * skeleton root filesystem of a few kilobytes (directories, the merged-/usr
 * symlinks, passwd and group) that the job runs with the host's /usr,
 * /etc/alternatives and /etc/ld.so.cache mounted read-only — so the host's
 * Debian Python with pandas, scikit-learn and XGBoost runs inside, under the
 * container's memory, CPU and process limits. Built and imported on first use.
 */
export const TRAIN_IMAGE = 'insighter/train:local';

/** Where the host's training package folder appears inside the container. */
export const CONTAINER_PYTHON_DIR = '/opt/insighter/python';

/** Host paths the job needs, mounted read-only at the same place. */
export const HOST_RUNTIME_MOUNTS = [
  '/usr',
  '/etc/alternatives',
  '/etc/ld.so.cache',
  // Certificates, for an external MLflow server behind HTTPS.
  '/etc/ssl'
];

/** The skeleton root filesystem as a tar stream (what `docker import` takes). */
export function skeletonRootfs(): NodeJS.ReadableStream {
  const tar = pack();
  const mtime = new Date('2025-01-01T00:00:00Z');
  for (const dir of ['bin', 'lib', 'lib64', 'sbin']) {
    // Debian 12 merged /usr: these are links into the mounted /usr.
    tar.entry({ name: dir, type: 'symlink', linkname: `usr/${dir}`, mtime });
  }
  for (const dir of [
    'usr',
    'etc',
    'etc/ssl',
    'etc/alternatives',
    'dev',
    'proc',
    'sys',
    'opt',
    'opt/insighter',
    'opt/insighter/python',
    'work'
  ]) {
    tar.entry({ name: dir, type: 'directory', mode: 0o755, mtime });
  }
  tar.entry({ name: 'tmp', type: 'directory', mode: 0o1777, mtime });
  tar.entry(
    { name: 'etc/passwd', mode: 0o644, mtime },
    'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n'
  );
  tar.entry(
    { name: 'etc/group', mode: 0o644, mtime },
    'root:x:0:\nnogroup:x:65534:\n'
  );
  tar.entry({ name: 'etc/ld.so.cache', mode: 0o644, mtime }, '');
  tar.finalize();
  return tar as unknown as NodeJS.ReadableStream;
}

/** Imports the image unless the engine has it; concurrent callers share one import. */
export class TrainImage {
  private importing?: Promise<void>;

  constructor(private readonly docker: Docker) {}

  async ensure(): Promise<void> {
    if (await this.present()) {
      return;
    }
    this.importing ??= this.importOnce().finally(() => {
      this.importing = undefined;
    });
    await this.importing;
  }

  async present(): Promise<boolean> {
    try {
      await this.docker.getImage(TRAIN_IMAGE).inspect();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) {
        return false;
      }
      throw err;
    }
  }

  private async importOnce(): Promise<void> {
    const [repo, tag] = TRAIN_IMAGE.split(':');
    const progress = await this.docker.importImage(skeletonRootfs(), {
      repo,
      tag
    });
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(progress, (err, output) => {
        const failed = (output as { error?: string }[] | undefined)?.find(
          item => item.error
        );
        if (err || failed) {
          reject(err ?? new Error(failed?.error));
        } else {
          resolve();
        }
      })
    );
  }
}
