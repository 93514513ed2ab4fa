import { HttpError } from '../http/errors';

/**
 * A prediction request's body → rows in the model signature's column order,
 * with the rules of MLflow's scoring protocol (`/invocations`):
 *
 * - JSON with exactly one of `dataframe_split` (`{columns, data}`),
 *   `dataframe_records` (a list of row objects), `instances` (a list of row
 *   objects) or `inputs` (a list of row objects, or `{column: [values]}`);
 *   an optional `params` object is accepted and not used;
 * - `text/csv` with a header row.
 *
 * Columns must be the signature's: a missing required column or an unknown
 * one is refused by name, and so is a value of the wrong type. `null` (an
 * empty CSV field) is a missing value, which the model's imputers fill.
 * The scoring worker checks the same rules (insighter_serve/inputs.py); here
 * they run first, so a bad request never reaches — or fails — a batch.
 */
export interface ColumnSpec {
  name: string;
  /** MLflow's column types: double, float, long, integer, boolean, string, datetime, binary. */
  type: string;
  required: boolean;
}

export type Row = unknown[];

const JSON_FORMATS = [
  'dataframe_split',
  'dataframe_records',
  'instances',
  'inputs'
] as const;

const EXAMPLE =
  '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}';

const INT32 = 2 ** 31;

type Check = (value: unknown) => boolean;

/** Whether a JSON value fits a column type; `null` always does (a missing value). */
function checkFor(type: string): Check {
  switch (type) {
    case 'double':
    case 'float':
      return v => v === null || typeof v === 'number';
    case 'long':
      return v => v === null || Number.isSafeInteger(v);
    case 'integer':
      return v =>
        v === null ||
        (Number.isInteger(v) && (v as number) >= -INT32 && (v as number) < INT32);
    case 'boolean':
      return v => v === null || typeof v === 'boolean';
    case 'string':
    case 'datetime':
    case 'binary':
      return v => v === null || typeof v === 'string';
    default:
      return () => true;
  }
}

const TYPE_WORDS: Record<string, string> = {
  double: 'numbers',
  float: 'numbers',
  long: 'whole numbers',
  integer: 'whole numbers (32-bit)',
  boolean: 'true or false',
  string: 'text',
  datetime: 'dates as text',
  binary: 'base64 text'
};

