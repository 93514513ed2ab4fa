import {
  ACCESS_TOKEN_HEADER,
  ISidecarClient,
  SidecarError
} from '@insighter/core';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type {
  IAlgorithmSpec,
  IDatasetSummary,
  IJob,
  IJobCreated,
  IJobLogs,
  IJobStats,
  IMlflowExperiment,
  IMlflowFileInfo,
  IMlflowMetric,
  IMlflowRun,
  IModelVersion,
  INewTrainJob,
  IRegisteredModel
} from './tokens';
import { normalizeAlgorithms } from './algorithms';

const MLFLOW = 'api/2.0/mlflow';
const ARTIFACTS = 'api/2.0/mlflow-artifacts/artifacts';
const JOBS = 'api/v1/jobs';
const DATASETS = 'api/v1/datasets';

/** MLflow pages its searches; these bound one listing so a huge project cannot hang a view. */
const PAGE_SIZE = 1000;
const MAX_PAGES = 20;

export interface ITrackingApiOptions {
  client: Pick<ISidecarClient, 'request' | 'baseUrl' | 'accessTokenProvider'>;
  /** For downloads, which bypass the JSON client; defaults to the page's. */
  serverSettings?: ServerConnection.ISettings;
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A string literal of MLflow's filter syntax: single-quoted, a quote inside doubled (as in SQL). */
export function filterLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Every call this package makes to the sidecar: MLflow's tracking and registry
 * API, the jobs and the datasets routes. Errors are the client's
 * `SidecarError`s; an MLflow error body (`{error_code, message}`) arrives as
 * its message.
 */
export class TrackingApi {
  private readonly _client: ITrackingApiOptions['client'];
  private readonly _serverSettings?: ServerConnection.ISettings;

  constructor(options: ITrackingApiOptions) {
    this._client = options.client;
    this._serverSettings = options.serverSettings;
  }

  // Tracking

  /** Every experiment this person may read (row-level security decides). */
  async searchExperiments(): Promise<IMlflowExperiment[]> {
    return this._pages(async token => {
      const answer = await this._client.request<{
        experiments?: IMlflowExperiment[];
        next_page_token?: string;
      }>(`${MLFLOW}/experiments/search`, {
        method: 'POST',
        json: { max_results: PAGE_SIZE, page_token: token }
      });
      return [answer.experiments ?? [], answer.next_page_token];
    });
  }

  /**
   * The project's experiments: its default one is named after its slug and
   * tagged with its id; a notebook may have made others with that tag.
   */
  async projectExperiments(project: {
    id: string;
    slug: string;
  }): Promise<IMlflowExperiment[]> {
    const all = await this.searchExperiments();
    return all.filter(
      experiment =>
        experiment.lifecycle_stage !== 'deleted' &&
        (experiment.name === project.slug ||
          experiment.tags?.some(
            tag =>
              tag.key === 'insighter.project_id' && tag.value === project.id
          ))
    );
  }

  async searchRuns(
    experimentIds: string[],
    options: { filter?: string; orderBy?: string[] } = {}
  ): Promise<IMlflowRun[]> {
    if (experimentIds.length === 0) {
      return [];
    }
    return this._pages(async token => {
      const answer = await this._client.request<{
        runs?: IMlflowRun[];
        next_page_token?: string;
      }>(`${MLFLOW}/runs/search`, {
        method: 'POST',
        json: {
          experiment_ids: experimentIds,
          filter: options.filter ?? '',
          order_by: options.orderBy ?? ['attributes.start_time DESC'],
          max_results: PAGE_SIZE,
          page_token: token
        }
      });
      return [answer.runs ?? [], answer.next_page_token];
    });
  }

  async getRun(runId: string): Promise<IMlflowRun> {
    const answer = await this._client.request<{ run: IMlflowRun }>(
      `${MLFLOW}/runs/get${query({ run_id: runId })}`
    );
    return answer.run;
  }

