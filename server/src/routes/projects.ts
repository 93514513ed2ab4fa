import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { parseJsonBody } from '../http/parse-body';
import { currentUser } from '../http/require-user';
import type { ProjectsService } from '../services/projects';

/**
 * `/api/v1/projects`: list, create, read, change, delete. Every route needs a
 * signed-in user (`authenticate`, i.e. `requireUser`).
 *
 * Answers: a project is `{id, slug, name, description, visibility, team_id,
 * owner_id, created_at, updated_at, dataset_count, run_count, model_count,
 * last_activity_at}`; the list is `{projects: [...]}`. Errors are
 * `{error: {code, message, details?}}`:
 * - 400 `invalid_input`: a bad field (details.fields names each), or a team
 *   project without a team;
 * - 403 `not_team_member`: a team the user is not in (403, not 404, whether or
 *   not the team exists); 403 `forbidden`: a project they can read but not
 *   change or delete;
 * - 404 `not_found`: an unknown id, or a project the user cannot read;
 * - 409 `conflict`: only if a free slug could not be taken after a few tries.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const name = z
  .string({
    error: issue =>
      issue.input == null
        ? 'Project name is required.'
        : 'Project name must be text.'
  })
  .trim()
  .min(1, 'Project name is required.')
  .max(100, 'Project name must be at most 100 characters.');

const description = z
  .string({ error: 'Project description must be text.' })
  .trim()
  .max(2000, 'Project description must be at most 2000 characters.');

const visibility = z.enum(['private', 'team'], {
  error: 'Visibility must be "private" or "team".'
});

const teamId = z
  .string({ error: 'team_id must be the id of a team.' })
  .regex(UUID, 'team_id must be the id of a team.')
  .nullable();

const FIELDS = 'name, description, visibility and team_id';

const unknownKeys = (issue: { code?: string; keys?: string[] }) =>
  issue.code === 'unrecognized_keys'
    ? `Unknown field ${issue.keys?.map(k => `"${k}"`).join(', ')}: a project has ${FIELDS}.`
    : undefined;

const createBody = z.strictObject(
  {
    name,
    description: description.default(''),
    visibility: visibility.default('private'),
    team_id: teamId.optional().transform(value => value ?? null)
  },
  { error: unknownKeys }
);

const patchBody = z
  .strictObject(
    {
      name: name.optional(),
      description: description.optional(),
      visibility: visibility.optional(),
      team_id: teamId.optional()
    },
    { error: unknownKeys }
  )
  .refine(patch => Object.values(patch).some(value => value !== undefined), {
    error: `Nothing to change: send one or more of ${FIELDS}.`
  });

const PROJECT_EXAMPLE = '{"name": "Churn model"}';

export function projectRoutes(
  projects: ProjectsService,
  authenticate: RequestHandler
): Router {
  const router = Router();
  router.use('/api/v1/projects', authenticate);

  router.get('/api/v1/projects', async (req, res) => {
    res.json({ projects: await projects.list(currentUser(req)) });
  });

  router.post('/api/v1/projects', async (req, res) => {
    const input = parseJsonBody(
      createBody,
      req.body,
      PROJECT_EXAMPLE,
      'the project as a JSON object'
    );
    res.status(201).json(await projects.create(currentUser(req), input));
  });

  router.get('/api/v1/projects/:id', async (req, res) => {
    res.json(await projects.get(currentUser(req), req.params.id));
  });

  router.patch('/api/v1/projects/:id', async (req, res) => {
    const patch = parseJsonBody(
      patchBody,
      req.body,
      PROJECT_EXAMPLE,
      'the project as a JSON object'
    );
    res.json(await projects.update(currentUser(req), req.params.id, patch));
  });

  router.delete('/api/v1/projects/:id', async (req, res) => {
    await projects.remove(currentUser(req), req.params.id);
    res.status(204).end();
  });

  return router;
}
