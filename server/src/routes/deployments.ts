import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { DeploymentsService } from '../deployments/service';
import { parseJsonBody } from '../http/parse-body';
import { currentUser } from '../http/require-user';

/**
 * `/api/v1/deployments`: deploy a model version of a project, list, read and
 * stop deployments; the endpoint's API keys; its metrics. Every route needs a
 * signed-in user. Predictions themselves are `POST /api/v1/predict/<slug>`
 * (deployments/predict-handler.ts).
 *
 * Answers: a deployment is `{id, project_id, slug, url, status, model_name,
 * model_version, runner, error, serving, example, created_by, created_at,
 * updated_at, ready_at, stopped_at, rate_limit_per_minute}` (status `pending →
 * starting → ready | failed → stopped`); the list is `{deployments: [...]}`; a
 * new key is the key record plus `key`, shown that once.
 *
 * `rate_limit_per_minute` (create, or `PATCH /api/v1/deployments/:id`): how
 * many predictions each API key (and each signed-in caller) may make per
 * minute; more get 429 with `Retry-After`. Null: no limit; left out when
 * deploying: the project's previous deployment's limit. Errors are `{error: {code, message}}`:
 * - 400 `invalid_input`: a bad field (details.fields names each);
 * - 403 `forbidden`: a project the user reads but may not deploy to
 *   (viewers), or keys they may not manage;
 * - 404 `not_found` / `model_not_found`: an unknown (or unreadable) project,
 *   deployment or key, or a model version that does not exist;
 * - 409 `conflict`: another deploy of the project at the same instant.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const FIELDS = 'project_id, model_name, version and rate_limit_per_minute';

const MAX_RATE_LIMIT = 1_000_000;

const rateLimit = z
  .number({
    error: `rate_limit_per_minute must be a whole number of predictions per minute (1 to ${MAX_RATE_LIMIT}), or null for no limit.`
  })
  .int('rate_limit_per_minute must be a whole number, e.g. 600.')
  .min(1, 'rate_limit_per_minute must be 1 or more (null: no limit).')
  .max(MAX_RATE_LIMIT, `rate_limit_per_minute must be at most ${MAX_RATE_LIMIT}.`)
  .nullable();

const createBody = z.strictObject(
  {
    project_id: z
      .string({ error: "project_id is required: the id of the project whose model to deploy." })
      .regex(UUID, "project_id must be a project's id."),
    model_name: z
      .string({ error: 'model_name must be text.' })
      .trim()
      .min(1, 'model_name must not be empty (leave it out for the project\'s own model).')
      .max(256, 'model_name must be at most 256 characters.')
      .optional(),
    version: z.coerce
      .number({ error: 'version is required: the model version to deploy, e.g. 1.' })
      .int('version must be a whole number, e.g. 1.')
      .min(1, 'version must be 1 or more.'),
    rate_limit_per_minute: rateLimit.optional()
  },
  {
    error: issue =>
      issue.code === 'unrecognized_keys'
        ? `Unknown field ${issue.keys?.map(k => `"${k}"`).join(', ')}: a deployment takes ${FIELDS}.`
        : undefined
  }
);

const patchBody = z.strictObject(
  { rate_limit_per_minute: rateLimit },
  {
    error: issue =>
      issue.code === 'unrecognized_keys'
        ? `Unknown field ${issue.keys?.map(k => `"${k}"`).join(', ')}: a deployment's rate_limit_per_minute can be changed.`
        : undefined
  }
);

const keyBody = z.strictObject(
  {
    name: z
      .string({ error: 'name must be text.' })
      .trim()
      .max(100, 'name must be at most 100 characters.')
      .default('')
  },
  {
    error: issue =>
      issue.code === 'unrecognized_keys'
        ? 'Unknown field: an API key takes only a name.'
        : undefined
  }
);

export function deploymentRoutes(
  deployments: DeploymentsService,
  authenticate: RequestHandler
): Router {
  const router = Router();
  router.use('/api/v1/deployments', authenticate);

  router.get('/api/v1/deployments', async (req, res) => {
    const projectId = typeof req.query.project_id === 'string' ? req.query.project_id : undefined;
    res.json({ deployments: await deployments.list(currentUser(req), projectId) });
  });

  router.post('/api/v1/deployments', async (req, res) => {
    const input = parseJsonBody(
      createBody,
      req.body,
      '{"project_id": "…", "version": 1}',
      'the deployment as a JSON object'
    );
    res.status(201).json(await deployments.create(currentUser(req), input));
  });

  router.get('/api/v1/deployments/:id', async (req, res) => {
    res.json(await deployments.get(currentUser(req), req.params.id));
  });

  router.patch('/api/v1/deployments/:id', async (req, res) => {
    const input = parseJsonBody(
      patchBody,
      req.body,
      '{"rate_limit_per_minute": 600}',
      'the change as a JSON object'
    );
    res.json(
      await deployments.setRateLimit(currentUser(req), req.params.id, input.rate_limit_per_minute)
    );
  });

  router.delete('/api/v1/deployments/:id', async (req, res) => {
    res.json(await deployments.stop(currentUser(req), req.params.id));
  });

  router.get('/api/v1/deployments/:id/metrics', async (req, res) => {
    res.json(await deployments.metrics(currentUser(req), req.params.id));
  });

  router.get('/api/v1/deployments/:id/keys', async (req, res) => {
    res.json({ keys: await deployments.listKeys(currentUser(req), req.params.id) });
  });

  router.post('/api/v1/deployments/:id/keys', async (req, res) => {
    const input = parseJsonBody(keyBody, req.body ?? {}, '{"name": "billing service"}', 'the key as a JSON object');
    res.status(201).json(await deployments.createKey(currentUser(req), req.params.id, input.name));
  });

  router.delete('/api/v1/deployments/:id/keys/:keyId', async (req, res) => {
    res.json(await deployments.revokeKey(currentUser(req), req.params.id, req.params.keyId));
  });

  return router;
}
