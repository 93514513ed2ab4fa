import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Router,
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response
} from 'express';
import { drainUnreadBody } from '../http/drain-body';
import { HttpError, knownProblem } from '../http/errors';
import { currentUser } from '../http/require-user';
import { jobChannelOf } from '../jobs/job-channel';
import type { JobScope } from '../auth/token-verifier';
import type { Logger } from '../logger';
import { StorageError } from '../storage/errors';
import type { Tracking } from '../tracking';
import type { ArtifactsService } from '../tracking/artifacts-service';
import { checkJobArtifactPath, checkJobCall } from '../tracking/job-access';
import {
  codeForStatus,
  invalidParameter,
  MlflowError
} from '../tracking/errors';
import type { ModelProvenance } from '../tracking/model-provenance';
import type { RegistryService } from '../tracking/registry-service';
import {
  datasetInputs,
  keyValues,
  metricList,
  metricOf,
  optionalBoolean,
  optionalInteger,
  optionalString,
  queryInput,
  requiredString,
  requiredStringOf,
  stringList,
  type RequestInput
} from '../tracking/request-fields';
import type { TrackingService, ViewType } from '../tracking/tracking-service';
import type { TrackingUser, RunStatus } from '../tracking/tracking-store';
import { LIMITS } from '../tracking/validation';
import { mlflowJsonText } from '../tracking/wire';
import { sendObject } from './storage';
import { jsonBody } from '../http/json-body';

/**
 * MLflow's REST API 2.0 (tracking and model registry) at `/api/2.0/mlflow/`
 * (and `/ajax-api/2.0/mlflow/`, which MLflow's own UI calls), and its proxied
 * artifacts at `/api/2.0/mlflow-artifacts/artifacts/`. Requests and answers
 * are MLflow's JSON; errors are `{error_code, message}` with MLflow's HTTP
 * statuses. Every route needs `Authorization: Bearer <access token>` — what
 * MLflow's clients send from MLFLOW_TRACKING_TOKEN. Fields come from the
 * query string (GET, or DELETE without a body) or the JSON body, as MLflow's
 * server reads them. Mount before the app's JSON parser: artifact uploads
 * stream raw, whatever their content type.
 */
export interface MlflowRouteDeps {
  tracking: TrackingService;
  registry: RegistryService;
  artifacts: ArtifactsService;
  /** Records the versions Insighter's jobs register (absent: none is marked). */
  provenance?: ModelProvenance;
  authenticate: RequestHandler;
  logger: Logger;
}

type Handler = (
  input: RequestInput,
  user: TrackingUser,
  req: Request
) => Promise<unknown>;

const PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'];
const ARTIFACTS_PATH = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * MLflow's clients always send JSON (Python's requests sets the type, some
 * scripts do not): the body is read as JSON whatever its type, as MLflow's
 * `get_json(force=True)` does. Large enough for dataset schemas and profiles;
 * log-batch keeps MLflow's own 1 MB limit.
 */
const parseJson = jsonBody({ limit: '20mb', type: () => true });

