import type { JwtClaims } from '../db/types';

/**
 * Where deployed models come from: the model registry (tracking). A version
 * is looked up and its files fetched as the deploying user, so row-level
 * security decides what they may deploy.
 */
export interface ModelVersionRef {
  /** The registered model's name (a project's own is named after its slug). */
  name: string;
  version: number;
  /** The project the registered model belongs to. */
  projectId: string;
  /** MLflow's source URI of the version's files, e.g. `runs:/<run id>/model`. */
  source: string;
  runId?: string;
  /**
   * Set when an Insighter training job produced this version: the digest of
   * its files at registration (tracking/model-digest.ts). Its files are
   * served from their safe format only while they still have it.
   */
  builtInDigest?: string;
}

export interface ModelSource {
  /** The version as the user sees it; undefined when it does not exist for them. */
  findVersion(
    user: JwtClaims,
    name: string,
    version: number
  ): Promise<ModelVersionRef | undefined>;
  /**
   * Writes the version's model files (`MLmodel`, `model.pkl`,
   * `input_example.json`, …) into `dir`, which exists and is empty.
   */
  download(user: JwtClaims, model: ModelVersionRef, dir: string): Promise<void>;
}
