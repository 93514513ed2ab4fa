import { Readable } from 'node:stream';
import type { Database, Queryable } from '../db/types';
import { StorageError } from '../storage/errors';
import { normalizeObjectKey, normalizePrefix } from '../storage/object-path';
import type { StorageService, StoredObject } from '../storage/service';
import {
  codeForStatus,
  doesNotExist,
  invalidParameter,
  MlflowError
} from './errors';
import { findExperiment } from './experiments-store';
import { readOnly } from './project-access';
import { findRun } from './runs-store';
import type { TrackingUser } from './tracking-store';
import { isExperimentId, isRunId } from './validation';

/**
 * Run artifacts, proxied as MLflow's `mlflow-artifacts` API does, kept in
 * Storage: bucket `artifacts`, objects at the path MLflow uses
 * (`<experiment_id>/<run_id>/artifacts/<file>`), so a run's artifact_uri
 * `mlflow-artifacts:/<experiment_id>/<run_id>/artifacts` maps one to one.
 * Storage's row-level security (by the experiment's project) decides every
 * read and write; this layer answers its refusals MLflow's way and first
 * tells "no such experiment" from "read-only".
 */
export const ARTIFACTS_BUCKET = 'artifacts';

/** MLflow's FileInfo: `path` relative to what was listed, `file_size` for files. */
export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

const LIST_PAGE = 1000;

export class ArtifactsService {
  constructor(
    private readonly db: Database,
    /** The embedded Storage; undefined when a hosted Supabase project serves Storage. */
    private readonly storage: StorageService | undefined
  ) {}

  /** Stores a file at a proxied path (`<experiment_id>/…`), replacing one there. */
  async upload(
    user: TrackingUser,
    path: string,
    body: Readable,
    contentType: string,
    declaredBytes?: number
  ): Promise<void> {
    const storage = this.requireStorage();
    const key = artifactKey(path);
    await this.checkExperiment(user, key, 'write');
    await storage
      .upload(user, {
        bucket: ARTIFACTS_BUCKET,
        key,
        upsert: true,
        declaredBytes,
        openBody: async () => ({
          stream: body,
          contentType: contentType || 'application/octet-stream',
          cacheControl: 'no-cache',
          userMetadata: null
        })
      })
      .catch(err => {
        throw fromStorage(err, path);
      });
  }

  /** Stores a file under a run's artifact root (`path` relative to it). */
  async uploadForRun(
    user: TrackingUser,
    runId: string,
    path: string,
    body: Readable | Buffer,
    contentType = 'application/octet-stream'
  ): Promise<void> {
    const run = await this.run(user, runId);
    await this.upload(
      user,
      `${run.experiment_id}/${run.id}/artifacts/${path}`,
      Buffer.isBuffer(body) ? Readable.from([body]) : body,
      contentType,
      Buffer.isBuffer(body) ? body.length : undefined
    );
  }

  /** A stored file at a proxied path, ready to stream. */
  async open(user: TrackingUser, path: string): Promise<StoredObject> {
    const storage = this.requireStorage();
    const key = artifactKey(path);
    await this.checkExperiment(user, key, 'read');
    return storage.open(user, ARTIFACTS_BUCKET, key).catch(err => {
      throw fromStorage(err, path);
    });
  }

  /** The entries directly under a proxied path, as `mlflow-artifacts` lists them (base names). */
  async listProxied(user: TrackingUser, path: string): Promise<FileInfo[]> {
    const prefix = artifactPrefix(path);
    if (prefix === '') {
      throw invalidParameter(
        "List the artifacts of one experiment: path must start with '<experiment_id>/'."
      );
    }
    await this.checkExperiment(user, prefix, 'read');
    return this.entries(user, prefix, name => name);
  }

  /** `artifacts/list` of a run: entries under `path` of its root, paths relative to the root. */
  async listForRun(
    user: TrackingUser,
    runId: string,
    path: string | undefined
  ): Promise<{ root_uri: string; files: FileInfo[] }> {
    const run = await this.run(user, runId);
    const inner = artifactPrefix(path ?? '');
    const root = `${run.experiment_id}/${run.id}/artifacts`;
    const files = await this.entries(
      user,
      inner ? `${root}/${inner}` : root,
      name => (inner ? `${inner}/${name}` : name)
    );
    return { root_uri: run.artifact_uri, files };
  }

  private async entries(
    user: TrackingUser,
    prefix: string,
    pathOf: (name: string) => string
  ): Promise<FileInfo[]> {
    const storage = this.requireStorage();
    const files: FileInfo[] = [];
    for (let offset = 0; ; offset += LIST_PAGE) {
      const page = await storage
        .list(user, ARTIFACTS_BUCKET, {
          prefix,
          search: '',
          limit: LIST_PAGE,
          offset,
          sortBy: 'name',
          order: 'asc'
        })
        .catch(err => {
          throw fromStorage(err, prefix);
        });
      for (const entry of page) {
        files.push(
          entry.id === null
            ? { path: pathOf(entry.name), is_dir: true }
            : {
                path: pathOf(entry.name),
                is_dir: false,
                file_size: Number(entry.metadata?.size ?? 0)
              }
        );
      }
      if (page.length < LIST_PAGE) {
        return files;
      }
    }
  }

  private async run(user: TrackingUser, runId: string) {
    const run = isRunId(runId)
      ? await this.db.withClaims(user, tx => findRun(tx, runId))
      : undefined;
    if (!run) {
      throw doesNotExist(`Run with id=${runId} not found`);
    }
    return run;
  }

  /**
   * The experiment a path starts with must be one the user reads (else it
   * "does not exist") and, to write, one whose project they write.
   */
  private async checkExperiment(
    user: TrackingUser,
    key: string,
    access: 'read' | 'write'
  ): Promise<void> {
    const experimentId = key.split('/')[0];
    const experiment = isExperimentId(experimentId)
      ? await this.db.withClaims(user, (tx: Queryable) =>
          findExperiment(tx, experimentId)
        )
      : undefined;
    if (!experiment) {
      throw doesNotExist(
        `No artifacts at '${key}': its first folder must be the id of an experiment you can read.`
      );
    }
    if (access === 'write' && !experiment.writable) {
      throw readOnly('experiment');
    }
  }

  private requireStorage(): StorageService {
    if (!this.storage) {
      throw new MlflowError(
        'TEMPORARILY_UNAVAILABLE',
        'Artifacts are kept in the embedded Storage, which does not run with a hosted Supabase project: set MLFLOW_TRACKING_URI to an MLflow server that stores artifacts.'
      );
    }
    return this.storage;
  }
}

function artifactKey(path: string): string {
  try {
    return normalizeObjectKey(path);
  } catch (err) {
    throw fromStorage(err, path);
  }
}

function artifactPrefix(path: string): string {
  try {
    return normalizePrefix(path.replace(/^\/+/, ''));
  } catch (err) {
    throw fromStorage(err, path);
  }
}

/** Storage's refusals in MLflow's words. */
function fromStorage(err: unknown, path: string): unknown {
  if (!(err instanceof StorageError)) {
    return err;
  }
  switch (err.code) {
    case 'NoSuchKey':
      return doesNotExist(`No artifact at '${path}'.`);
    case 'AccessDenied':
      return readOnly('experiment');
    case 'InvalidKey':
      return invalidParameter(`Invalid artifact path '${path}': ${err.message}`);
    case 'EntityTooLarge':
      return invalidParameter(
        `The artifact '${path}' is larger than Storage accepts (INSIGHTER_STORAGE_MAX_BYTES).`
      );
    default:
      return new MlflowError(codeForStatus(err.status), err.message, err.status);
  }
}
