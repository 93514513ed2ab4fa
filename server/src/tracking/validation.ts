import { invalidParameter } from './errors';
import type {
  MlflowDatasetInput,
  MlflowMetric,
  MlflowParam,
  MlflowTag
} from './tracking-store';

/**
 * MLflow's limits and naming rules (mlflow/utils/validation.py), so a request
 * MLflow refuses is refused here with the same code and a message as clear.
 */
export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  /** Bytes of a log-batch request body. */
  batchRequestBytes: 1_000_000,
  datasetsPerRequest: 1000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 5000,
  experimentNameLength: 500,
  experimentTagValueLength: 5000,
  registryTagValueLength: 5000,
  runNameLength: 250,
  modelNameLength: 256,
  descriptionLength: 5000,
  aliasLength: 255,
  datasetNameLength: 500,
  datasetDigestLength: 36,
  datasetSourceTypeLength: 36,
  datasetSourceLength: 65535,
  datasetSchemaLength: 1048575,
  datasetProfileLength: 16777215,
  inputTagKeyLength: 255,
  inputTagValueLength: 500
} as const;

/** Slashes, letters, digits, underscores, periods, dashes and spaces. */
const KEY_CHARACTERS = /^[/\w.\- ]*$/;
const ALIAS_CHARACTERS = /^[\w-]*$/;
const RUN_ID = /^[0-9a-f]{32}$/;
const EXPERIMENT_ID = /^[0-9]{1,18}$/;

const BAD_CHARACTERS =
  'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).';

/** A key that names a file would resolve to another name ("a/../b", "./a", "/a"). */
function resolvesElsewhere(name: string): boolean {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..') {
      if (parts.length === 0 || parts[parts.length - 1] === '..') {
        parts.push('..');
      } else {
        parts.pop();
      }
      continue;
    }
    parts.push(part);
  }
  const normalized = (name.startsWith('/') ? '/' : '') + parts.join('/');
  return (
    normalized !== name ||
    normalized === '' ||
    normalized.startsWith('..') ||
    normalized.startsWith('/')
  );
}

/** A metric, param or tag key: MLflow's characters, no path tricks, ≤ 250. */
export function checkKey(kind: 'Metric' | 'Param' | 'Tag', key: unknown): string {
  const what = kind === 'Param' ? 'parameter' : kind.toLowerCase();
  if (typeof key !== 'string' || key === '') {
    throw invalidParameter(
      `${kind} name cannot be empty. A key name must be provided.`
    );
  }
  if (!KEY_CHARACTERS.test(key)) {
    throw invalidParameter(`Invalid ${what} name: '${key}'. ${BAD_CHARACTERS}`);
  }
  if (resolvesElsewhere(key)) {
    throw invalidParameter(
      `Invalid ${what} name: '${key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such.`
    );
  }
  checkLength(`${kind} key`, key, LIMITS.keyLength);
  return key;
}

export function checkLength(what: string, value: string, limit: number): void {
  if (value.length > limit) {
    throw invalidParameter(
      `${what} '${value.slice(0, 250)}' had length ${value.length}, which exceeded length limit of ${limit}`
    );
  }
}

export function checkTag(tag: MlflowTag): MlflowTag {
  checkKey('Tag', tag.key);
  checkLength('Tag value', tag.value, LIMITS.tagValueLength);
  return tag;
}

export function checkExperimentTag(tag: MlflowTag): MlflowTag {
  checkKey('Tag', tag.key);
  checkLength('Tag value', tag.value, LIMITS.experimentTagValueLength);
  return tag;
}

export function checkRegistryTag(tag: MlflowTag): MlflowTag {
  checkKey('Tag', tag.key);
  checkLength('Tag value', tag.value, LIMITS.registryTagValueLength);
  return tag;
}

export function checkParam(param: MlflowParam): MlflowParam {
  checkKey('Param', param.key);
  checkLength('Param value', param.value, LIMITS.paramValueLength);
  return param;
}

export function checkMetric(metric: MlflowMetric): MlflowMetric {
  checkKey('Metric', metric.key);
  if (typeof metric.value !== 'number') {
    throw invalidParameter(
      `Got invalid value ${String(metric.value)} for metric '${metric.key}' (timestamp=${metric.timestamp}). Please specify value as a valid double (64-bit floating point)`
    );
  }
  if (!Number.isSafeInteger(metric.timestamp) || metric.timestamp < 0) {
    throw invalidParameter(
      `Got invalid timestamp ${metric.timestamp} for metric '${metric.key}' (value=${metric.value}). Timestamp must be a nonnegative long (64-bit integer) `
    );
  }
  if (!Number.isSafeInteger(metric.step)) {
    throw invalidParameter(
      `Got invalid step ${metric.step} for metric '${metric.key}' (value=${metric.value}). Step must be a valid long (64-bit integer).`
    );
  }
  return metric;
}