export function mlflowRoutes(deps: MlflowRouteDeps): Router {
  const { tracking, registry, artifacts } = deps;
  const router = Router();
  const routes: [string, string[], Handler][] = [];
  const read = (path: string, handler: Handler) =>
    routes.push([path, ['get', 'post'], handler]);
  const write = (path: string, method: string, handler: Handler) =>
    routes.push([path, method === 'post' ? ['post'] : [method, 'post'], handler]);

  // Experiments
  write('/experiments/create', 'post', async (input, user) =>
    tracking.createExperiment(user, {
      name: requiredString(input, 'name'),
      artifact_location: optionalString(input, 'artifact_location'),
      tags: keyValues(input, 'tags')
    })
  );
  read('/experiments/get', async (input, user) => ({
    experiment: await tracking.getExperiment(
      user,
      requiredString(input, 'experiment_id')
    )
  }));
  read('/experiments/get-by-name', async (input, user) => ({
    experiment: await tracking.getExperimentByName(
      user,
      requiredString(input, 'experiment_name')
    )
  }));
  read('/experiments/search', (input, user) =>
    tracking.searchExperiments(user, {
      max_results: optionalInteger(input, 'max_results'),
      page_token: optionalString(input, 'page_token'),
      filter: optionalString(input, 'filter'),
      order_by: stringList(input, 'order_by'),
      view_type: viewType(input, 'view_type')
    })
  );
  write('/experiments/update', 'post', async (input, user) => {
    await tracking.renameExperiment(
      user,
      requiredString(input, 'experiment_id'),
      requiredString(input, 'new_name')
    );
    return {};
  });
  write('/experiments/delete', 'post', async (input, user) => {
    await tracking.setExperimentLifecycle(
      user,
      requiredString(input, 'experiment_id'),
      'deleted'
    );
    return {};
  });
  write('/experiments/restore', 'post', async (input, user) => {
    await tracking.setExperimentLifecycle(
      user,
      requiredString(input, 'experiment_id'),
      'active'
    );
    return {};
  });
  write('/experiments/set-experiment-tag', 'post', async (input, user) => {
    await tracking.setExperimentTag(user, requiredString(input, 'experiment_id'), {
      key: requiredString(input, 'key'),
      value: optionalString(input, 'value') ?? ''
    });
    return {};
  });
  write('/experiments/delete-experiment-tag', 'post', async (input, user) => {
    await tracking.deleteExperimentTag(
      user,
      requiredString(input, 'experiment_id'),
      requiredString(input, 'key')
    );
    return {};
  });

  // Runs
  write('/runs/create', 'post', async (input, user) => ({
    run: await tracking.createRun(user, {
      experiment_id: requiredString(input, 'experiment_id'),
      run_name: optionalString(input, 'run_name'),
      user_id: optionalString(input, 'user_id'),
      start_time: optionalInteger(input, 'start_time'),
      tags: keyValues(input, 'tags')
    })
  }));
  read('/runs/get', async (input, user) => ({
    run: await tracking.getRun(user, requiredStringOf(input, ['run_id', 'run_uuid']))
  }));
  write('/runs/update', 'post', async (input, user) => ({
    run_info: await tracking.updateRun(
      user,
      requiredStringOf(input, ['run_id', 'run_uuid']),
      {
        status: optionalString(input, 'status') as RunStatus | undefined,
        end_time: optionalInteger(input, 'end_time'),
        run_name: optionalString(input, 'run_name')
      }
    )
  }));
  write('/runs/delete', 'post', async (input, user) => {
    await tracking.setRunLifecycle(user, requiredString(input, 'run_id'), 'deleted');
    return {};
  });
  write('/runs/restore', 'post', async (input, user) => {
    await tracking.setRunLifecycle(user, requiredString(input, 'run_id'), 'active');
    return {};
  });
  read('/runs/search', (input, user) =>
    tracking.searchRuns(user, {
      experiment_ids: stringList(input, 'experiment_ids'),
      filter: optionalString(input, 'filter'),
      run_view_type: viewType(input, 'run_view_type'),
      max_results: optionalInteger(input, 'max_results'),
      order_by: stringList(input, 'order_by'),
      page_token: optionalString(input, 'page_token')
    })
  );
  write('/runs/log-metric', 'post', async (input, user) => {
    await tracking.logBatch(user, requiredStringOf(input, ['run_id', 'run_uuid']), {
      metrics: [metricOf(input)]
    });
    return {};
  });
  write('/runs/log-parameter', 'post', async (input, user) => {
    await tracking.logBatch(user, requiredStringOf(input, ['run_id', 'run_uuid']), {
      params: [
        { key: requiredString(input, 'key'), value: optionalString(input, 'value') ?? '' }
      ]
    });
    return {};
  });
  write('/runs/set-tag', 'post', async (input, user) => {
    await tracking.logBatch(user, requiredStringOf(input, ['run_id', 'run_uuid']), {
      tags: [
        { key: requiredString(input, 'key'), value: optionalString(input, 'value') ?? '' }
      ]
    });
    return {};
  });
  write('/runs/delete-tag', 'post', async (input, user) => {
    await tracking.deleteTag(
      user,
      requiredString(input, 'run_id'),
      requiredString(input, 'key')
    );
    return {};
  });
  write('/runs/log-batch', 'post', async (input, user) => {
    await tracking.logBatch(user, requiredString(input, 'run_id'), {
      metrics: metricList(input, 'metrics'),
      params: keyValues(input, 'params'),
      tags: keyValues(input, 'tags')
    });
    return {};
  });
  write('/runs/log-model', 'post', async (input, user) => {
    await tracking.logModel(
      user,
      requiredString(input, 'run_id'),
      requiredString(input, 'model_json')
    );
    return {};
  });
  write('/runs/log-inputs', 'post', async (input, user) => {
    await tracking.logInputs(
      user,
      requiredString(input, 'run_id'),
      datasetInputs(input, 'datasets')
    );
    return {};
  });
  read('/metrics/get-history', (input, user) =>
    tracking.getMetricHistory(user, {
      run_id: requiredStringOf(input, ['run_id', 'run_uuid']),
      metric_key: requiredString(input, 'metric_key'),
      max_results: optionalInteger(input, 'max_results'),
      page_token: optionalString(input, 'page_token')
    })
  );
  read('/artifacts/list', (input, user) =>
    artifacts.listForRun(
      user,
      requiredStringOf(input, ['run_id', 'run_uuid']),
      optionalString(input, 'path')
    )
  );

  // Registered models
  write('/registered-models/create', 'post', async (input, user) => ({
    registered_model: await registry.createModel(user, {
      name: requiredString(input, 'name'),
      description: optionalString(input, 'description'),
      tags: keyValues(input, 'tags')
    })
  }));
  read('/registered-models/get', async (input, user) => ({
    registered_model: await registry.getModel(user, requiredString(input, 'name'))
  }));
  read('/registered-models/search', (input, user) =>
    registry.searchModels(user, {
      filter: optionalString(input, 'filter'),
      max_results: optionalInteger(input, 'max_results'),
      order_by: stringList(input, 'order_by'),
      page_token: optionalString(input, 'page_token')
    })
  );
  write('/registered-models/update', 'patch', async (input, user) => ({
    registered_model: await registry.updateModel(user, requiredString(input, 'name'), {
      description: optionalString(input, 'description')
    })
  }));
  write('/registered-models/rename', 'post', async (input, user) => ({
    registered_model: await registry.updateModel(user, requiredString(input, 'name'), {
      new_name: requiredString(input, 'new_name')
    })
  }));
  write('/registered-models/delete', 'delete', async (input, user) => {
    await registry.deleteModel(user, requiredString(input, 'name'));
    return {};
  });
  read('/registered-models/get-latest-versions', async (input, user) => ({
    model_versions: await registry.latestVersions(
      user,
      requiredString(input, 'name'),
      stringList(input, 'stages')
    )
  }));
  write('/registered-models/set-tag', 'post', async (input, user) => {
    await registry.setModelTag(user, requiredString(input, 'name'), {
      key: requiredString(input, 'key'),
      value: optionalString(input, 'value') ?? ''
    });
    return {};
  });
  write('/registered-models/delete-tag', 'delete', async (input, user) => {
    await registry.deleteModelTag(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'key')
    );
    return {};
  });
  routes.push([
    '/registered-models/alias',
    ['post'],
    async (input, user) => {
      await registry.setAlias(
        user,
        requiredString(input, 'name'),
        requiredString(input, 'alias'),
        requiredString(input, 'version')
      );
      return {};
    }
  ]);
  routes.push([
    '/registered-models/alias',
    ['delete'],
    async (input, user) => {
      await registry.deleteAlias(
        user,
        requiredString(input, 'name'),
        requiredString(input, 'alias')
      );
      return {};
    }
  ]);
  routes.push([
    '/registered-models/alias',
    ['get'],
    async (input, user) => ({
      model_version: await registry.getVersionByAlias(
        user,
        requiredString(input, 'name'),
        requiredString(input, 'alias')
      )
    })
  ]);

  // Model versions
  write('/model-versions/create', 'post', async (input, user, req) => {
    const version = await registry.createVersion(user, {
      name: requiredString(input, 'name'),
      source: requiredString(input, 'source'),
      run_id: optionalString(input, 'run_id'),
      run_link: optionalString(input, 'run_link'),
      description: optionalString(input, 'description'),
      tags: keyValues(input, 'tags')
    });
    // Registered by a training job over its own socket: the job's work, its files' digest kept.
    const job = jobChannelOf(req);
    if (job && deps.provenance) {
      await deps.provenance.recordJobVersion(user, version, job).catch(err =>
        deps.logger.warn(
          { err, jobId: job.jobId, model: version.name, version: version.version },
          'tracking: could not record which job produced a model version'
        )
      );
    }
    return { model_version: version };
  });
  read('/model-versions/get', async (input, user) => ({
    model_version: await registry.getVersion(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'version')
    )
  }));
  read('/model-versions/search', (input, user) =>
    registry.searchVersions(user, {
      filter: optionalString(input, 'filter'),
      max_results: optionalInteger(input, 'max_results'),
      order_by: stringList(input, 'order_by'),
      page_token: optionalString(input, 'page_token')
    })
  );
  write('/model-versions/update', 'patch', async (input, user) => ({
    model_version: await registry.updateVersion(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'version'),
      { description: optionalString(input, 'description') }
    )
  }));
  write('/model-versions/delete', 'delete', async (input, user) => {
    await registry.deleteVersion(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'version')
    );
    return {};
  });
  write('/model-versions/transition-stage', 'post', async (input, user) => ({
    model_version: await registry.transitionStage(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'version'),
      requiredString(input, 'stage'),
      optionalBoolean(input, 'archive_existing_versions') ?? false
    )
  }));
  read('/model-versions/get-download-uri', async (input, user) => ({
    artifact_uri: await registry.downloadUri(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'version')
    )
  }));
  write('/model-versions/set-tag', 'post', async (input, user) => {
    await registry.setVersionTag(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'version'),
      { key: requiredString(input, 'key'), value: optionalString(input, 'value') ?? '' }
    );
    return {};
  });
  write('/model-versions/delete-tag', 'delete', async (input, user) => {
    await registry.deleteVersionTag(
      user,
      requiredString(input, 'name'),
      requiredString(input, 'version'),
      requiredString(input, 'key')
    );
    return {};
  });

  for (const prefix of PREFIXES) {
    router.use(prefix, deps.authenticate);
    for (const [path, methods, handler] of routes) {
      for (const method of methods) {
        (router as unknown as Record<string, (p: string, ...h: RequestHandler[]) => void>)[
          method
        ](`${prefix}${path}`, parseJson, async (req: Request, res: Response) => {
          const input = requestInput(req);
          if (req.job) {
            checkJobCall(req.job, path, input);
          }
          if (path === '/runs/log-batch') {
            checkBatchSize(req);
          }
          sendJson(res, await handler(input, currentUser(req), req));
        });
      }
    }
    router.use(prefix, () => {
      throw new MlflowError(
        'ENDPOINT_NOT_FOUND',
        'No such MLflow endpoint: see the MLflow REST API 2.0 reference for the paths and methods.'
      );
    });
  }

  // Proxied artifacts (mlflow-artifacts): list, download, upload.
  router.use(ARTIFACTS_PATH, deps.authenticate);
  router.get(ARTIFACTS_PATH, async (req, res) => {
    const input = queryInput(req.query as Record<string, unknown>);
    const path = optionalString(input, 'path') ?? '';
    if (req.job) {
      checkJobArtifactPath(req.job, path);
    }
    sendJson(res, {
      files: await artifacts.listProxied(currentUser(req), path)
    });
  });
  router.get(`${ARTIFACTS_PATH}/*path`, async (req, res) => {
    if (req.job) {
      checkJobArtifactPath(req.job, artifactPath(req));
    }
    const object = await artifacts.open(currentUser(req), artifactPath(req));
    sendObject(req, res, object);
  });
  router.put(`${ARTIFACTS_PATH}/*path`, async (req, res) => {
    if (req.job) {
      checkJobArtifactPath(req.job, artifactPath(req));
    }
    const declared = req.headers['content-length'];
    await artifacts.upload(
      currentUser(req),
      artifactPath(req),
      req,
      req.get('content-type') ?? 'application/octet-stream',
      declared ? Number(declared) : undefined
    );
    sendJson(res, {});
  });
  router.use(ARTIFACTS_PATH, () => {
    throw new MlflowError(
      'ENDPOINT_NOT_FOUND',
      'Artifacts are listed with GET ?path=, downloaded with GET /<path> and uploaded with PUT /<path>.'
    );
  });
  router.use([...PREFIXES, ARTIFACTS_PATH], mlflowErrors(deps.logger));
  return router;
}

