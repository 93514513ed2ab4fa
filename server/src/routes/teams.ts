import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { TEAM_ROLES } from '../adapters/teams-store';
import { parseJsonBody } from '../http/parse-body';
import { currentUser } from '../http/require-user';
import type { TeamsService } from '../services/teams';

/**
 * `/api/v1/teams`: my teams, their members and invitations. Every route needs
 * a signed-in user (`authenticate`, i.e. `requireUser`).
 *
 * Answers: a team is `{id, name, role (mine), member_count, created_by,
 * created_at, updated_at}`, the list `{teams: [...]}`; a member is
 * `{user_id, email, full_name, avatar_url, role, created_at}`, the list
 * `{members: [...]}`; an invitation is `{id, team_id, email, role,
 * invited_by, created_at}`, the (pending) list `{invitations: [...]}`.
 * Errors are `{error: {code, message, details?}}`:
 * - 400 `invalid_input`: a bad field (details.fields names each);
 * - 403 `forbidden`: the role does not allow it (the message says whose does);
 * - 404 `not_found`: an unknown team, member or invitation, or a team I am
 *   not in (never revealing whether it exists);
 * - 409 `already_invited` / `already_member`: the person is invited or in
 *   already; 409 `last_owner`: the change would leave the team without owner.
 */
const name = z
  .string({
    error: issue =>
      issue.input == null ? 'Team name is required.' : 'Team name must be text.'
  })
  .trim()
  .min(1, 'Team name is required.')
  .max(100, 'Team name must be at most 100 characters.');

const role = z.enum(TEAM_ROLES, {
  error: issue =>
    issue.input == null
      ? 'Role is required.'
      : `Role must be one of ${TEAM_ROLES.map(r => `"${r}"`).join(', ')}.`
});

const email = z
  .string({
    error: issue =>
      issue.input == null ? 'Email is required.' : 'Email must be text.'
  })
  .trim()
  .max(320, 'Email must be at most 320 characters.')
  .pipe(
    z.email({
      error: 'Email must be a valid email address, e.g. ada@example.com.'
    })
  )
  .transform(value => value.toLowerCase());

const unknownKeys =
  (fields: string) => (issue: { code?: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys'
      ? `Unknown field ${issue.keys?.map(k => `"${k}"`).join(', ')}: send ${fields}.`
      : undefined;

const teamBody = z.strictObject({ name }, { error: unknownKeys('"name"') });
const invitationBody = z.strictObject(
  { email, role: role.default('member') },
  { error: unknownKeys('"email" and "role"') }
);
const memberBody = z.strictObject({ role }, { error: unknownKeys('"role"') });

export function teamRoutes(
  teams: TeamsService,
  authenticate: RequestHandler
): Router {
  const router = Router();
  router.use('/api/v1/teams', authenticate);

  router.get('/api/v1/teams', async (req, res) => {
    res.json({ teams: await teams.list(currentUser(req)) });
  });

  router.post('/api/v1/teams', async (req, res) => {
    const input = parseJsonBody(teamBody, req.body, '{"name": "Research"}');
    res.status(201).json(await teams.create(currentUser(req), input));
  });

  router.get('/api/v1/teams/:id', async (req, res) => {
    res.json(await teams.get(currentUser(req), req.params.id));
  });

  router.patch('/api/v1/teams/:id', async (req, res) => {
    const input = parseJsonBody(teamBody, req.body, '{"name": "Research"}');
    res.json(await teams.rename(currentUser(req), req.params.id, input));
  });

  router.delete('/api/v1/teams/:id', async (req, res) => {
    await teams.remove(currentUser(req), req.params.id);
    res.status(204).end();
  });

  router.get('/api/v1/teams/:id/members', async (req, res) => {
    res.json({ members: await teams.members(currentUser(req), req.params.id) });
  });

  router.patch('/api/v1/teams/:id/members/:userId', async (req, res) => {
    const input = parseJsonBody(memberBody, req.body, '{"role": "admin"}');
    res.json(
      await teams.changeRole(
        currentUser(req),
        req.params.id,
        req.params.userId,
        input
      )
    );
  });

  router.delete('/api/v1/teams/:id/members/:userId', async (req, res) => {
    await teams.removeMember(
      currentUser(req),
      req.params.id,
      req.params.userId
    );
    res.status(204).end();
  });

  router.post('/api/v1/teams/:id/leave', async (req, res) => {
    await teams.leave(currentUser(req), req.params.id);
    res.status(204).end();
  });

  router.get('/api/v1/teams/:id/invitations', async (req, res) => {
    res.json({
      invitations: await teams.invitations(currentUser(req), req.params.id)
    });
  });

  router.post('/api/v1/teams/:id/invitations', async (req, res) => {
    const input = parseJsonBody(
      invitationBody,
      req.body,
      '{"email": "ada@example.com", "role": "member"}'
    );
    res
      .status(201)
      .json(await teams.invite(currentUser(req), req.params.id, input));
  });

  router.delete(
    '/api/v1/teams/:id/invitations/:invitationId',
    async (req, res) => {
      await teams.withdrawInvitation(
        currentUser(req),
        req.params.id,
        req.params.invitationId
      );
      res.status(204).end();
    }
  );

  return router;
}
