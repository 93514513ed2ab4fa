import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { TokenVerifier } from '../auth/token-verifier';
import type { Database, JwtClaims } from '../db/types';
import { HttpError } from '../http/errors';
import { tokenRefusal } from '../http/require-user';
import type { Logger } from '../logger';
import { looksLikeApiKey, type ApiKeyResolver } from './api-keys';
import { BatchRefusedError } from './batcher';
import type { Row } from './predict-input';
import { CallerRateLimiter } from './rate-limiter';
import type { DeploymentRuntime, ManagedDeployment } from './runtime';
import { WorkerUnavailableError } from './worker';

/**
 * `POST /api/v1/predict/<project slug>`: the prediction endpoint, MLflow's
 * `/invocations` semantics (see predict-input.ts), answered
 * `{"predictions": [...]}` — for classifiers each row's
 * `{"prediction": label, "probabilities": {class: p}}`.
 *
 * It is the one hot path of the sidecar, so it is served before Express (a
 * plain `http` handler: Express's per-request setup cost three times the
 * rest of the sidecar's own work here) and without a per-request access log
 * line; every request is counted in the deployment's metrics instead, and
 * failures of the sidecar itself are logged. Errors keep the app's shape,
 * `{error: {code, message}}`.
 *
 * Auth: a signed-in user who can read the project (`Authorization: Bearer
 * <access token>`), or an API key of the endpoint (`Authorization: Bearer
 * ink_…` or `X-API-Key: ink_…`). With a rate limit set on the deployment,
 * each key (and each user) gets that many predictions per minute; more get
 * 429 `rate_limited` with `Retry-After` (rate-limiter.ts).
 */
export const PREDICT_PREFIX = '/api/v1/predict/';

const MEDIA_TYPES = new Set(['application/json', 'text/csv']);

/** How long "this user may read this project" is trusted without asking again. */
const READ_CHECK_TTL_MS = 10_000;
const MAX_READ_CHECKS = 10_000;

export interface PredictHandlerDeps {
  runtime: DeploymentRuntime;
  verifier: TokenVerifier;
  db: Database;
  keys: ApiKeyResolver;
  logger: Logger;
  maxBodyBytes: number;
}

