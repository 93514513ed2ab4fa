import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Which sidecar supervises a job: a random id kept in the data dir, made on
 * first start. Stable across restarts (a new host name or container does not
 * orphan the jobs), distinct between sidecars sharing one database (each has
 * its own data dir), so a sidecar takes back its own jobs only.
 */
export async function loadWorkerId(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'run', 'jobs-worker-id');
  try {
    const id = (await fs.readFile(file, 'utf8')).trim();
    if (id) {
      return id;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw err;
    }
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  const id = randomUUID();
  // Exclusive: of two sidecars racing on a fresh data dir (one of them is
  // refused the data dir anyway), the first id stays.
  await fs.writeFile(file, `${id}\n`, { flag: 'wx' }).catch(async err => {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw err;
    }
  });
  return (await fs.readFile(file, 'utf8')).trim();
}
