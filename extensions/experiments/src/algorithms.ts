import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type {
  IAlgorithmSpec,
  IParamSpec,
  ParamValue,
  TrainAlgorithm,
  TrainTask
} from './tokens';

/** Shared by every algorithm: how the data is split. */
const COMMON: IParamSpec[] = [
  {
    name: 'test_size',
    type: 'float',
    default: 0.2,
    min: 0,
    max: 1,
    exclusiveMin: true,
    exclusiveMax: true,
    description: 'Share of the rows held out for validation.'
  },
  {
    name: 'random_state',
    type: 'int',
    default: 42,
    min: 0,
    max: 4294967295,
    description: 'Seed of the split and the model, for repeatable runs.'
  }
];

/**
 * The algorithms and bounds the jobs route validates, used until (or unless)
 * `GET /api/v1/jobs/algorithms` answers, so the form checks the same ranges
 * the server will.
 */
export const BUILTIN_ALGORITHMS: IAlgorithmSpec[] = [
  {
    id: 'xgboost',
    label: 'XGBoost',
    tasks: ['classification', 'regression'],
    params: [
      {
        name: 'n_estimators',
        type: 'int',
        default: 100,
        min: 1,
        max: 5000,
        description: 'Boosting rounds.'
      },
      {
        name: 'max_depth',
        type: 'int',
        default: 6,
        min: 1,
        max: 20,
        description: 'Deepest tree.'
      },
      {
        name: 'learning_rate',
        type: 'float',
        default: 0.3,
        min: 0,
        max: 1,
        exclusiveMin: true,
        description: 'Shrinkage of each round.'
      },
      {
        name: 'subsample',
        type: 'float',
        default: 1,
        min: 0,
        max: 1,
        exclusiveMin: true,
        description: 'Share of rows per tree.'
      },
      {
        name: 'colsample_bytree',
        type: 'float',
        default: 1,
        min: 0,
        max: 1,
        exclusiveMin: true,
        description: 'Share of columns per tree.'
      },
      {
        name: 'min_child_weight',
        type: 'float',
        default: 1,
        min: 0,
        description: 'Least weight a leaf needs.'
      },
      {
        name: 'reg_lambda',
        type: 'float',
        default: 1,
        min: 0,
        description: 'L2 regularization.'
      },
      ...COMMON
    ]
  },
  {
    id: 'logistic_regression',
    label: 'Logistic regression',
    tasks: ['classification'],
    params: [
      {
        name: 'C',
        type: 'float',
        default: 1,
        min: 0,
        exclusiveMin: true,
        description: 'Inverse regularization strength.'
      },
      {
        name: 'max_iter',
        type: 'int',
        default: 1000,
        min: 1,
        max: 100000,
        description: 'Most solver iterations.'
      },
      ...COMMON
    ]
  },
  {
    id: 'random_forest',
    label: 'Random forest',
    tasks: ['classification', 'regression'],
    params: [
      {
        name: 'n_estimators',
        type: 'int',
        default: 100,
        min: 1,
        max: 5000,
        description: 'Trees.'
      },
      {
        name: 'max_depth',
        type: 'int',
        default: null,
        min: 1,
        max: 100,
        nullable: true,
        description: 'Deepest tree; empty for no limit.'
      },
      {
        name: 'min_samples_leaf',
        type: 'int',
        default: 1,
        min: 1,
        description: 'Least rows in a leaf.'
      },
      ...COMMON
    ]
  }
];

const LABELS: Record<string, string> = Object.fromEntries(
  BUILTIN_ALGORITHMS.map(a => [a.id, a.label])
);

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value)
    ? value
    : undefined;
}

/** One parameter from the server's description, whatever its exact spelling. */
function paramFrom(name: string, raw: Record<string, unknown>): IParamSpec {
  const builtin = BUILTIN_ALGORITHMS.flatMap(a => a.params).find(
    p => p.name === name
  );
  const def = raw.default === null ? null : asNumber(raw.default);
  const type =
    raw.type === 'int' || raw.type === 'integer'
      ? 'int'
      : raw.type === 'float' || raw.type === 'number'
        ? 'float'
        : (builtin?.type ??
          (def !== undefined && def !== null && !Number.isInteger(def)
            ? 'float'
            : 'int'));
  const exclusiveMinimum = asNumber(raw.exclusiveMinimum ?? raw.exclusive_min);
  const exclusiveMaximum = asNumber(raw.exclusiveMaximum ?? raw.exclusive_max);
  const min = asNumber(raw.min ?? raw.minimum) ?? exclusiveMinimum;
  const max = asNumber(raw.max ?? raw.maximum) ?? exclusiveMaximum;
  return {
    name,
    type,
    default: def === undefined ? (builtin?.default ?? null) : def,
    min,
    max,
    exclusiveMin:
      exclusiveMinimum !== undefined ||
      raw.exclusiveMin === true ||
      raw.exclusive_min === true,
    exclusiveMax:
      exclusiveMaximum !== undefined ||
      raw.exclusiveMax === true ||
      raw.exclusive_max === true,
    nullable: raw.nullable === true || raw.default === null,
    description:
      typeof raw.description === 'string'
        ? raw.description
        : builtin?.description
  };
}

