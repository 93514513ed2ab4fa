import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { ComponentHealth } from '../services/status';
import { codeForStatus, MlflowError, type MlflowErrorCode } from './errors';
import { ERROR_TAG } from './tracking-service';
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
import { mlflowJsonText, wireNumber } from './wire';

/**
 * The TrackingStore of an external MLflow server (`MLFLOW_TRACKING_URI`,
 * optional `MLFLOW_TRACKING_TOKEN` sent as a bearer token, as MLflow's own
 * clients do): MLflow's REST API 2.0 over undici with keep-alive. The user
 * arguments are not sent: that server knows only the token. Its errors come
 * back as `MlflowError`s with its own codes.
 */
export interface RestTrackingOptions {
  /** e.g. `http://mlflow.internal:5000` (a path prefix is kept). */
  uri: string;
  token?: string;
  /** Per-request limit; MLflow's clients wait 120 s. */
  timeoutMs?: number;
}

const PROJECT_TAG = 'insighter.project_id';

export class RestTrackingStore implements TrackingStore {
  readonly kind = 'rest' as const;
  private readonly base: string;
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: RestTrackingOptions) {
    this.base = options.uri.replace(/\/+$/, '');
    const timeout = options.timeoutMs ?? 120_000;
    this.dispatcher = new Agent({
      headersTimeout: timeout,
      bodyTimeout: timeout,
      keepAliveTimeout: 10_000
    });
  }

  /** The server's address without credentials, for messages and logs. */
  get displayUri(): string {
    try {
      const url = new URL(this.base);
      url.username = '';
      url.password = '';
      return url.toString().replace(/\/+$/, '');
    } catch {
      return '(an invalid MLFLOW_TRACKING_URI)';
    }
  }

  async getOrCreateProjectExperiment(
    _user: TrackingUser,
    project: ProjectRef
  ): Promise<{ experiment_id: string }> {
    for (let attempt = 0; ; attempt++) {
      const found = await this.call<{ experiment: { experiment_id: string } }>(
        'GET',
        'experiments/get-by-name',
        { experiment_name: project.slug }
      ).catch(ifMissing(undefined));
      if (found) {
        return { experiment_id: found.experiment.experiment_id };
      }
      try {
        return await this.call<{ experiment_id: string }>(
          'POST',
          'experiments/create',
          {
            name: project.slug,
            tags: [{ key: PROJECT_TAG, value: project.id }]
          }
        );
      } catch (err) {
        if (isCode(err, 'RESOURCE_ALREADY_EXISTS') && attempt === 0) {
          continue;
        }
        throw err;
      }
    }
  }

  async createRun(_user: TrackingUser, run: NewRun): Promise<MlflowRun> {
    return withNumericMetrics(
      (
        await this.call<{ run: MlflowRun }>('POST', 'runs/create', {
          ...run,
          start_time: run.start_time ?? Date.now()
        })
      ).run
    );
  }

  async getRun(_user: TrackingUser, runId: string): Promise<MlflowRun> {
    return withNumericMetrics(
      (await this.call<{ run: MlflowRun }>('GET', 'runs/get', { run_id: runId }))
        .run
    );
  }

  async logBatch(
    _user: TrackingUser,
    runId: string,
    batch: RunBatch
  ): Promise<void> {
    await this.call('POST', 'runs/log-batch', { run_id: runId, ...batch });
  }

  async updateRun(
    _user: TrackingUser,
    runId: string,
    update: RunUpdate
  ): Promise<MlflowRunInfo> {
    const { error, ...fields } = update;
    if (error && update.status === 'FAILED') {
      await this.call('POST', 'runs/set-tag', {
        run_id: runId,
        key: ERROR_TAG,
        value: error.slice(0, 5000)
      });
    }
    return (
      await this.call<{ run_info: MlflowRunInfo }>('POST', 'runs/update', {
        run_id: runId,
        ...fields
      })
    ).run_info;
  }

  async logInputs(
    _user: TrackingUser,
    runId: string,
    datasets: MlflowDatasetInput[]
  ): Promise<void> {
    await this.call('POST', 'runs/log-inputs', { run_id: runId, datasets });
  }

  async uploadArtifact(
    user: TrackingUser,
    runId: string,
    path: string,
    body: Readable | Buffer,
    contentType = 'application/octet-stream'
  ): Promise<void> {
    const run = await this.getRun(user, runId);
    const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(
      run.info.artifact_uri
    );
    if (!proxied) {
      throw new MlflowError(
        'INVALID_STATE',
        `The MLflow server keeps this run's artifacts at ${run.info.artifact_uri}, which only its own clients reach: start it with --serve-artifacts so artifacts go through it.`
      );
    }
    const target = `${proxied[1].replace(/\/+$/, '')}/${path}`
      .split('/')
      .map(encodeURIComponent)
      .join('/');
    await this.send(
      'PUT',
      `${this.base}/api/2.0/mlflow-artifacts/artifacts/${target}`,
      { 'content-type': contentType },
      body
    );
  }

  async getOrCreateProjectModel(
    _user: TrackingUser,
    project: ProjectRef
  ): Promise<MlflowRegisteredModel> {
    for (let attempt = 0; ; attempt++) {
      const found = await this.call<{ registered_model: MlflowRegisteredModel }>(
        'GET',
        'registered-models/get',
        { name: project.slug }
      ).catch(ifMissing(undefined));
      if (found) {
        return found.registered_model;
      }
      try {
        return (
          await this.call<{ registered_model: MlflowRegisteredModel }>(
            'POST',
            'registered-models/create',
            {
              name: project.slug,
              tags: [{ key: PROJECT_TAG, value: project.id }]
            }
          )
        ).registered_model;
      } catch (err) {
        if (isCode(err, 'RESOURCE_ALREADY_EXISTS') && attempt === 0) {
          continue;
        }
        throw err;
      }
    }
  }

  async createModelVersion(
    _user: TrackingUser,
    version: NewModelVersion
  ): Promise<MlflowModelVersion> {
    return (
      await this.call<{ model_version: MlflowModelVersion }>(
        'POST',
        'model-versions/create',
        version
      )
    ).model_version;
  }

  async getLatestModelVersion(
    user: TrackingUser,
    name: string
  ): Promise<MlflowModelVersion | undefined> {
    // Unknown models answer RESOURCE_DOES_NOT_EXIST, as the registry's get does.
    await this.call('GET', 'registered-models/get', { name });
    const versions = await this.searchModelVersions(
      user,
      `name = '${name.replace(/'/g, "''")}'`
    );
    return versions.reduce<MlflowModelVersion | undefined>(
      (latest, v) =>
        !latest || Number(v.version) > Number(latest.version) ? v : latest,
      undefined
    );
  }

  async searchModelVersions(
    _user: TrackingUser,
    filter: string
  ): Promise<MlflowModelVersion[]> {
    const versions: MlflowModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.call<{
        model_versions?: MlflowModelVersion[];
        next_page_token?: string;
      }>('GET', 'model-versions/search', {
        filter,
        max_results: 1000,
        ...(pageToken ? { page_token: pageToken } : {})
      });
      versions.push(...(page.model_versions ?? []));
      pageToken = page.next_page_token;
    } while (pageToken);
    return versions;
  }

  /** The status check: the server answers an authenticated search. */
  async check(): Promise<ComponentHealth> {
    try {
      await this.call('GET', 'experiments/search', { max_results: 1 });
      return {
        state: 'ok',
        detail: `External MLflow server reachable at ${this.displayUri}.`,
        backend: 'mlflow'
      };
    } catch (err) {
      return {
        state: 'down',
        detail: `The MLflow server at ${this.displayUri} is not usable: ${(err as Error).message}`,
        backend: 'mlflow'
      };
    }
  }

  /**
   * Relays a request to the same path of the external server (the sidecar's
   * `/api/2.0/mlflow` in external mode), with the tracking token in place of
   * the user's.
   */
  relay(
    method: string,
    pathAndQuery: string,
    headers: Record<string, string>,
    body: Readable | undefined
  ): Promise<Dispatcher.ResponseData> {
    return request(`${this.base}${pathAndQuery}`, {
      method: method as Dispatcher.HttpMethod,
      headers: { ...headers, ...this.authorization() },
      body,
      dispatcher: this.dispatcher
    }).catch(err => {
      throw this.unreachable(err);
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private async call<T = unknown>(
    method: 'GET' | 'POST',
    endpoint: string,
    fields: object
  ): Promise<T> {
    let url = `${this.base}/api/2.0/mlflow/${endpoint}`;
    let body: string | undefined;
    if (method === 'GET') {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) {
          query.set(key, String(value));
        }
      }
      url += `?${query}`;
    } else {
      body = mlflowJsonText(fields);
    }
    const text = await this.send(
      method,
      url,
      body === undefined ? {} : { 'content-type': 'application/json' },
      body
    );
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async send(
    method: Dispatcher.HttpMethod,
    url: string,
    headers: Record<string, string>,
    body: string | Buffer | Readable | undefined
  ): Promise<string> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        headers: { ...headers, ...this.authorization() },
        body,
        dispatcher: this.dispatcher
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300) {
      return text;
    }
    let parsed: { error_code?: string; message?: string } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not MLflow's error shape (a proxy's page): the status says it.
    }
    throw new MlflowError(
      (parsed.error_code as MlflowErrorCode) ?? codeForStatus(response.statusCode),
      parsed.message ??
        `The MLflow server at ${this.displayUri} answered ${response.statusCode}.`,
      response.statusCode
    );
  }

  private authorization(): Record<string, string> {
    return this.options.token
      ? { authorization: `Bearer ${this.options.token}` }
      : {};
  }

  private unreachable(err: unknown): MlflowError {
    return new MlflowError(
      'TEMPORARILY_UNAVAILABLE',
      `The MLflow server at ${this.displayUri} did not answer: ${(err as Error).message}`
    );
  }
}

/** Metric values as numbers: the wire's "NaN" and "Infinity" strings read back. */
function withNumericMetrics(run: MlflowRun): MlflowRun {
  for (const metric of run.data?.metrics ?? []) {
    metric.value = wireNumber(metric.value) ?? NaN;
  }
  return run;
}

function isCode(err: unknown, code: MlflowErrorCode): boolean {
  return err instanceof MlflowError && err.errorCode === code;
}

/** Resolves RESOURCE_DOES_NOT_EXIST to `value`; other errors stay errors. */
function ifMissing<T>(value: T) {
  return (err: unknown): T => {
    if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) {
      return value;
    }
    throw err;
  };
}