  /** Every value logged for one key, in the order logged. */
  async metricHistory(runId: string, key: string): Promise<IMlflowMetric[]> {
    return this._pages(async token => {
      const answer = await this._client.request<{
        metrics?: IMlflowMetric[];
        next_page_token?: string;
      }>(
        `${MLFLOW}/metrics/get-history${query({
          run_id: runId,
          metric_key: key,
          max_results: 25000,
          page_token: token
        })}`
      );
      return [answer.metrics ?? [], answer.next_page_token];
    });
  }

  /** The files directly under `path` of the run's artifacts (its root by default). */
  async listArtifacts(
    runId: string,
    path?: string
  ): Promise<IMlflowFileInfo[]> {
    const answer = await this._client.request<{ files?: IMlflowFileInfo[] }>(
      `${MLFLOW}/artifacts/list${query({ run_id: runId, path: path || undefined })}`
    );
    return answer.files ?? [];
  }

  /** Every artifact file of a run, folders walked (to `maxDepth`), as sorted paths. */
  async listAllArtifacts(
    runId: string,
    maxDepth = 4
  ): Promise<IMlflowFileInfo[]> {
    const files: IMlflowFileInfo[] = [];
    const walk = async (path: string | undefined, depth: number) => {
      const entries = await this.listArtifacts(runId, path);
      for (const entry of entries) {
        if (entry.is_dir) {
          if (depth < maxDepth) {
            await walk(entry.path, depth + 1);
          }
        } else {
          files.push(entry);
        }
      }
    };
    await walk(undefined, 1);
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }

  /** The sidecar path of one artifact file, for `download`. */
  artifactPath(experimentId: string, runId: string, path: string): string {
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return `${ARTIFACTS}/${encodeURIComponent(experimentId)}/${encodeURIComponent(runId)}/artifacts/${encoded}`;
  }

  // Model registry

  async searchRegisteredModels(filter?: string): Promise<IRegisteredModel[]> {
    return this._pages(async token => {
      const answer = await this._client.request<{
        registered_models?: IRegisteredModel[];
        next_page_token?: string;
      }>(
        `${MLFLOW}/registered-models/search${query({
          filter: filter || undefined,
          max_results: PAGE_SIZE,
          page_token: token
        })}`
      );
      return [answer.registered_models ?? [], answer.next_page_token];
    });
  }

  async getRegisteredModel(name: string): Promise<IRegisteredModel> {
    const answer = await this._client.request<{
      registered_model: IRegisteredModel;
    }>(`${MLFLOW}/registered-models/get${query({ name })}`);
    return answer.registered_model;
  }

  /** Every version of a registered model. */
  async modelVersions(name: string): Promise<IModelVersion[]> {
    return this._pages(async token => {
      const answer = await this._client.request<{
        model_versions?: IModelVersion[];
        next_page_token?: string;
      }>(
        `${MLFLOW}/model-versions/search${query({
          filter: `name = ${filterLiteral(name)}`,
          max_results: PAGE_SIZE,
          page_token: token
        })}`
      );
      return [answer.model_versions ?? [], answer.next_page_token];
    });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this._client.request(`${MLFLOW}/registered-models/alias`, {
      method: 'POST',
      json: { name, alias, version }
    });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    // MLflow's own client sends the fields as a body, its docs as a query: both.
    await this._client.request(
      `${MLFLOW}/registered-models/alias${query({ name, alias })}`,
      { method: 'DELETE', json: { name, alias } }
    );
  }

  async transitionStage(
    name: string,
    version: string,
    stage: string
  ): Promise<IModelVersion> {
    const answer = await this._client.request<{ model_version: IModelVersion }>(
      `${MLFLOW}/model-versions/transition-stage`,
      {
        method: 'POST',
        json: { name, version, stage, archive_existing_versions: false }
      }
    );
    return answer.model_version;
  }

  // Jobs

  async createJob(job: INewTrainJob): Promise<IJobCreated> {
    return this._client.request<IJobCreated>(JOBS, {
      method: 'POST',
      json: job
    });
  }

