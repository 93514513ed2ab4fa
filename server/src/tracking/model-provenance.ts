import type { Database, Queryable } from '../db/types';
import type { ArtifactsService } from './artifacts-service';
import { artifactsDigest, proxiedFolderOf } from './model-digest';
import type { RegistryService } from './registry-service';
import { findModel, findVersion } from './registry-store';
import type { MlflowModelVersion, TrackingUser } from './tracking-store';

/**
 * Which model versions Insighter's own training jobs produced
 * (public.model_version_provenance). A version counts as a job's when the
 * job registered it itself — over its own socket, which only the sidecar
 * can tell (jobs/job-channel.ts) — from its own run's `model/` folder; the
 * digest of that folder's files is recorded then. Deploying compares it
 * with the files it got: equal, the version is served from its safe format;
 * anything else is served only in a sandbox.
 */
export interface RegisteringJob {
  jobId: string;
  runId: string;
}

export class ModelProvenance {
  constructor(
    private readonly db: Database,
    private readonly registry: RegistryService,
    private readonly artifacts: ArtifactsService
  ) {}

  /**
   * Marks a version the job just registered as its work, with the digest of
   * its files; answers whether it did. Unmarked, a version is served in a
   * sandbox only: a caller that fails here keeps the registration as it is.
   */
  async recordJobVersion(
    user: TrackingUser,
    version: MlflowModelVersion,
    job: RegisteringJob
  ): Promise<boolean> {
    if (
      version.run_id !== job.runId ||
      version.source !== `runs:/${job.runId}/model`
    ) {
      return false;
    }
    const folder = proxiedFolderOf(
      await this.registry.downloadUri(user, version.name, version.version)
    );
    if (!folder) {
      return false;
    }
    const digest = await artifactsDigest(this.artifacts, user, folder);
    const row = await this.db.withClaims(user, async tx => {
      const model = await findModel(tx, version.name);
      return model
        ? findVersion(tx, model.id, Number(version.version))
        : undefined;
    });
    if (!row) {
      return false;
    }
    await this.db.asService(tx =>
      tx.query(
        `insert into public.model_version_provenance (version_id, project_id, job_id, files_digest)
         values ($1, $2, $3, $4) on conflict (version_id) do nothing`,
        [row.id, row.project_id, job.jobId, digest]
      )
    );
    return true;
  }
}

/** The digest recorded for a version when a job produced it (read under the caller's claims). */
export async function recordedDigest(
  tx: Queryable,
  versionId: string
): Promise<string | undefined> {
  const { rows } = await tx.query<{ files_digest: string }>(
    'select files_digest from public.model_version_provenance where version_id = $1',
    [versionId]
  );
  return rows[0]?.files_digest;
}
