import type { Contents } from '@jupyterlab/services';

/** Where project folders live in the Jupyter contents. */
export const PROJECTS_FOLDER = 'projects';

/** A project's folder: `projects/<slug>`. */
export function projectFolder(slug: string): string {
  return `${PROJECTS_FOLDER}/${slug}`;
}

/**
 * Makes sure the folder `path` (and every folder above it) exists. Saving a
 * directory model is Jupyter's idempotent "mkdir": it creates a missing
 * folder and leaves an existing one alone, so no request is expected to fail
 * (a failed request would be logged by the browser as an error).
 */
export async function ensureFolder(
  contents: Pick<Contents.IManager, 'save'>,
  path: string
): Promise<void> {
  let current = '';
  for (const part of path.split('/').filter(Boolean)) {
    current = current ? `${current}/${part}` : part;
    await contents.save(current, { type: 'directory' });
  }
}
