import { Router, type RequestHandler } from 'express';
import { parseJsonBody } from '../http/parse-body';
import { optionalQuery, wholeNumberQuery } from '../http/query';
import { currentUser } from '../http/require-user';
import { trainJobBody } from '../jobs/algorithms';
import type { JobsService } from '../services/jobs';

/**
 * `/api/v1/jobs`: training jobs. Every route needs a signed-in user.
 *
 * - `GET /api/v1/jobs/algorithms` → `{algorithms: [{id, label, tasks, params:
 *   [{name, type, default, min, max, exclusiveMin, exclusiveMax, nullable,
 *   description}]}]}`: what the training form offers and the bounds checked here.
 * - `POST /api/v1/jobs` `{kind: 'train', project_id, dataset_id,
 *   dataset_version?, target, algorithm, task?, params, runner?, limits?:
 *   {memory_mb, cpus}}` → 202 with the job (`{id, run_id, status: 'queued', …}`).
 * - `GET /api/v1/jobs[?project_id=]` → `{jobs: [...]}`, newest first.
 * - `GET /api/v1/jobs/:id` → the job: `{id, project_id, kind, status, error,
 *   run_id, experiment_id, dataset_id, dataset_version, target, algorithm,
 *   task, params, runner, limits, model_name, model_version, exit_code,
 *   created_by, created_at, started_at, finished_at}`.
 * - `GET /api/v1/jobs/:id/logs[?since=<line number>][&limit=]` →
 *   `{lines: [{n, stream, text, timestamp}], done}`.
 * - `GET /api/v1/jobs/:id/stats` → `{cpu_percent, memory_bytes,
 *   memory_limit_bytes}` while it runs (409 `not_running` otherwise).
 * - `POST /api/v1/jobs/:id/cancel` → the job (cancelled once it stopped).
 *
 * Errors are `{error: {code, message, details?}}`: 400 `invalid_input`
 * (details.fields names each field), 403 `forbidden`, 404 `not_found`, 409
 * `not_ready` (dataset) / `conflict` (job already ended), 503 when tracking is
 * down.
 */
const JOB_EXAMPLE =
  '{"kind": "train", "project_id": "…", "dataset_id": "…", "target": "Class", "algorithm": "xgboost", "params": {"n_estimators": 200}}';

export function jobRoutes(
  jobs: JobsService,
  authenticate: RequestHandler
): Router {
  const router = Router();
  router.use('/api/v1/jobs', authenticate);

  router.get('/api/v1/jobs/algorithms', (_req, res) => {
    res.json(jobs.algorithms());
  });

  router.post('/api/v1/jobs', async (req, res) => {
    const body = parseJsonBody(
      trainJobBody,
      req.body,
      JOB_EXAMPLE,
      'the training job as a JSON object'
    );
    res.status(202).json(await jobs.create(currentUser(req), body));
  });

  router.get('/api/v1/jobs', async (req, res) => {
    const project = optionalQuery(req, 'project_id');
    res.json({ jobs: await jobs.list(currentUser(req), project ?? null) });
  });

  router.get('/api/v1/jobs/:id', async (req, res) => {
    res.json(await jobs.get(currentUser(req), req.params.id));
  });

  router.get('/api/v1/jobs/:id/logs', async (req, res) => {
    const since = wholeNumberQuery(req, 'since', 0);
    const limit = wholeNumberQuery(req, 'limit', 5000, 1);
    res.json(await jobs.logs(currentUser(req), req.params.id, since, limit));
  });

  router.get('/api/v1/jobs/:id/stats', async (req, res) => {
    res.json(await jobs.stats(currentUser(req), req.params.id));
  });

  router.post('/api/v1/jobs/:id/cancel', async (req, res) => {
    res.json(await jobs.cancel(currentUser(req), req.params.id));
  });

  return router;
}