/**
 * A job's call relayed to an external MLflow server, checked as the built-in
 * routes check it: artifact paths as they are; other calls once their JSON
 * body is read, which is then relayed as read (the returned bytes).
 */
async function checkJobRelay(
  req: Request,
  res: Response,
  job: JobScope
): Promise<Buffer | undefined> {
  if (req.baseUrl.endsWith('/mlflow-artifacts')) {
    const rest = req.path.replace(/^\/artifacts\/?/, '');
    const input = queryInput(req.query as Record<string, unknown>);
    checkJobArtifactPath(job, rest || (optionalString(input, 'path') ?? ''));
    return undefined;
  }
  await new Promise<void>((resolve, reject) =>
    parseJson(req, res, (err?: unknown) => (err ? reject(err) : resolve()))
  );
  checkJobCall(job, req.path, requestInput(req));
  return ['GET', 'HEAD'].includes(req.method)
    ? undefined
    : Buffer.from(JSON.stringify(req.body ?? {}));
}

/** The fields of a request: the query string (GET, or a DELETE without body) and the JSON body. */
function requestInput(req: Request): RequestInput {
  const query = queryInput(req.query as Record<string, unknown>);
  const body = req.body;
  if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) {
    return query;
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalidParameter(
      'Send the request fields as a JSON object, e.g. {"experiment_id": "1"}.'
    );
  }
  return req.method === 'GET' ? { ...body, ...query } : { ...query, ...body };
}

