import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactsService } from './artifacts-service';
import type { TrackingUser } from './tracking-store';

/**
 * The digest a model version's files are known by: sha256 over one line per
 * file — its path in the model folder and the sha256 of its bytes — in path
 * order. The same files give the same digest wherever they are: in the
 * run's artifacts at registration, in a deployment's folder on disk.
 */
export interface FileDigest {
  /** Relative to the model folder, `/`-separated. */
  path: string;
  sha256: string;
}

export function combineDigests(files: FileDigest[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0
  )) {
    hash.update(`${file.path}\0${file.sha256}\n`);
  }
  return hash.digest('hex');
}

/** The digest of a folder on disk (a deployment's copy of the model). */
export async function folderDigest(dir: string): Promise<string> {
  const files: FileDigest[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const entry of await fs.promises.readdir(folder, {
      withFileTypes: true
    })) {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      const where = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        await walk(where, relative);
      } else if (entry.isFile()) {
        files.push({
          path: relative,
          sha256: await sha256Of(fs.createReadStream(where))
        });
      }
    }
  };
  await walk(dir, '');
  return combineDigests(files);
}

/** The proxied folder (`<experiment>/<run>/artifacts/…`) of an `mlflow-artifacts:` URI; undefined for any other. */
export function proxiedFolderOf(uri: string): string | undefined {
  return /^mlflow-artifacts:\/+(.+?)\/*$/.exec(uri)?.[1];
}

/** Every file under a proxied artifact folder, as the user reads it (row-level security decides). */
export async function* artifactFiles(
  artifacts: ArtifactsService,
  user: TrackingUser,
  folder: string,
  prefix = ''
): AsyncGenerator<{
  path: string;
  open: () => Promise<NodeJS.ReadableStream>;
}> {
  for (const entry of await artifacts.listProxied(user, folder)) {
    const name = path.posix.basename(entry.path);
    if (name === '' || name === '.' || name === '..') {
      continue;
    }
    const relative = prefix ? `${prefix}/${name}` : name;
    if (entry.is_dir) {
      yield* artifactFiles(artifacts, user, `${folder}/${name}`, relative);
      continue;
    }
    yield {
      path: relative,
      open: async () => (await artifacts.open(user, `${folder}/${name}`)).read()
    };
  }
}

/** The digest of a proxied artifact folder (a version's files where its run logged them). */
export async function artifactsDigest(
  artifacts: ArtifactsService,
  user: TrackingUser,
  folder: string
): Promise<string> {
  const files: FileDigest[] = [];
  for await (const file of artifactFiles(artifacts, user, folder)) {
    files.push({ path: file.path, sha256: await sha256Of(await file.open()) });
  }
  return combineDigests(files);
}

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(stream, hash);
  return hash.digest('hex');
}
