import type { Queryable } from '../db/types';
import { doesNotExist, invalidParameter } from './errors';
import { findRun } from './runs-store';
import { isRunId } from './validation';

/**
 * Where a new model version's files may be. Whoever deploys or downloads
 * the version later reads its source with their own rights, so a source
 * its creator cannot read would hand them someone else's files through a
 * reader who can (or, for an experiment not made yet, through its future
 * owner). Checked when the version is created, with the creator's rights:
 * - `runs:/<run id>/…`: a run the creator can read, of the model's project
 *   (an explicit `run_id` that does not exist stays MLflow's 404);
 * - `mlflow-artifacts:/<experiment id>/…`: the artifacts of an experiment
 *   of the model's project the creator can read;
 * - local paths (`/…`, `file:…`, no scheme) are refused, as MLflow's own
 *   server refuses them: they name files on whatever machine reads them;
 * - `models:/…` is refused: register the version from its run instead;
 * - other stores (`s3://`, `gs://`, `https://`, …) are the client's to read
 *   with its own credentials: accepted as they are.
 */
export async function checkVersionSource(
  tx: Queryable,
  source: string,
  model: { name: string; project_id: string }
): Promise<void> {
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(source)?.[1].toLowerCase();
  if (scheme === 'runs') {
    const runId = /^runs:\/([^/]+)/.exec(source)?.[1] ?? '';
    if (!isRunId(runId) || !(await findRun(tx, runId))) {
      throw invalidParameter(
        `Source ${source} names no run you can read: register a version from a run of the project of registered model '${model.name}'.`
      );
    }
    await checkRun(tx, runId, model);
    return;
  }
  if (scheme === 'mlflow-artifacts') {
    const path = /^mlflow-artifacts:(?:\/\/[^/]*)?\/+(.*)$/i.exec(source)?.[1];
    const segments = path?.split('/') ?? [];
    const experiment = segments[0] ?? '';
    const project =
      /^\d{1,18}$/.test(experiment) &&
      !segments.some(s => s === '.' || s === '..')
        ? await readableArtifactProject(tx, experiment)
        : undefined;
    if (project !== model.project_id) {
      throw invalidParameter(
        `Source ${source} is not an artifact of the project of registered model '${model.name}' that you can read: register a version from one of its runs (runs:/<run_id>/model).`
      );
    }
    return;
  }
  if (scheme === undefined || scheme === 'file') {
    throw invalidParameter(
      `Source ${source} is a local path, which is not a model source here: register a version from a run (runs:/<run_id>/model) or from a store such as s3://.`
    );
  }
  if (scheme === 'models') {
    throw invalidParameter(
      `Source ${source} names another registered model: register the version from its run (runs:/<run_id>/model).`
    );
  }
}

/** A run the caller can read, of the model's project (`run_id` or a `runs:/` source). */
export async function checkRun(
  tx: Queryable,
  runId: string,
  model: { name: string; project_id: string }
): Promise<void> {
  const run = isRunId(runId) ? await findRun(tx, runId) : undefined;
  if (!run) {
    throw doesNotExist(`Run with id=${runId} not found`);
  }
  if (run.project_id !== model.project_id) {
    throw invalidParameter(
      `Run ${runId} belongs to another project than registered model '${model.name}': register it with a model of its own project.`
    );
  }
}

/** The project of an experiment's artifacts, if the caller can read it. */
async function readableArtifactProject(
  tx: Queryable,
  experimentId: string
): Promise<string | undefined> {
  const { rows } = await tx.query<{ project_id: string | null }>(
    `select case when public.can_read_project(p.id) then p.id end as project_id
     from (select public.artifact_project_id($1) as id) p`,
    [experimentId]
  );
  return rows[0]?.project_id ?? undefined;
}