/** MLflow refuses log-batch bodies over 1 MB whatever their content. */
function checkBatchSize(req: Request): void {
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > LIMITS.batchRequestBytes) {
    throw invalidParameter(
      `Batched logging API requests must be at most ${LIMITS.batchRequestBytes} bytes, got a request of size ${length}.`
    );
  }
}

function viewType(input: RequestInput, field: string): ViewType | undefined {
  const value = optionalString(input, field);
  if (value === undefined) {
    return undefined;
  }
  // Protobuf's JSON mapping also accepts an enum's number.
  const byNumber: Record<string, ViewType> = {
    '1': 'ACTIVE_ONLY',
    '2': 'DELETED_ONLY',
    '3': 'ALL'
  };
  const view = byNumber[value] ?? value.toUpperCase();
  if (view !== 'ACTIVE_ONLY' && view !== 'DELETED_ONLY' && view !== 'ALL') {
    throw invalidParameter(
      `Invalid value '${value}' for parameter '${field}': use ACTIVE_ONLY, DELETED_ONLY or ALL.`
    );
  }
  return view;
}

function artifactPath(req: Request): string {
  const path = (req.params as unknown as { path?: string[] | string }).path;
  return Array.isArray(path) ? path.join('/') : (path ?? '');
}

function sendJson(res: Response, body: unknown): void {
  res.type('application/json').send(mlflowJsonText(body));
}

