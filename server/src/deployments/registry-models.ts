import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Database, JwtClaims } from '../db/types';
import { HttpError } from '../http/errors';
import type { ArtifactsService } from '../tracking/artifacts-service';
import { artifactFiles, proxiedFolderOf } from '../tracking/model-digest';
import { recordedDigest } from '../tracking/model-provenance';
import type { RegistryService } from '../tracking/registry-service';
import { findModel, findVersion } from '../tracking/registry-store';
import type { ModelSource, ModelVersionRef } from './model-source';

/**
 * Models from the built-in registry: the version's row (under the user's
 * claims, so row-level security decides) with the digest recorded if an
 * Insighter job produced it, and its files from the run's artifacts in
 * Storage (`runs:/<run id>/model` resolved as MLflow's get-download-uri
 * does), copied folder by folder.
 */
export class RegistryModelSource implements ModelSource {
  constructor(
    private readonly db: Database,
    private readonly registry: RegistryService,
    private readonly artifacts: ArtifactsService
  ) {}

  findVersion(user: JwtClaims, name: string, version: number): Promise<ModelVersionRef | undefined> {
    return this.db.withClaims(user, async tx => {
      const model = await findModel(tx, name);
      const row = model ? await findVersion(tx, model.id, version) : undefined;
      if (!model || !row) {
        return undefined;
      }
      return {
        name: model.name,
        version: row.version,
        projectId: model.project_id,
        source: row.source,
        runId: row.run_id ?? undefined,
        builtInDigest: await recordedDigest(tx, row.id)
      };
    });
  }

  async download(user: JwtClaims, model: ModelVersionRef, dir: string): Promise<void> {
    const uri = await this.registry.downloadUri(user, model.name, model.version);
    const stored = proxiedFolderOf(uri);
    if (!stored) {
      throw new Error(
        `Version ${model.version} of "${model.name}" keeps its files at ${uri}, which the sidecar cannot read: register a version logged to Insighter's tracking.`
      );
    }
    const copied = await this.copyFolder(user, stored, dir);
    if (copied === 0) {
      throw new Error(
        `Version ${model.version} of "${model.name}" has no files at ${uri}: the run did not log its model there.`
      );
    }
  }

  /** Every file under `folder` (proxied artifact path) into `dir`; how many. */
  private async copyFolder(user: JwtClaims, folder: string, dir: string): Promise<number> {
    let copied = 0;
    for await (const file of artifactFiles(this.artifacts, user, folder)) {
      const target = path.join(dir, ...file.path.split('/'));
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await pipeline(await file.open(), fs.createWriteStream(target));
      copied++;
    }
    return copied;
  }
}

/**
 * With an external MLflow server (`MLFLOW_TRACKING_URI`) the sidecar does not
 * fetch models from it yet: deploy requests are refused in words that say so.
 */
export class ExternalRegistryModelSource implements ModelSource {
  async findVersion(): Promise<ModelVersionRef | undefined> {
    throw new HttpError(
      501,
      'Deploying models from an external MLflow server (MLFLOW_TRACKING_URI) is not supported yet: serve them with `mlflow models serve`, or use the built-in tracking.',
      'not_supported'
    );
  }

  async download(): Promise<void> {
    throw new Error('Models of an external MLflow server cannot be fetched.');
  }
}