function describe(value: unknown): string {
  if (typeof value === 'string') {
    return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (text)`;
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `${value} (out of range)` : `${value} (a fraction)`;
  }
  if (typeof value === 'boolean') {
    return `${value} (true/false)`;
  }
  if (Array.isArray(value)) {
    return 'a list';
  }
  return typeof value === 'object' ? 'an object' : String(value);
}

function quoted(names: string[], limit = 5): string {
  const shown = names
    .slice(0, limit)
    .map(n => `"${n}"`)
    .join(', ');
  return names.length > limit ? `${shown} and ${names.length - limit} more` : shown;
}

function invalid(message: string): HttpError {
  return new HttpError(400, message, 'invalid_input');
}

/** Checks request bodies against one model signature; build once per model. */
export class SignatureChecker {
  readonly names: string[];
  private readonly checks: Check[];
  private readonly index: Map<string, number>;
  private readonly identity: number[];

  constructor(readonly signature: ColumnSpec[]) {
    this.names = signature.map(c => c.name);
    this.checks = signature.map(c => checkFor(c.type));
    this.index = new Map(this.names.map((name, i) => [name, i]));
    this.identity = this.names.map((_, i) => i);
  }

  /** The body of a JSON request as rows; 400 with a message naming the problem. */
  fromJson(text: string): Row[] {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (err) {
      throw new HttpError(
        400,
        `The request body is not valid JSON (${(err as Error).message}). Send e.g. ${EXAMPLE}.`,
        'invalid_json'
      );
    }
    return this.fromDocument(document);
  }

  fromDocument(document: unknown): Row[] {
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw invalid(oneOfMessage());
    }
    const keys = Object.keys(document).filter(k => k !== 'params');
    const formats = keys.filter(k => (JSON_FORMATS as readonly string[]).includes(k));
    const unknown = keys.filter(k => !(JSON_FORMATS as readonly string[]).includes(k));
    if (unknown.length > 0 || formats.length !== 1) {
      throw invalid(oneOfMessage(unknown, formats));
    }
    const params = (document as Record<string, unknown>).params;
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      throw invalid('"params" must be an object.');
    }
    const format = formats[0];
    const value = (document as Record<string, unknown>)[format];
    let rows: Row[];
    if (format === 'dataframe_split') {
      rows = this.fromSplit(value);
    } else if (format === 'inputs' && isPlainObject(value)) {
      rows = this.fromColumns(value);
    } else {
      rows = this.fromRecords(format, value);
    }
    if (rows.length === 0) {
      throw invalid(`"${format}" holds no rows: send at least one.`);
    }
    return rows;
  }

  /** A `text/csv` body (a header row, then one row per prediction). */
  fromCsv(text: string): Row[] {
    const records = parseCsv(text);
    if (records.length === 0 || (records.length === 1 && records[0].every(f => f === ''))) {
      throw invalid('The CSV body is empty: send a header row and one row per prediction.');
    }
    const [header, ...rest] = records;
    // Blank lines (e.g. a trailing one) are no rows.
    const data = rest.filter(record => !(record.length === 1 && record[0] === ''));
    const names = header.map(h => h.trim());
    const order = this.order(names, 'the CSV header');
    if (data.length === 0) {
      throw invalid('The CSV body has a header but no rows.');
    }
    const converters = this.signature.map(c => csvConverter(c));
    return data.map((record, r) => {
      if (record.length !== names.length) {
        throw invalid(
          `CSV row ${r + 1} has ${record.length} fields; the header names ${names.length}.`
        );
      }
      return order.map((source, j) => {
        const field = source < 0 ? '' : record[source];
        const value = converters[j](field);
        if (value === undefined) {
          throw invalid(
            `Column "${this.names[j]}" takes ${TYPE_WORDS[this.signature[j].type] ?? this.signature[j].type}, not ${JSON.stringify(field.slice(0, 40))} (CSV row ${r + 1}).`
          );
        }
        return value;
      });
    });
  }

  private fromSplit(value: unknown): Row[] {
    if (
      !isPlainObject(value) ||
      !Array.isArray(value.columns) ||
      !Array.isArray(value.data)
    ) {
      throw invalid('"dataframe_split" must be {"columns": [...], "data": [[...], ...]}.');
    }
    const extra = Object.keys(value).filter(k => !['columns', 'data', 'index'].includes(k));
    if (extra.length > 0) {
      throw invalid(
        `"dataframe_split" has an unknown field "${extra[0]}": it takes columns, data and index.`
      );
    }
    const columns = value.columns as unknown[];
    if (!columns.every(c => typeof c === 'string')) {
      throw invalid('"dataframe_split.columns" must be a list of column names.');
    }
    const names = columns as string[];
    const order = this.order(names, '"dataframe_split.columns"');
    const width = names.length;
    const identity = order === this.identity;
    return (value.data as unknown[]).map((row, r) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw invalid(
          `Row ${r + 1} of "dataframe_split.data" must be a list of ${width} values, one per column.`
        );
      }
      const out = identity ? row : order.map(source => (source < 0 ? null : row[source]));
      this.checkRow(out, r, 'dataframe_split');
      return out;
    });
  }

  private fromRecords(format: string, value: unknown): Row[] {
    if (!Array.isArray(value)) {
      throw invalid(`"${format}" must be a list of rows, each an object of column → value.`);
    }
    const names = this.names;
    return value.map((record, r) => {
      if (!isPlainObject(record)) {
        throw invalid(
          `Row ${r + 1} of "${format}" must be an object of column → value` +
            (Array.isArray(record) ? ' (for lists of values use "dataframe_split" with its columns).' : '.')
        );
      }
      const row = new Array(names.length);
      let matched = 0;
      for (let j = 0; j < names.length; j++) {
        const v = record[names[j]];
        if (v === undefined) {
          if (this.signature[j].required) {
            throw invalid(`Row ${r + 1} of "${format}": missing column "${names[j]}".`);
          }
          row[j] = null;
        } else {
          row[j] = v;
          matched++;
        }
      }
      if (matched !== Object.keys(record).length) {
        const extra = Object.keys(record).filter(k => !this.index.has(k));
        throw invalid(
          `Row ${r + 1} of "${format}": unknown column ${quoted(extra)}; the model takes ${quoted(this.names, 8)}.`
        );
      }
      this.checkRow(row, r, format);
      return row;
    });
  }

  private fromColumns(value: Record<string, unknown>): Row[] {
    const names = Object.keys(value);
    const order = this.order(names, '"inputs"');
    let length: number | undefined;
    for (const name of names) {
      const column = value[name];
      if (!Array.isArray(column)) {
        throw invalid(`"inputs.${name}" must be a list of values, one per row.`);
      }
      if (length !== undefined && column.length !== length) {
        throw invalid('Every column of "inputs" must have the same number of values.');
      }
      length = column.length;
    }
    const columns = names.map(n => value[n] as unknown[]);
    const rows: Row[] = [];
    for (let r = 0; r < (length ?? 0); r++) {
      const row = order.map(source => (source < 0 ? null : columns[source][r]));
      this.checkRow(row, r, 'inputs');
      rows.push(row);
    }
    return rows;
  }

  /** For each signature column, where it is among `names` (-1: an optional one left out). */
  private order(names: string[], where: string): number[] {
    // Most clients send the signature's own columns in its order.
    if (names.length === this.names.length && names.every((name, i) => name === this.names[i])) {
      return this.identity;
    }
    const position = new Map<string, number>();
    const duplicates: string[] = [];
    names.forEach((name, i) => {
      if (position.has(name)) {
        duplicates.push(name);
      }
      position.set(name, i);
    });
    if (duplicates.length > 0) {
      throw invalid(`Column "${duplicates[0]}" appears twice in ${where}.`);
    }
    const extra = names.filter(n => !this.index.has(n));
    if (extra.length > 0) {
      throw invalid(
        `Unknown column${extra.length > 1 ? 's' : ''} ${quoted(extra)}: the model takes ${quoted(this.names, 8)}.`
      );
    }
    const missing = this.signature.filter(c => c.required && !position.has(c.name)).map(c => c.name);
    if (missing.length > 0) {
      throw invalid(`Missing column${missing.length > 1 ? 's' : ''} ${quoted(missing)}.`);
    }
    return this.names.map(name => position.get(name) ?? -1);
  }

  private checkRow(row: Row, r: number, format: string): void {
    const checks = this.checks;
    for (let j = 0; j < checks.length; j++) {
      if (!checks[j](row[j])) {
        const spec = this.signature[j];
        throw invalid(
          `Column "${spec.name}" takes ${TYPE_WORDS[spec.type] ?? spec.type}, not ${describe(row[j])} (row ${r + 1} of "${format}").`
        );
      }
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function oneOfMessage(unknown: string[] = [], formats: string[] = []): string {
  let found = '';
  if (unknown.length > 0) {
    found = ` Unknown field ${quoted(unknown)}.`;
  } else if (formats.length > 1) {
    found = ` Found ${quoted(formats)}.`;
  }
  return `Send a JSON object with exactly one of "dataframe_split", "dataframe_records", "instances" or "inputs", e.g. ${EXAMPLE}.${found}`;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A CSV field as its column's JSON value; undefined when it does not fit. */
function csvConverter(spec: ColumnSpec): (field: string) => unknown {
  const check = checkFor(spec.type);
  switch (spec.type) {
    case 'double':
    case 'float':
    case 'long':
    case 'integer':
      return field => {
        const text = field.trim();
        if (text === '' || /^(nan|NaN|NA|null)$/.test(text)) {
          return null;
        }
        if (!NUMBER.test(text)) {
          return undefined;
        }
        const value = Number(text);
        return check(value) ? value : undefined;
      };
    case 'boolean':
      return field => {
        const text = field.trim().toLowerCase();
        if (text === '') {
          return null;
        }
        return text === 'true' ? true : text === 'false' ? false : undefined;
      };
    default:
      return field => (field === '' ? null : field);
  }
}

/**
 * RFC 4180 records: quoted fields (with `""` for a quote, commas and line
 * breaks inside), CRLF or LF line ends, a leading BOM ignored, a final line
 * break optional.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  let fieldStarted = false;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
      i++;
    } else if (ch === ',') {
      record.push(field);
      field = '';
      fieldStarted = false;
      i++;
    } else if (ch === '\n' || ch === '\r') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      fieldStarted = false;
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      fieldStarted = true;
      i++;
    }
  }
  if (quoted) {
    throw invalid('The CSV body ends inside a quoted field: a closing quote is missing.');
  }
  if (fieldStarted || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}