/** Every failure as MLflow's `{error_code, message}` with its status. */
function mlflowErrors(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let error: MlflowError;
    if (err instanceof MlflowError) {
      error = err;
    } else if (err instanceof HttpError || err instanceof StorageError) {
      error = new MlflowError(codeForStatus(err.status), err.message, err.status);
    } else if (err?.type === 'entity.parse.failed') {
      error = invalidParameter(
        'Malformed request: the body is not valid JSON.'
      );
    } else if (err?.type === 'entity.too.large') {
      error = new MlflowError(
        'INVALID_PARAMETER_VALUE',
        'The request body is too large.',
        413
      );
    } else {
      const known = knownProblem(err);
      if (known) {
        error = new MlflowError(codeForStatus(known.status), known.message, known.status);
      } else {
        logger.error(
          { err, method: req.method, path: req.path },
          'unhandled tracking error'
        );
        error = new MlflowError(
          'INTERNAL_ERROR',
          'Something went wrong on the server.'
        );
      }
    }
    // An upload refused before its body was read: answer on a healthy connection.
    drainUnreadBody(req);
    res.status(error.status).type('application/json').send(JSON.stringify(error));
  };
}

/**
 * MLflow's API for the tracking in use: the built-in services, or, with an
 * external MLflow server, a relay of the same paths to it (signed-in users
 * only; the server sees the tracking token, never theirs).
 */
export function trackingRoutes(
  tracking: Tracking,
  authenticate: RequestHandler,
  logger: Logger
): Router {
  if (tracking.services) {
    return mlflowRoutes({ ...tracking.services, authenticate, logger });
  }
  const external = tracking.external!;
  const router = Router();
  const paths = [...PREFIXES, '/api/2.0/mlflow-artifacts'];
  router.use(paths, authenticate, async (req, res) => {
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'content-length', 'accept', 'range']) {
      const value = req.get(name);
      if (value) {
        headers[name] = value;
      }
    }
    const hasBody = !['GET', 'HEAD'].includes(req.method);
    let body: Readable | undefined = hasBody ? req : undefined;
    if (req.job) {
      const checked = await checkJobRelay(req, res, req.job);
      if (checked) {
        body = Readable.from([checked]);
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(checked.length);
      }
    }
    const answer = await external.relay(
      req.method,
      req.originalUrl.replace(/^\/ajax-api\//, '/api/'),
      headers,
      body
    );
    res.status(answer.statusCode);
    for (const name of ['content-type', 'content-length', 'content-range', 'etag', 'last-modified']) {
      const value = answer.headers[name];
      if (value !== undefined) {
        res.setHeader(name, value);
      }
    }
    await pipeline(answer.body, res);
  });
  router.use(paths, mlflowErrors(logger));
  return router;
}
