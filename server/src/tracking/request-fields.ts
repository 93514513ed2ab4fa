import { invalidParameter } from './errors';
import type {
  MlflowDatasetInput,
  MlflowMetric,
  MlflowTag
} from './tracking-store';
import { wireNumber } from './wire';

/**
 * Reading a request's fields the way MLflow's server does (protobuf's JSON
 * mapping): numbers may come as strings, repeated fields from a query string
 * may be one value or `key[]=…`, and a missing or mistyped field is answered
 * INVALID_PARAMETER_VALUE naming the field.
 */
export type RequestInput = Record<string, unknown>;

const API_DOCS = 'See the API docs for more information about request parameters.';

export function missing(field: string): Error {
  return invalidParameter(
    `Missing value for required parameter '${field}'. ${API_DOCS}`
  );
}

function mistyped(field: string, value: unknown): Error {
  const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return invalidParameter(
    `Invalid value ${shown} for parameter '${field}' supplied. Hint: Value was of type '${Array.isArray(value) ? 'list' : typeof value}'. ${API_DOCS}`
  );
}

/** A query string as MLflow reads it: `a[]=1` and `a[0]=1` are `a`, repeated keys a list. */
export function queryInput(query: Record<string, unknown>): RequestInput {
  const input: RequestInput = {};
  for (const [rawKey, value] of Object.entries(query)) {
    const key = rawKey.replace(/\[\d*\]$/, '');
    const previous = input[key];
    input[key] =
      previous === undefined
        ? value
        : ([] as unknown[]).concat(previous, value);
  }
  return input;
}

export function optionalString(
  input: RequestInput,
  field: string
): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw mistyped(field, value);
}

export function requiredString(input: RequestInput, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined || value === '') {
    throw missing(field);
  }
  return value;
}

/** The first of several names MLflow accepts for one field (e.g. run_id, run_uuid). */
export function requiredStringOf(
  input: RequestInput,
  fields: string[]
): string {
  for (const field of fields) {
    const value = optionalString(input, field);
    if (value) {
      return value;
    }
  }
  throw missing(fields[0]);
}

export function optionalInteger(
  input: RequestInput,
  field: string
): number | undefined {
  const value = input[field];
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  const number = wireNumber(value);
  if (number === undefined || !Number.isSafeInteger(number)) {
    throw mistyped(field, value);
  }
  return number;
}

export function requiredInteger(input: RequestInput, field: string): number {
  const value = optionalInteger(input, field);
  if (value === undefined) {
    throw missing(field);
  }
  return value;
}

export function optionalBoolean(
  input: RequestInput,
  field: string
): boolean | undefined {
  const value = input[field];
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  if (typeof value === 'boolean') {
    return value;
  }
  if (value === 'true' || value === 'false') {
    return value === 'true';
  }
  throw mistyped(field, value);
}

export function stringList(input: RequestInput, field: string): string[] {
  const value = input[field];
  if (value === undefined || value === null) {
    return [];
  }
  const list = Array.isArray(value) ? value : [value];
  return list.map(item => {
    if (typeof item === 'string') {
      return item;
    }
    if (typeof item === 'number') {
      return String(item);
    }
    throw mistyped(field, value);
  });
}

function objectList(input: RequestInput, field: string): RequestInput[] {
  const value = input[field];
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw mistyped(field, value);
  }
  return value.map(item => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw mistyped(field, item);
    }
    return item as RequestInput;
  });
}

/** `[{key, value}]` lists: tags and params. A missing value is the empty string. */
export function keyValues(input: RequestInput, field: string): MlflowTag[] {
  return objectList(input, field).map(item => ({
    key: requiredString(item, 'key'),
    value: optionalString(item, 'value') ?? ''
  }));
}

/** One metric: value as a number or "NaN"/"Infinity"; step 0 and now by default. */
export function metricOf(item: RequestInput): MlflowMetric {
  const key = requiredString(item, 'key');
  if (item.value === undefined || item.value === null || item.value === '') {
    throw missing('value');
  }
  const value = wireNumber(item.value);
  if (value === undefined) {
    throw invalidParameter(
      `Got invalid value ${JSON.stringify(item.value)} for metric '${key}'. Please specify value as a valid double (64-bit floating point)`
    );
  }
  return {
    key,
    value,
    timestamp: optionalInteger(item, 'timestamp') ?? Date.now(),
    step: optionalInteger(item, 'step') ?? 0
  };
}

export function metricList(input: RequestInput, field: string): MlflowMetric[] {
  return objectList(input, field).map(metricOf);
}

export function datasetInputs(
  input: RequestInput,
  field: string
): MlflowDatasetInput[] {
  return objectList(input, field).map(item => {
    const dataset = item.dataset;
    if (typeof dataset !== 'object' || dataset === null || Array.isArray(dataset)) {
      throw missing(`${field}.dataset`);
    }
    const d = dataset as RequestInput;
    const parsed: MlflowDatasetInput = {
      dataset: {
        name: optionalString(d, 'name') ?? '',
        digest: optionalString(d, 'digest') ?? '',
        source_type: optionalString(d, 'source_type') ?? '',
        source: optionalString(d, 'source') ?? ''
      }
    };
    const schema = optionalString(d, 'schema');
    const profile = optionalString(d, 'profile');
    if (schema) {
      parsed.dataset.schema = schema;
    }
    if (profile) {
      parsed.dataset.profile = profile;
    }
    const tags = keyValues(item, 'tags');
    if (tags.length) {
      parsed.tags = tags;
    }
    return parsed;
  });
}
