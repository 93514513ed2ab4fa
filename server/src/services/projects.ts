import {
  availableSlug,
  deleteProject,
  findProject,
  insertProject,
  listProjects,
  updateProject,
  type ProjectRow,
  type ProjectVisibility
} from '../adapters/projects-store';
import { findMyTeam } from '../adapters/teams-store';
import { sqlState, SqlState } from '../db/errors';
import type { Database, JwtClaims, Queryable } from '../db/types';
import type { EventHub, EventResource } from '../events/hub';
import { HttpError } from '../http/errors';

/**
 * Projects: create, list, read, change and delete, as the signed-in user.
 * Row-level security decides who sees and changes what; this layer turns
 * its refusals into answers a person understands, derives slugs, and
 * announces changes on the event hub once they are committed.
 */
export type Project = ProjectRow;

export interface ProjectInput {
  name: string;
  description: string;
  visibility: ProjectVisibility;
  team_id: string | null;
}

export type ProjectPatch = Partial<ProjectInput>;

/** Raised by the projects migration's sharing guard. */
const ONLY_OWNER_SHARES = 'IN101';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Room for a `-xxxxxx` suffix (a taken name's) within the slug column's 80 characters. */
const SLUG_BASE_MAX = 60;

/** Concurrent creations that take the same slug: a few retries settle it. */
const SLUG_ATTEMPTS = 5;

export const projectNotFound = () =>
  new HttpError(404, 'Project not found.', 'not_found');

export class ProjectsService {
  constructor(
    private readonly db: Database,
    private readonly events: EventHub
  ) {}

  list(user: JwtClaims): Promise<Project[]> {
    return this.db.withClaims(user, listProjects);
  }

  async get(user: JwtClaims, id: string): Promise<Project> {
    assertProjectId(id);
    const project = await this.db.withClaims(user, tx => findProject(tx, id));
    if (!project) {
      throw projectNotFound();
    }
    return project;
  }

  async create(user: JwtClaims, input: ProjectInput): Promise<Project> {
    assertSharing(input.visibility, input.team_id);
    const base = slugify(input.name);
    for (let attempt = 1; ; attempt++) {
      try {
        const project = await this.db.withClaims(user, async tx => {
          if (input.team_id) {
            await assertCanWriteTeam(tx, input.team_id);
          }
          const slug = await availableSlug(tx, base);
          return insertProject(tx, { ...input, slug });
        });
        this.events.publish({
          type: 'project.created',
          payload: projectPayload(project),
          resource: resourceOf(project.id)
        });
        return project;
      } catch (err) {
        // Someone took the same free slug between our check and our insert.
        if (sqlState(err) === SqlState.uniqueViolation) {
          if (attempt < SLUG_ATTEMPTS) {
            continue;
          }
          throw new HttpError(
            409,
            'Another project with a similar name was created at the same moment: try again.',
            'conflict'
          );
        }
        throw translate(err);
      }
    }
  }

  async update(
    user: JwtClaims,
    id: string,
    patch: ProjectPatch
  ): Promise<Project> {
    assertProjectId(id);
    const sharingChanges =
      patch.visibility !== undefined || patch.team_id !== undefined;
    // People who lose sight of the project still hear that it changed.
    const formerReaders = sharingChanges
      ? await this.events.readersOf(resourceOf(id))
      : undefined;
    const project = await this.db
      .withClaims(user, async tx => {
        const current = await findProject(tx, id);
        if (!current) {
          throw projectNotFound();
        }
        const changes = { ...patch };
        if (sharingChanges) {
          const visibility = patch.visibility ?? current.visibility;
          const teamId =
            patch.team_id !== undefined
              ? patch.team_id
              : visibility === 'private'
                ? null
                : current.team_id;
          assertSharing(visibility, teamId);
          if (visibility !== current.visibility || teamId !== current.team_id) {
            if (current.owner_id !== user.sub) {
              throw onlyOwnerShares();
            }
            if (teamId) {
              await assertCanWriteTeam(tx, teamId);
            }
          }
          changes.visibility = visibility;
          changes.team_id = teamId;
        }
        const updated = await updateProject(tx, id, changes);
        if (!updated) {
          throw new HttpError(
            403,
            'You can see this project but not change it: ask a team admin to make you a member of its team.',
            'forbidden'
          );
        }
        return updated;
      })
      .catch(err => {
        throw translate(err);
      });
    this.events.publish({
      type: 'project.updated',
      payload: projectPayload(project),
      resource: resourceOf(project.id),
      formerReaders
    });
    return project;
  }

  async remove(user: JwtClaims, id: string): Promise<void> {
    assertProjectId(id);
    // Once the row is gone nobody can be asked whether they could read it.
    const formerReaders = await this.events.readersOf(resourceOf(id));
    const project = await this.db
      .withClaims(user, async tx => {
        const deleted = await deleteProject(tx, id);
        if (deleted) {
          return deleted;
        }
        if (await findProject(tx, id)) {
          throw new HttpError(
            403,
            "Only the project's owner or its team's owners and admins can delete it.",
            'forbidden'
          );
        }
        throw projectNotFound();
      })
      .catch(err => {
        throw translate(err);
      });
    this.events.publish({
      type: 'project.deleted',
      payload: {
        projectId: project.id,
        name: project.name,
        slug: project.slug,
        timestamp: Date.now()
      },
      resource: resourceOf(project.id),
      formerReaders,
      rowGone: true
    });
  }
}

/**
 * The URL-safe form of a project name: ASCII, lower-case, words joined by
 * single hyphens ("Churn Model — Q3 (Ünïcode)" → "churn-model-q3-unicode").
 * A name with no Latin letters or digits becomes "project".
 */
export function slugify(name: string): string {
  const folded = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[ßæœøđłþ]/g, ch => LIGATURES[ch] ?? ch);
  let slug = folded.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (slug.length > SLUG_BASE_MAX) {
    const cut = slug.slice(0, SLUG_BASE_MAX + 1);
    // Cut at a word boundary when there is one in reach.
    const lastHyphen = cut.lastIndexOf('-');
    slug = (
      lastHyphen > SLUG_BASE_MAX / 2
        ? cut.slice(0, lastHyphen)
        : cut.slice(0, SLUG_BASE_MAX)
    ).replace(/-+$/g, '');
  }
  return slug || 'project';
}