/** Handles the request if it is a prediction (true), else leaves it alone (false). */
export type PredictHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createPredictHandler(deps: PredictHandlerDeps): PredictHandler {
  const readChecks = new Map<string, number>();
  const limiter = new CallerRateLimiter();

  const canRead = async (claims: JwtClaims, projectId: string): Promise<boolean> => {
    const cacheKey = `${claims.sub}|${projectId}`;
    const now = Date.now();
    if ((readChecks.get(cacheKey) ?? 0) > now) {
      return true;
    }
    const { rows } = await deps.db.withClaims(claims, tx =>
      tx.query('select 1 from public.projects where id = $1', [projectId])
    );
    if (rows.length === 0) {
      return false;
    }
    if (readChecks.size >= MAX_READ_CHECKS) {
      readChecks.clear();
    }
    readChecks.set(cacheKey, now + READ_CHECK_TTL_MS);
    return true;
  };

  /**
   * Who is calling, checked: `key ink_…` or `user <id>` (for the metrics),
   * `limitKey` (whose bucket the rate limit takes from); throws a 401.
   */
  const authenticate = async (
    req: IncomingMessage
  ): Promise<{ caller: string; limitKey: string; keyProject?: string; claims?: JwtClaims }> => {
    const headerKey = req.headers['x-api-key'];
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = typeof headerKey === 'string' && headerKey ? headerKey.trim() : undefined;
    if (key || (bearer && looksLikeApiKey(bearer))) {
      const resolved = await deps.keys.resolve((key ?? bearer) as string);
      if (!resolved) {
        throw new HttpError(
          401,
          'This API key is not valid or was revoked: create a new one in the Deployments view.',
          'invalid_api_key'
        );
      }
      return { caller: `key ${resolved.prefix}`, limitKey: `key ${resolved.id}`, keyProject: resolved.projectId };
    }
    if (!bearer) {
      throw new HttpError(
        401,
        'Send an API key of this endpoint ("X-API-Key: ink_…" or "Authorization: Bearer ink_…") or your access token ("Authorization: Bearer <token>").',
        'unauthorized'
      );
    }
    let claims: JwtClaims;
    try {
      claims = await deps.verifier.verify(bearer);
    } catch (err) {
      throw tokenRefusal(err);
    }
    if (claims.role !== 'authenticated' || !claims.sub) {
      throw new HttpError(401, "This request needs a signed-in user's access token or an API key.", 'unauthorized');
    }
    return { caller: `user ${claims.sub}`, limitKey: `user ${claims.sub}`, claims };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, slug: string) => {
    const started = performance.now();
    let deployment: ManagedDeployment | undefined = slug ? deps.runtime.endpoint(slug) : undefined;
    let caller = 'unknown';
    let rowCount = 0;
    let status = 200;
    let error: string | undefined;
    let firstPrediction: unknown;
    try {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpError(405, 'Predictions are POST requests with the rows in the body.', 'method_not_allowed');
      }
      const who = await authenticate(req);
      caller = who.caller;
      // Made only when needed: an Error's stack costs more than the rest of a check.
      const nothingHere = () =>
        new HttpError(
          404,
          slug
            ? `Nothing is deployed at ${PREDICT_PREFIX}${slug}: deploy a model version of the project first.`
            : `Name the endpoint: ${PREDICT_PREFIX}<project slug>.`,
          'not_found'
        );
      if (!deployment) {
        throw nothingHere();
      }
      if (who.keyProject !== undefined && who.keyProject !== deployment.row.project_id) {
        throw new HttpError(403, 'This API key belongs to another endpoint.', 'forbidden');
      }
      if (who.claims && !(await canRead(who.claims, deployment.row.project_id))) {
        // Nobody learns what others deployed by trying.
        deployment = undefined;
        throw nothingHere();
      }
      const limit = deployment.row.rate_limit_per_minute;
      if (limit !== null) {
        const wait = limiter.take(`${deployment.row.project_id} ${who.limitKey}`, limit);
        if (wait > 0) {
          res.setHeader('retry-after', String(wait));
          throw new HttpError(
            429,
            `This endpoint takes at most ${limit} predictions per minute from each API key (and each user): try again in ${wait} s.`,
            'rate_limited'
          );
        }
      }
      const media = (req.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
      if (!MEDIA_TYPES.has(media)) {
        throw new HttpError(
          415,
          `Send the rows as application/json or text/csv, not ${media ? `"${media}"` : 'a body without Content-Type'}.`,
          'unsupported_media_type'
        );
      }
      const body = await readBody(req, res, deps.maxBodyBytes);
      // An upgrade may have switched the endpoint while the body arrived:
      // the rows go to (and are checked against) whatever serves now.
      deployment = deps.runtime.endpoint(slug) ?? deployment;
      const worker = deployment.worker;
      const checker = deployment.checker;
      if (!worker || worker.isStopping || deployment.state !== 'serving') {
        res.setHeader('retry-after', '2');
        throw new HttpError(
          503,
          'The model server is starting or restarting: try again in a few seconds.',
          'unavailable'
        );
      }
      let predictions: unknown[];
      if (checker) {
        const text = body.toString('utf8');
        const rows: Row[] = media === 'text/csv' ? checker.fromCsv(text) : checker.fromJson(text);
        rowCount = rows.length;
        predictions = await worker.predict(rows);
      } else {
        // A model without a signature: its worker checks the body itself.
        const answer = await worker.forward(body, media);
        const parsed = JSON.parse(answer.body.toString('utf8'));
        if (answer.status !== 200) {
          throw new BatchRefusedError(parsed?.message ?? 'The model refused the input.', answer.status);
        }
        predictions = parsed.predictions;
        rowCount = Array.isArray(predictions) ? predictions.length : 0;
      }
      firstPrediction = predictions[0];
      send(res, 200, `{"predictions":${JSON.stringify(predictions)}}`);
    } catch (err) {
      const answer = toHttpError(err);
      if (answer.status >= 500 && !(err instanceof WorkerUnavailableError) && !(err instanceof HttpError)) {
        deps.logger.error({ err, slug }, 'prediction failed');
      }
      status = answer.status;
      error = answer.message;
      rowCount = status < 400 ? rowCount : 0;
      send(res, status, JSON.stringify({ error: { code: answer.code, message: answer.message } }));
    } finally {
      if (deployment) {
        deps.runtime.metricsOf(deployment.row.id).record({
          at: Date.now(),
          status,
          latencyMs: performance.now() - started,
          rows: status < 400 ? rowCount : 0,
          caller,
          ...(error !== undefined ? { error } : { prediction: firstPrediction })
        });
      }
    }
  };

  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(PREDICT_PREFIX)) {
      return false;
    }
    const pathname = url.split('?', 1)[0];
    const slug = decodeSlug(pathname.slice(PREDICT_PREFIX.length).replace(/\/$/, ''));
    if (slug === undefined) {
      return false;
    }
    handle(req, res, slug).catch(err => {
      deps.logger.error({ err }, 'prediction handler failed');
      if (!res.headersSent) {
        send(res, 500, JSON.stringify({ error: { code: 'internal_error', message: 'Something went wrong on the server.' } }));
      }
    });
    return true;
  };
}

/** A slug as the path has it; undefined for deeper paths (not ours). */
function decodeSlug(segment: string): string | undefined {
  if (segment.includes('/')) {
    return undefined;
  }
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) {
    return err;
  }
  if (err instanceof BatchRefusedError) {
    return new HttpError(400, `The model could not score this input: ${err.message}`, 'prediction_failed');
  }
  if (err instanceof WorkerUnavailableError) {
    return new HttpError(
      503,
      `${err.message} It is being restarted: try again in a few seconds.`,
      'unavailable'
    );
  }
  return new HttpError(500, 'Something went wrong on the server.', 'internal_error');
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    return;
  }
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store'
  });
  res.end(body);
}

/** The whole body, or 413 once it is larger than `limit` (the connection then closes). */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  const tooLarge = () => {
    // The rest of a huge body is not worth reading to keep the connection.
    res.setHeader('connection', 'close');
    return new HttpError(
      413,
      `The request body is larger than ${formatBytes(limit)}: send fewer rows per request.`,
      'payload_too_large'
    );
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) {
        return;
      }
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      }
    });
    req.on('error', err => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
  });
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) {
    return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  }
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} bytes`;
}
