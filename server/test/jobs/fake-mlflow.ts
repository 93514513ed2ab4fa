import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for an MLflow tracking server, for the training script's unit
 * test and as the external server a sidecar relays a job's calls to: it
 * answers the REST calls the script (and the sidecar opening its run) makes
 * with MLflow's shapes and limits, serves datasets, and records every
 * request. The sidecar's own tracking API is exercised by the jobs
 * component tests.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  bytes: number;
}

export interface FakeMlflow {
  url: string;
  requests: RecordedRequest[];
  /** Uploaded artifacts by path under the run's root. */
  artifacts: Map<string, Buffer>;
  /** Serve this CSV at `/datasets/<name>.csv`. */
  serveDataset(name: string, csv: string | Buffer): void;
  /** `runs/get` answers this run info instead of a good one. */
  runInfo: Record<string, unknown>;
  close(): Promise<void>;
}

export const FAKE_RUN_ID = '0123456789abcdef0123456789abcdef';

export async function startFakeMlflow(token: string): Promise<FakeMlflow> {
  const requests: RecordedRequest[] = [];
  const artifacts = new Map<string, Buffer>();
  const datasets = new Map<string, Buffer>();
  let models = new Set<string>();
  const versions = new Map<string, number>();
  const fake: FakeMlflow = {
    url: '',
    requests,
    artifacts,
    serveDataset(name, csv) {
      datasets.set(name, Buffer.from(csv));
    },
    runInfo: {
      run_id: FAKE_RUN_ID,
      run_uuid: FAKE_RUN_ID,
      experiment_id: '7',
      status: 'RUNNING',
      artifact_uri: `mlflow-artifacts:/7/${FAKE_RUN_ID}/artifacts`
    },
    close: () =>
      new Promise(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };
  const mlflowError = (
    res: http.ServerResponse,
    status: number,
    code: string,
    message: string
  ) => send(res, status, { error_code: code, message });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      const isJson = req.headers['content-type'] === 'application/json';
      const body =
        isJson && raw.length ? JSON.parse(raw.toString()) : undefined;
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        authorization: req.headers.authorization,
        body,
        bytes: raw.length
      });
      if (req.headers.authorization !== `Bearer ${token}`) {
        mlflowError(res, 401, 'UNAUTHENTICATED', 'A bearer token is required.');
        return;
      }
      const dataset = /^\/datasets\/(.+)\.csv$/.exec(url.pathname);
      if (dataset) {
        const csv = datasets.get(dataset[1]);
        if (!csv) {
          send(res, 404, {
            error: { code: 'not_found', message: 'Dataset not found.' }
          });
          return;
        }
        res.writeHead(200, { 'content-type': 'text/csv' }).end(csv);
        return;
      }
      const artifact = /^\/api\/2\.0\/mlflow-artifacts\/artifacts\/(.+)$/.exec(
        url.pathname
      );
      if (artifact && req.method === 'PUT') {
        const prefix = `7/${FAKE_RUN_ID}/artifacts/`;
        const path = decodeURIComponent(artifact[1]);
        if (!path.startsWith(prefix)) {
          mlflowError(
            res,
            400,
            'INVALID_PARAMETER_VALUE',
            `Not this run's artifacts: ${path}`
          );
          return;
        }
        artifacts.set(path.slice(prefix.length), raw);
        send(res, 200, {});
        return;
      }
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /api/2.0/mlflow/runs/get':
          if (url.searchParams.get('run_id') !== FAKE_RUN_ID) {
            mlflowError(res, 404, 'RESOURCE_DOES_NOT_EXIST', 'Run not found.');
            return;
          }
          send(res, 200, { run: { info: fake.runInfo, data: {} } });
          return;
        case 'POST /api/2.0/mlflow/runs/log-batch': {
          const metrics = body.metrics ?? [];
          const params = body.params ?? [];
          const tags = body.tags ?? [];
          if (
            metrics.length > 1000 ||
            params.length > 100 ||
            tags.length > 100 ||
            metrics.length + params.length + tags.length > 1000
          ) {
            mlflowError(
              res,
              400,
              'INVALID_PARAMETER_VALUE',
              "A batch over MLflow's limits."
            );
            return;
          }
          send(res, 200, {});
          return;
        }
        case 'POST /api/2.0/mlflow/runs/log-inputs':
        case 'POST /api/2.0/mlflow/runs/update':
        case 'POST /api/2.0/mlflow/runs/set-tag':
          send(res, 200, {});
          return;
        // What a sidecar calls to open a job's run here.
        case 'GET /api/2.0/mlflow/experiments/get-by-name':
          send(res, 200, {
            experiment: {
              experiment_id: '7',
              name: url.searchParams.get('experiment_name')
            }
          });
          return;
        case 'GET /api/2.0/mlflow/experiments/search':
          send(res, 200, { experiments: [] });
          return;
        case 'POST /api/2.0/mlflow/runs/create':
          send(res, 200, { run: { info: fake.runInfo, data: {} } });
          return;
        case 'POST /api/2.0/mlflow/registered-models/create':
          if (models.has(body.name)) {
            mlflowError(
              res,
              400,
              'RESOURCE_ALREADY_EXISTS',
              `Registered Model (name=${body.name}) already exists.`
            );
            return;
          }
          models = new Set([...models, body.name]);
          send(res, 200, { registered_model: { name: body.name } });
          return;
        case 'POST /api/2.0/mlflow/model-versions/create': {
          if (!models.has(body.name)) {
            mlflowError(
              res,
              404,
              'RESOURCE_DOES_NOT_EXIST',
              'Registered model not found.'
            );
            return;
          }
          const version = (versions.get(body.name) ?? 0) + 1;
          versions.set(body.name, version);
          send(res, 200, {
            model_version: {
              name: body.name,
              version: String(version),
              source: body.source,
              run_id: body.run_id
            }
          });
          return;
        }
        default:
          mlflowError(
            res,
            404,
            'ENDPOINT_NOT_FOUND',
            `No ${req.method} ${url.pathname}`
          );
      }
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify(body));
}
