import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TRAINING_PYTHON_DIR } from './training-package';

/**
 * The algorithms a training job offers, their hyperparameters, defaults and
 * bounds — read from the training package's algorithms.json, the one table
 * the script checks too, so the two sides never disagree. Messages are worded
 * as the script words them (insighter_train/spec.py).
 *
 * Exported for the UI: `ALGORITHMS` (what `GET /api/v1/jobs/algorithms`
 * answers) and `trainJobBody` (the zod schema of `POST /api/v1/jobs`).
 */
export type TrainAlgorithm =
  'xgboost' | 'logistic_regression' | 'random_forest';
export type TrainTask = 'classification' | 'regression';
export type ParamValue = number | null;

export interface ParamSpec {
  name: string;
  type: 'int' | 'float';
  default: ParamValue;
  /** Inclusive unless `exclusiveMin` / `exclusiveMax`. */
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  /** `null` means "none" (e.g. a random forest's max_depth: no limit). */
  nullable?: boolean;
  description: string;
}

export interface AlgorithmSpec {
  id: TrainAlgorithm;
  label: string;
  tasks: TrainTask[];
  /** The algorithm's own, then the common ones (test_size, random_state). */
  params: ParamSpec[];
}

export const ALGORITHMS_FILE = path.join(
  TRAINING_PYTHON_DIR,
  'insighter_train',
  'algorithms.json'
);

function loadAlgorithms(): AlgorithmSpec[] {
  const file = JSON.parse(fs.readFileSync(ALGORITHMS_FILE, 'utf8')) as {
    common: ParamSpec[];
    algorithms: (Omit<AlgorithmSpec, 'params'> & { params: ParamSpec[] })[];
  };
  return file.algorithms.map(a => ({
    ...a,
    params: [...a.params, ...file.common]
  }));
}

export const ALGORITHMS: readonly AlgorithmSpec[] = loadAlgorithms();

export const ALGORITHM_IDS = ALGORITHMS.map(a => a.id) as [
  TrainAlgorithm,
  ...TrainAlgorithm[]
];

export function algorithmSpec(id: TrainAlgorithm): AlgorithmSpec {
  const spec = ALGORITHMS.find(a => a.id === id);
  if (!spec) {
    throw new Error(`Unknown algorithm ${id}`);
  }
  return spec;
}

/** e.g. "a whole number from 1 to 5000", "a number greater than 0 and at most 1". */
export function describeBounds(param: ParamSpec): string {
  const kind = param.type === 'int' ? 'a whole number' : 'a number';
  const { min, max, exclusiveMin, exclusiveMax } = param;
  if (
    min !== undefined &&
    max !== undefined &&
    !exclusiveMin &&
    !exclusiveMax
  ) {
    return `${kind} from ${min} to ${max}`;
  }
  const parts: string[] = [];
  if (min !== undefined) {
    parts.push(exclusiveMin ? `greater than ${min}` : `at least ${min}`);
  }
  if (max !== undefined) {
    parts.push(exclusiveMax ? `less than ${max}` : `at most ${max}`);
  }
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

/** Why `value` does not fit `param`, or undefined; the script's words. */
export function paramProblem(
  param: ParamSpec,
  value: unknown
): string | undefined {
  const must = `${param.name} must be ${describeBounds(param)}${param.nullable ? ', or empty for none' : ''}`;
  if (value === null) {
    return param.nullable ? undefined : `${must}.`;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return `${must}.`;
  }
  if (param.type === 'int' && !Number.isInteger(value)) {
    return `${must}.`;
  }
  const { min, max } = param;
  if (min !== undefined && (param.exclusiveMin ? value <= min : value < min)) {
    return `${must}.`;
  }
  if (max !== undefined && (param.exclusiveMax ? value >= max : value > max)) {
    return `${must}.`;
  }
  return undefined;
}

/** Every hyperparameter with its default filled in, or the problems in the script's words. */
export function resolveParams(
  algorithm: TrainAlgorithm,
  given: Record<string, unknown>
):
  | { params: Record<string, ParamValue> }
  | { problems: { field: string; message: string }[] } {
  const spec = algorithmSpec(algorithm);
  const known = new Set(spec.params.map(p => p.name));
  const problems: { field: string; message: string }[] = [];
  const unknown = Object.keys(given).filter(name => !known.has(name));
  if (unknown.length) {
    problems.push({
      field: 'params',
      message: `${spec.label} has no hyperparameter ${unknown.map(n => `'${n}'`).join(', ')}: it takes ${[...known].join(', ')}.`
    });
  }
  const params: Record<string, ParamValue> = {};
  for (const param of spec.params) {
    const value = Object.hasOwn(given, param.name)
      ? given[param.name]
      : param.default;
    const problem = paramProblem(param, value);
    if (problem) {
      problems.push({ field: `params.${param.name}`, message: problem });
    } else {
      params[param.name] = value as ParamValue;
    }
  }
  return problems.length ? { problems } : { params };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const FIELDS =
  'kind, project_id, dataset_id, dataset_version, target, algorithm, task, params, runner and limits';

/** `POST /api/v1/jobs`; params are checked against the chosen algorithm after this. */
export const trainJobBody = z.strictObject(
  {
    kind: z
      .literal('train', {
        error: 'kind must be "train" (the only kind of job so far).'
      })
      .default('train'),
    project_id: z
      .string({
        error: 'project_id is required: the id of the project to train in.'
      })
      .regex(UUID, 'project_id must be the id of a project.'),
    dataset_id: z
      .string({
        error: 'dataset_id is required: the id of the dataset to train on.'
      })
      .regex(UUID, 'dataset_id must be the id of a dataset.'),
    dataset_version: z
      .number({ error: 'dataset_version must be a version number (1, 2, …).' })
      .int('dataset_version must be a version number (1, 2, …).')
      .min(1, 'dataset_version must be a version number (1, 2, …).')
      .optional(),
    target: z
      .string({ error: 'target is required: the column to predict.' })
      .min(1, 'target is required: the column to predict.')
      .max(1000, 'target must be at most 1000 characters.'),
    algorithm: z.enum(ALGORITHM_IDS, {
      error: `algorithm must be one of ${ALGORITHM_IDS.map(id => `"${id}"`).join(', ')}.`
    }),
    task: z
      .enum(['classification', 'regression'], {
        error:
          'task must be "classification" or "regression" (or left out to infer it from the target).'
      })
      .optional(),
    params: z
      .record(z.string(), z.unknown(), {
        error:
          'params must be an object of hyperparameters, e.g. {"n_estimators": 200}.'
      })
      .default({}),
    runner: z
      .enum(['process', 'docker'], {
        error:
          'runner must be "process" or "docker" (or left out for the default).'
      })
      .optional(),
    limits: z
      .strictObject(
        {
          memory_mb: z
            .number({
              error: 'limits.memory_mb must be a whole number of megabytes.'
            })
            .int('limits.memory_mb must be a whole number of megabytes.')
            .min(16, 'limits.memory_mb must be at least 16.')
            .optional(),
          cpus: z
            .number({
              error: 'limits.cpus must be a number of cores, e.g. 1 or 0.5.'
            })
            .positive('limits.cpus must be more than 0.')
            .optional()
        },
        { error: 'limits takes memory_mb and cpus.' }
      )
      .optional()
  },
  {
    error: issue =>
      issue.code === 'unrecognized_keys'
        ? `Unknown field ${issue.keys.map(k => `"${k}"`).join(', ')}: a training job has ${FIELDS}.`
        : undefined
  }
);

export type TrainJobBody = z.infer<typeof trainJobBody>;