  /** The project's jobs, newest first. */
  async listJobs(projectId: string): Promise<IJob[]> {
    const answer = await this._client.request<{ jobs?: IJob[] }>(
      `${JOBS}${query({ project_id: projectId })}`
    );
    return [...(answer.jobs ?? [])].sort((a, b) =>
      b.created_at.localeCompare(a.created_at)
    );
  }

  async getJob(id: string): Promise<IJob> {
    return this._client.request<IJob>(`${JOBS}/${encodeURIComponent(id)}`);
  }

  /**
   * Up to `limit` lines of the job's log from line `since` on (from the first
   * without it); the route pages, so a longer log takes more reads.
   */
  async jobLogs(id: string, since?: number, limit?: number): Promise<IJobLogs> {
    const answer = await this._client.request<IJobLogs>(
      `${JOBS}/${encodeURIComponent(id)}/logs${query({ since, limit })}`
    );
    return { lines: answer.lines ?? [], done: Boolean(answer.done) };
  }

  async cancelJob(id: string): Promise<void> {
    await this._client.request(`${JOBS}/${encodeURIComponent(id)}/cancel`, {
      method: 'POST'
    });
  }

  /**
   * CPU and memory of a running job in a container; `null` where the sidecar
   * has none: no such route (404) or no reading for this job (409: it is not
   * running, or not here).
   */
  async jobStats(id: string): Promise<IJobStats | null> {
    try {
      return await this._client.request<IJobStats>(
        `${JOBS}/${encodeURIComponent(id)}/stats`
      );
    } catch (reason) {
      if (
        reason instanceof SidecarError &&
        (reason.status === 404 || reason.status === 409)
      ) {
        return null;
      }
      throw reason;
    }
  }

  /** The algorithms the jobs route trains, with their hyperparameters and bounds. */
  async algorithms(): Promise<IAlgorithmSpec[]> {
    const answer = await this._client.request<unknown>(`${JOBS}/algorithms`);
    return normalizeAlgorithms(answer);
  }

  // Datasets

  async listDatasets(projectId: string): Promise<IDatasetSummary[]> {
    const answer = await this._client.request<{
      datasets?: IDatasetSummary[];
    }>(`${DATASETS}${query({ project_id: projectId })}`);
    return answer.datasets ?? [];
  }

  async getDataset(id: string): Promise<IDatasetSummary> {
    return this._client.request<IDatasetSummary>(
      `${DATASETS}/${encodeURIComponent(id)}`
    );
  }

  /**
   * A file from the sidecar as a Blob, with the user's bearer. The JSON client
   * cannot carry bytes, so this sends the same headers itself.
   */
  async download(path: string): Promise<Blob> {
    const settings = this._serverSettings ?? ServerConnection.makeSettings();
    const headers = new Headers();
    const token = await this._client.accessTokenProvider?.();
    if (token) {
      headers.set(ACCESS_TOKEN_HEADER, `Bearer ${token}`);
      if (!settings.token) {
        headers.set('Authorization', `Bearer ${token}`);
      }
    }
    const response = await ServerConnection.makeRequest(
      URLExt.join(this._client.baseUrl, path),
      { method: 'GET', headers },
      settings
    );
    if (!response.ok) {
      const text = await response.text();
      let message = `The download answered ${response.status}.`;
      try {
        const body = JSON.parse(text);
        message = body.message ?? body.error?.message ?? message;
      } catch {
        // Not JSON: the status says enough.
      }
      throw new SidecarError({
        kind: 'response',
        status: response.status,
        code: 'download_failed',
        message
      });
    }
    return response.blob();
  }

  private async _pages<T>(
    page: (token: string | undefined) => Promise<[T[], string | undefined]>
  ): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const [chunk, next] = await page(token);
      items.push(...chunk);
      if (!next) {
        break;
      }
      token = next;
    }
    return items;
  }
}
