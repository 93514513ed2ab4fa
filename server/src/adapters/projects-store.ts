import type { Queryable } from '../db/types';

/**
 * SQL for `public.projects`. Every function runs inside the caller's
 * transaction (`withClaims`), so row-level security decides what it sees.
 */
export type ProjectVisibility = 'private' | 'team';

export interface ProjectRow {
  id: string;
  slug: string;
  name: string;
  description: string;
  visibility: ProjectVisibility;
  team_id: string | null;
  owner_id: string;
  /** ISO 8601 in UTC with milliseconds, as `Date.prototype.toJSON` writes it. */
  created_at: string;
  updated_at: string;
  dataset_count: number;
  run_count: number;
  model_count: number;
  last_activity_at: string;
}

export interface NewProject {
  slug: string;
  name: string;
  description: string;
  visibility: ProjectVisibility;
  team_id: string | null;
}

export type ProjectChanges = Partial<Omit<NewProject, 'slug'>>;

/**
 * The columns every answer carries: counts of the project's datasets, of its
 * tracking runs (not deleted ones) and registered models, and its newest
 * change among them (a run counts from when it started).
 */
const PROJECT_COLUMNS = `
  p.id, p.slug, p.name, p.description, p.visibility, p.team_id, p.owner_id,
  ${iso('p.created_at')} as created_at, ${iso('p.updated_at')} as updated_at,
  (select count(*)::int from public.datasets d where d.project_id = p.id) as dataset_count,
  (select count(*)::int from public.runs r
   where r.project_id = p.id and r.lifecycle_stage = 'active') as run_count,
  (select count(*)::int from public.registered_models m where m.project_id = p.id) as model_count,
  ${iso(`greatest(p.updated_at, (select max(d.updated_at) from public.datasets d where d.project_id = p.id),
    (select to_timestamp(max(r.start_time) / 1000.0) from public.runs r where r.project_id = p.id))`)} as last_activity_at`;

/**
 * Timestamps leave the database as the JSON text the API answers with:
 * parsing them into Dates and writing them back out was a tenth of the
 * list's cost (see bench/projects).
 */
export function iso(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** The same columns for `returning`, which cannot name a table alias. */
const RETURNING_COLUMNS = PROJECT_COLUMNS.replace(/\bp\./g, 'projects.');

/** The projects the current user can read, most recently changed first. */
export async function listProjects(tx: Queryable): Promise<ProjectRow[]> {
  const result = await tx.query<ProjectRow>(
    `select ${PROJECT_COLUMNS} from public.projects p order by p.updated_at desc, p.id`
  );
  return result.rows;
}

export async function findProject(
  tx: Queryable,
  id: string
): Promise<ProjectRow | undefined> {
  const result = await tx.query<ProjectRow>(
    `select ${PROJECT_COLUMNS} from public.projects p where p.id = $1`,
    [id]
  );
  return result.rows[0];
}

/** Owned by the current user (the column's default is `auth.uid()`). */
export async function insertProject(
  tx: Queryable,
  project: NewProject
): Promise<ProjectRow> {
  const result = await tx.query<ProjectRow>(
    `insert into public.projects (slug, name, description, visibility, team_id)
     values ($1, $2, $3, $4, $5)
     returning ${RETURNING_COLUMNS}`,
    [
      project.slug,
      project.name,
      project.description,
      project.visibility,
      project.team_id
    ]
  );
  return result.rows[0];
}

/** Undefined when the row is not there or the user may not change it. */
export async function updateProject(
  tx: Queryable,
  id: string,
  changes: ProjectChanges
): Promise<ProjectRow | undefined> {
  const columns = (
    ['name', 'description', 'visibility', 'team_id'] as const
  ).filter(column => changes[column] !== undefined);
  if (columns.length === 0) {
    return findProject(tx, id);
  }
  const assignments = columns
    .map((column, i) => `${column} = $${i + 2}`)
    .join(', ');
  const result = await tx.query<ProjectRow>(
    `update public.projects set ${assignments} where id = $1 returning ${RETURNING_COLUMNS}`,
    [id, ...columns.map(column => changes[column])]
  );
  return result.rows[0];
}

/** The deleted row, or undefined when it is not there or the user may not delete it. */
export async function deleteProject(
  tx: Queryable,
  id: string
): Promise<ProjectRow | undefined> {
  const result = await tx.query<ProjectRow>(
    `delete from public.projects where id = $1 returning ${RETURNING_COLUMNS}`,
    [id]
  );
  return result.rows[0];
}

/**
 * `base` if no project has it, else `base` with a random suffix: a counter
 * (`base-2`, `base-3`) told people about projects they cannot see.
 */
export async function availableSlug(
  tx: Queryable,
  base: string
): Promise<string> {
  const result = await tx.query<{ slug: string }>(
    'select public.available_project_slug($1) as slug',
    [base]
  );
  return result.rows[0].slug;
}
