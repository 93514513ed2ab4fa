import { sqlState, SqlState } from '../db/errors';
import type { Queryable } from '../db/types';
import {
  alreadyExists,
  doesNotExist,
  invalidParameter,
  MlflowError,
  permissionDenied
} from './errors';
import { findProjectAccess, type ProjectAccess } from './experiments-store';

/**
 * Which project tracking data belongs to, and refusals answered MLflow's way.
 * Experiments and registered models name their project; everything else
 * inherits it.
 */
export const PROJECT_TAG = 'insighter.project_id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The project a new experiment or registered model belongs to: the one its
 * `insighter.project_id` tag names, or the one whose slug the name is (or
 * starts with, then "/"). Refused unless the user may add to it.
 */
export async function owningProject(
  tx: Queryable,
  what: 'Experiment' | 'Registered model',
  name: string,
  projectTag: string | undefined
): Promise<ProjectAccess> {
  let project: ProjectAccess | undefined;
  if (projectTag !== undefined) {
    project = UUID.test(projectTag)
      ? await findProjectAccess(tx, { id: projectTag })
      : undefined;
    if (!project) {
      throw invalidParameter(
        `The ${PROJECT_TAG} tag names no project you can use: '${projectTag}'.`
      );
    }
  } else {
    const slug = name.split('/')[0];
    project = await findProjectAccess(tx, { slug });
    if (!project) {
      throw invalidParameter(
        `${what} '${name}' belongs to no project: name it after a project you can use ('<project slug>' or '<project slug>/<name>'), or tag it ${PROJECT_TAG} with the project's id.`
      );
    }
  }
  if (!project.writable) {
    throw permissionDenied(
      `You can read project '${project.slug}' but not add to it: ask a team admin to make you a member of its team.`
    );
  }
  return project;
}

export function readOnly(what: string): MlflowError {
  return permissionDenied(
    `You can read this ${what}'s project but not change it: ask a team admin to make you a member of its team.`
  );
}

/** Database refusals the checks above should have caught, still answered MLflow's way. */
export function translate(
  err: unknown,
  context: { experimentName?: string; modelName?: string } = {}
): unknown {
  if (err instanceof MlflowError) {
    return err;
  }
  switch (sqlState(err)) {
    case SqlState.uniqueViolation:
      if (context.experimentName !== undefined) {
        return alreadyExists(
          `Experiment(name=${context.experimentName}) already exists.`
        );
      }
      if (context.modelName !== undefined) {
        return alreadyExists(
          `Registered Model (name=${context.modelName}) already exists.`
        );
      }
      return alreadyExists('It already exists.');
    case SqlState.insufficientPrivilege:
      return readOnly('item');
    case SqlState.checkViolation:
    case SqlState.stringTooLong:
      return invalidParameter(
        'A value is outside the limits for its field.'
      );
    case SqlState.foreignKeyViolation:
      return doesNotExist('What it refers to does not exist.');
    case SqlState.invalidTextRepresentation:
      return invalidParameter('A value is not of the expected type.');
    default:
      return err;
  }
}