/** MLflow's log-batch limits, checked before any value is looked at. */
export function checkBatchLimits(
  metrics: number,
  params: number,
  tags: number
): void {
  const over = (what: string, limit: number, got: number) => {
    if (got > limit) {
      throw invalidParameter(
        `A batch logging request can contain at most ${limit} ${what}. Got ${got} ${what}. Please split up ${what} across multiple requests and try again.`
      );
    }
  };
  over('metrics', LIMITS.metricsPerBatch, metrics);
  over('params', LIMITS.paramsPerBatch, params);
  over('tags', LIMITS.tagsPerBatch, tags);
  over(
    'metrics, params, and tags',
    LIMITS.entitiesPerBatch,
    metrics + params + tags
  );
}

/** Params of one batch: a key twice with two values is a mistake; twice the same is one. */
export function uniqueParams(params: MlflowParam[]): MlflowParam[] {
  const byKey = new Map<string, string>();
  const duplicates = new Set<string>();
  for (const { key, value } of params) {
    const seen = byKey.get(key);
    if (seen !== undefined && seen !== value) {
      duplicates.add(key);
    }
    byKey.set(key, value);
  }
  if (duplicates.size > 0) {
    throw invalidParameter(
      `Duplicate parameter keys have been submitted: [${[...duplicates].map(k => `'${k}'`).join(', ')}]. Please ensure the request contains only one param value per param key.`
    );
  }
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** Tags of one batch: the last value of a key wins, as if they were set one by one. */
export function lastTagPerKey(tags: MlflowTag[]): MlflowTag[] {
  const byKey = new Map<string, string>();
  for (const { key, value } of tags) {
    byKey.delete(key);
    byKey.set(key, value);
  }
  return [...byKey].map(([key, value]) => ({ key, value }));
}

export function checkExperimentName(name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw invalidParameter(
      `Invalid experiment name: '${name ?? ''}'. An experiment needs a name.`
    );
  }
  if (name.length > LIMITS.experimentNameLength) {
    throw invalidParameter(
      `Experiment name exceeds the maximum length of ${LIMITS.experimentNameLength} characters`
    );
  }
  return name;
}

export function checkModelName(name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw invalidParameter('Registered model name cannot be empty.');
  }
  if (name.length > LIMITS.modelNameLength) {
    throw invalidParameter(
      `Registered model name exceeds the maximum length of ${LIMITS.modelNameLength} characters`
    );
  }
  return name;
}

export function checkRunName(name: string): string {
  checkLength('Run name', name, LIMITS.runNameLength);
  return name;
}

export function checkDescription(description: string): string {
  checkLength('Description', description, LIMITS.descriptionLength);
  return description;
}

export function checkAlias(alias: unknown): string {
  if (typeof alias !== 'string' || alias === '') {
    throw invalidParameter('Registered model alias name cannot be empty.');
  }
  if (!ALIAS_CHARACTERS.test(alias)) {
    throw invalidParameter(
      `Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`
    );
  }
  checkLength('Registered model alias name', alias, LIMITS.aliasLength);
  if (alias.toLowerCase() === 'latest') {
    throw invalidParameter(
      "'latest' alias name (case insensitive) is reserved."
    );
  }
  if (/^[vV]\d+$/.test(alias)) {
    throw invalidParameter(`Version alias name '${alias}' is reserved.`);
  }
  return alias;
}

/** A run id as the built-in store makes them; anything else names no run. */
export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

export function isExperimentId(id: string): boolean {
  return EXPERIMENT_ID.test(id);
}

/** A model version number: a positive integer, given as a string or a number. */
export function checkVersion(version: unknown): number {
  const text = String(version ?? '');
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1) {
    throw invalidParameter(
      `Model version must be an integer, got '${text}'`
    );
  }
  return Number(text);
}

export function checkDatasetInputs(
  inputs: MlflowDatasetInput[]
): MlflowDatasetInput[] {
  if (inputs.length > LIMITS.datasetsPerRequest) {
    throw invalidParameter(
      `A log-inputs request can contain at most ${LIMITS.datasetsPerRequest} datasets. Got ${inputs.length} datasets.`
    );
  }
  for (const { dataset, tags } of inputs) {
    const required = (field: keyof typeof dataset) => {
      const value = dataset[field];
      if (typeof value !== 'string' || value === '') {
        throw invalidParameter(
          `Missing value for required parameter 'datasets.dataset.${field}'. A dataset needs a name, digest, source_type and source.`
        );
      }
      return value;
    };
    checkLength('Dataset name', required('name'), LIMITS.datasetNameLength);
    checkLength('Dataset digest', required('digest'), LIMITS.datasetDigestLength);
    checkLength(
      'Dataset source type',
      required('source_type'),
      LIMITS.datasetSourceTypeLength
    );
    checkLength('Dataset source', required('source'), LIMITS.datasetSourceLength);
    if (dataset.schema) {
      checkLength('Dataset schema', dataset.schema, LIMITS.datasetSchemaLength);
    }
    if (dataset.profile) {
      checkLength('Dataset profile', dataset.profile, LIMITS.datasetProfileLength);
    }
    for (const tag of tags ?? []) {
      if (!tag.key) {
        throw invalidParameter('Input tag key cannot be empty.');
      }
      checkLength('Input tag key', tag.key, LIMITS.inputTagKeyLength);
      checkLength('Input tag value', tag.value, LIMITS.inputTagValueLength);
    }
  }
  return inputs;
}
