import type { Readable } from 'node:stream';
import type { ArtifactsService } from './artifacts-service';
import type { RegistryService } from './registry-service';
import type { TrackingService } from './tracking-service';
import type {
  MlflowDatasetInput,
  MlflowModelVersion,
  MlflowRegisteredModel,
  MlflowRun,
  MlflowRunInfo,
  NewModelVersion,
  NewRun,
  ProjectRef,
  RunBatch,
  RunUpdate,
  TrackingStore,
  TrackingUser
} from './tracking-store';

/**
 * The built-in TrackingStore: the same services that answer
 * `/api/2.0/mlflow`, so a run made by a job is what MLflow clients see, and
 * the same events are published whoever logs.
 */
export class PostgresTrackingStore implements TrackingStore {
  readonly kind = 'built-in' as const;

  constructor(
    private readonly tracking: TrackingService,
    private readonly registry: RegistryService,
    private readonly artifacts: ArtifactsService
  ) {}

  getOrCreateProjectExperiment(
    user: TrackingUser,
    project: ProjectRef
  ): Promise<{ experiment_id: string }> {
    return this.tracking.getOrCreateProjectExperiment(user, project);
  }

  createRun(user: TrackingUser, run: NewRun): Promise<MlflowRun> {
    return this.tracking.createRun(user, run);
  }

  getRun(user: TrackingUser, runId: string): Promise<MlflowRun> {
    return this.tracking.getRun(user, runId);
  }

  logBatch(user: TrackingUser, runId: string, batch: RunBatch): Promise<void> {
    return this.tracking.logBatch(user, runId, batch);
  }

  updateRun(
    user: TrackingUser,
    runId: string,
    update: RunUpdate
  ): Promise<MlflowRunInfo> {
    return this.tracking.updateRun(user, runId, update);
  }

  logInputs(
    user: TrackingUser,
    runId: string,
    datasets: MlflowDatasetInput[]
  ): Promise<void> {
    return this.tracking.logInputs(user, runId, datasets);
  }

  uploadArtifact(
    user: TrackingUser,
    runId: string,
    path: string,
    body: Readable | Buffer,
    contentType?: string
  ): Promise<void> {
    return this.artifacts.uploadForRun(user, runId, path, body, contentType);
  }

  getOrCreateProjectModel(
    user: TrackingUser,
    project: ProjectRef
  ): Promise<MlflowRegisteredModel> {
    return this.registry.getOrCreateProjectModel(user, project);
  }

  createModelVersion(
    user: TrackingUser,
    version: NewModelVersion
  ): Promise<MlflowModelVersion> {
    return this.registry.createVersion(user, version);
  }

  async getLatestModelVersion(
    user: TrackingUser,
    name: string
  ): Promise<MlflowModelVersion | undefined> {
    // Unknown models answer RESOURCE_DOES_NOT_EXIST, as MLflow's get does.
    await this.registry.getModel(user, name);
    const { model_versions } = await this.registry.searchVersions(user, {
      filter: `name = '${name.replace(/'/g, "''")}'`,
      order_by: ['version_number DESC'],
      max_results: 1
    });
    return model_versions[0];
  }

  async searchModelVersions(
    user: TrackingUser,
    filter: string
  ): Promise<MlflowModelVersion[]> {
    const versions: MlflowModelVersion[] = [];
    let page_token: string | undefined;
    do {
      const page = await this.registry.searchVersions(user, {
        filter,
        page_token
      });
      versions.push(...page.model_versions);
      page_token = page.next_page_token;
    } while (page_token);
    return versions;
  }
}