const LIGATURES: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  đ: 'd',
  ł: 'l',
  þ: 'th'
};

function resourceOf(id: string): EventResource {
  return { table: 'projects', id };
}

function projectPayload(project: Project) {
  return {
    projectId: project.id,
    name: project.name,
    slug: project.slug,
    visibility: project.visibility,
    timestamp: Date.now()
  };
}

/** Ids that cannot be a project's are unknown projects, not bad requests. */
function assertProjectId(id: string): void {
  if (!UUID.test(id)) {
    throw projectNotFound();
  }
}

function assertSharing(
  visibility: ProjectVisibility,
  teamId: string | null
): void {
  if (visibility === 'team' && !teamId) {
    throw new HttpError(
      400,
      'Choose a team for a team project.',
      'invalid_input'
    );
  }
  if (visibility === 'private' && teamId) {
    throw new HttpError(
      400,
      'A private project belongs to no team: leave out team_id, or set visibility to "team".',
      'invalid_input'
    );
  }
}

/**
 * Creating a project in a team, or moving one there, needs the member role.
 * 403 for a team the user is not in, whether or not it exists: nobody learns
 * which teams exist by trying.
 */
async function assertCanWriteTeam(
  tx: Queryable,
  teamId: string
): Promise<void> {
  const role = UUID.test(teamId)
    ? (await findMyTeam(tx, teamId))?.role
    : undefined;
  if (!role) {
    throw new HttpError(
      403,
      'You are not a member of that team.',
      'not_team_member'
    );
  }
  if (role === 'viewer') {
    throw new HttpError(
      403,
      'Viewers cannot add projects to a team: ask a team admin to make you a member.',
      'forbidden'
    );
  }
}

function onlyOwnerShares(): HttpError {
  return new HttpError(
    403,
    "Only the project's owner can change who it is shared with.",
    'forbidden'
  );
}

/** Database refusals the checks above should have caught, still answered clearly. */
function translate(err: unknown): unknown {
  if (err instanceof HttpError) {
    return err;
  }
  switch (sqlState(err)) {
    case ONLY_OWNER_SHARES:
      return onlyOwnerShares();
    case SqlState.insufficientPrivilege:
      return new HttpError(
        403,
        'You may not make this change to the project.',
        'forbidden'
      );
    case SqlState.checkViolation:
    case SqlState.stringTooLong:
      return new HttpError(
        400,
        'The project does not meet the rules for its fields.',
        'invalid_input'
      );
    case SqlState.foreignKeyViolation:
      return new HttpError(
        403,
        'You are not a member of that team.',
        'not_team_member'
      );
    default:
      return err;
  }
}