function paramsFrom(raw: unknown): IParamSpec[] {
  if (Array.isArray(raw)) {
    return raw
      .filter(p => p && typeof p === 'object' && typeof p.name === 'string')
      .map(p => paramFrom(p.name, p));
  }
  if (raw && typeof raw === 'object') {
    return Object.entries(raw as Record<string, unknown>)
      .filter(([, p]) => p && typeof p === 'object')
      .map(([name, p]) => paramFrom(name, p as Record<string, unknown>));
  }
  return [];
}

/**
 * The algorithms from `GET /api/v1/jobs/algorithms`, which may list them as
 * `{algorithms: [{id, params: [...]}]}` or key them by id, and its parameters
 * as a list or keyed by name. Common parameters listed once (`common`) are
 * added to every algorithm.
 */
export function normalizeAlgorithms(answer: unknown): IAlgorithmSpec[] {
  const body = (answer ?? {}) as Record<string, unknown>;
  const common = paramsFrom(body.common ?? body.common_params);
  const listed = body.algorithms ?? body;
  const entries: [string, Record<string, unknown>][] = Array.isArray(listed)
    ? listed
        .filter(a => a && typeof a === 'object')
        .map(a => [String(a.id ?? a.name ?? a.algorithm), a])
    : Object.entries(listed as Record<string, unknown>)
        .filter(
          ([key, a]) =>
            key !== 'common' &&
            key !== 'common_params' &&
            a &&
            typeof a === 'object'
        )
        .map(([id, a]) => [id, a as Record<string, unknown>]);
  const algorithms: IAlgorithmSpec[] = [];
  for (const [id, raw] of entries) {
    const builtin = BUILTIN_ALGORITHMS.find(a => a.id === id);
    const params = paramsFrom(raw.params ?? raw.hyperparameters);
    for (const param of common) {
      if (!params.some(p => p.name === param.name)) {
        params.push(param);
      }
    }
    const tasks = Array.isArray(raw.tasks)
      ? (raw.tasks.filter(
          t => t === 'classification' || t === 'regression'
        ) as TrainTask[])
      : (builtin?.tasks ?? ['classification', 'regression']);
    algorithms.push({
      id: id as TrainAlgorithm,
      label: typeof raw.label === 'string' ? raw.label : (LABELS[id] ?? id),
      tasks,
      params: params.length ? params : (builtin?.params ?? [])
    });
  }
  return algorithms;
}

/** The form's text for a value: empty for "none". */
export function paramText(value: ParamValue): string {
  return value === null ? '' : String(value);
}

/** The default text of every parameter of an algorithm. */
export function defaultParamTexts(
  spec: IAlgorithmSpec
): Record<string, string> {
  return Object.fromEntries(
    spec.params.map(p => [p.name, paramText(p.default)])
  );
}

export type ParamCheck =
  { ok: true; value: ParamValue } | { ok: false; error: string };

/**
 * Reads one parameter as typed, checked against the bounds the server
 * enforces, with the reason in words when it does not fit.
 */
export function checkParam(
  spec: IParamSpec,
  text: string,
  trans: TranslationBundle = nullTranslator.load('insighter')
): ParamCheck {
  const trimmed = text.trim();
  if (trimmed === '') {
    return spec.nullable
      ? { ok: true, value: null }
      : { ok: false, error: trans.__('%1 is required.', spec.name) };
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value)) {
    return { ok: false, error: trans.__('%1 must be a number.', spec.name) };
  }
  if (spec.type === 'int' && !Number.isInteger(value)) {
    return {
      ok: false,
      error: trans.__('%1 must be a whole number.', spec.name)
    };
  }
  const { min, max } = spec;
  const belowMin =
    min !== undefined && (spec.exclusiveMin ? value <= min : value < min);
  const aboveMax =
    max !== undefined && (spec.exclusiveMax ? value >= max : value > max);
  if (belowMin || aboveMax) {
    return { ok: false, error: rangeMessage(spec, trans) };
  }
  return { ok: true, value };
}

/** "n_estimators must be between 1 and 5000.", "C must be greater than 0.", … */
export function rangeMessage(
  spec: IParamSpec,
  trans: TranslationBundle
): string {
  const { min, max, name } = spec;
  if (min !== undefined && max !== undefined) {
    if (spec.exclusiveMin && spec.exclusiveMax) {
      return trans.__(
        '%1 must be greater than %2 and less than %3.',
        name,
        min,
        max
      );
    }
    if (spec.exclusiveMin) {
      return trans.__(
        '%1 must be greater than %2 and at most %3.',
        name,
        min,
        max
      );
    }
    if (spec.exclusiveMax) {
      return trans.__(
        '%1 must be at least %2 and less than %3.',
        name,
        min,
        max
      );
    }
    return trans.__('%1 must be between %2 and %3.', name, min, max);
  }
  if (min !== undefined) {
    return spec.exclusiveMin
      ? trans.__('%1 must be greater than %2.', name, min)
      : trans.__('%1 must be at least %2.', name, min);
  }
  if (max !== undefined) {
    return spec.exclusiveMax
      ? trans.__('%1 must be less than %2.', name, max)
      : trans.__('%1 must be at most %2.', name, max);
  }
  return trans.__('%1 is out of range.', name);
}
