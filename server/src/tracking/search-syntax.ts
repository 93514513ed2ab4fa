import { invalidParameter } from './errors';

/**
 * MLflow's search syntax, the subset its clients and UI send: filters are
 * comparisons joined by AND (`metrics.rmse < 0.5 and params.depth = '3' and
 * tags."mlflow.user" LIKE 'a%' and attributes.status = 'FINISHED'`), order_by
 * clauses are `<identifier> [ASC|DESC]`. Keys may be bare (dots allowed),
 * `backticked` or "double-quoted"; strings are 'single' or "double" quoted.
 * Each search then says which identifiers and comparators it accepts.
 */
export type EntityType = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';

export interface Comparison {
  type: EntityType;
  key: string;
  /** Upper-case: =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL. */
  comparator: string;
  /** A number, a string, a list (IN) or null (IS [NOT] NULL). */
  value: number | string | string[] | null;
}

export interface OrderClause {
  type: EntityType;
  key: string;
  ascending: boolean;
}

const ENTITY: Record<string, EntityType> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset'
};

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/;

/**
 * How much a search may ask for. Each comparison and order_by clause is one
 * more subquery or join for the database to plan and run; unbounded, one
 * request of 2,001 comparisons froze the sidecar and then ended it. A person
 * or MLflow's UI writes a handful; scripts that build filters stay far below.
 */
export const SEARCH_BOUNDS = {
  filterCharacters: 20_000,
  comparisons: 100,
  orderByClauses: 10
} as const;

class Cursor {
  pos = 0;
  constructor(
    readonly text: string,
    private readonly what: string
  ) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) {
      this.pos++;
    }
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  /** Consumes a case-insensitive keyword followed by a non-word character. */
  keyword(word: string): boolean {
    this.skipSpace();
    const slice = this.text.slice(this.pos, this.pos + word.length);
    const after = this.text[this.pos + word.length];
    if (
      slice.toUpperCase() === word &&
      (after === undefined || !/[\w.]/.test(after))
    ) {
      this.pos += word.length;
      return true;
    }
    return false;
  }

  fail(problem: string): never {
    throw invalidParameter(
      `Invalid ${this.what} '${this.text}': ${problem} (at character ${this.pos + 1}).`
    );
  }

  quoted(): string | undefined {
    this.skipSpace();
    const quote = this.text[this.pos];
    if (quote !== "'" && quote !== '"' && quote !== '`') {
      return undefined;
    }
    let value = '';
    let i = this.pos + 1;
    for (;;) {
      if (i >= this.text.length) {
        this.fail(`a ${quote} quote is not closed`);
      }
      const ch = this.text[i];
      if (ch === quote) {
        // A doubled quote stands for the quote itself, as in SQL.
        if (this.text[i + 1] === quote) {
          value += quote;
          i += 2;
          continue;
        }
        break;
      }
      if (ch === '\\' && i + 1 < this.text.length) {
        value += this.text[i + 1];
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    this.pos = i + 1;
    return value;
  }

  identifier(): { type: EntityType; key: string } {
    this.skipSpace();
    const bareQuoted = this.quoted();
    if (bareQuoted !== undefined) {
      return { type: 'attribute', key: bareQuoted };
    }
    const word = /^[A-Za-z_][\w]*/.exec(this.text.slice(this.pos));
    if (!word) {
      this.fail(
        'expected an identifier such as metrics.<key>, params.<key>, tags.<key> or attributes.<name>'
      );
    }
    this.pos += word[0].length;
    if (this.text[this.pos] !== '.') {
      return { type: 'attribute', key: word[0] };
    }
    const type = ENTITY[word[0].toLowerCase()];
    if (!type) {
      this.fail(
        `"${word[0]}" is not metrics, params, tags, attributes or datasets`
      );
    }
    this.pos++;
    const quotedKey = this.quoted();
    if (quotedKey !== undefined) {
      return { type, key: quotedKey };
    }
    const key = /^[^\s=!<>(),'"`]+/.exec(this.text.slice(this.pos));
    if (!key) {
      this.fail(`${word[0]}. needs a key`);
    }
    this.pos += key[0].length;
    return { type, key: key[0] };
  }
}

/** The comparisons of a filter string ('' means none). */
export function parseFilter(filter: string | undefined): Comparison[] {
  if (!filter || filter.trim() === '') {
    return [];
  }
  if (filter.length > SEARCH_BOUNDS.filterCharacters) {
    throw invalidParameter(
      `Invalid filter: it is ${filter.length} characters long, and a search filter may have at most ${SEARCH_BOUNDS.filterCharacters}. Search with fewer comparisons, or in several searches.`
    );
  }
  const c = new Cursor(filter, 'filter');
  const comparisons: Comparison[] = [];
  for (;;) {
    if (comparisons.length === SEARCH_BOUNDS.comparisons) {
      throw invalidParameter(
        `Invalid filter: it has more than ${SEARCH_BOUNDS.comparisons} comparisons joined by AND, the most a search takes. Search with fewer, or in several searches.`
      );
    }
    const { type, key } = c.identifier();
    const comparator = readComparator(c);
    comparisons.push({ type, key, comparator, value: readValue(c, comparator) });
    if (c.atEnd()) {
      return comparisons;
    }
    if (c.keyword('OR')) {
      c.fail('OR is not supported, only AND');
    }
    if (!c.keyword('AND')) {
      c.fail('expected AND between comparisons');
    }
  }
}

function readComparator(c: Cursor): string {
  c.skipSpace();
  const symbol = /^(!=|<>|<=|>=|=|<|>)/.exec(c.text.slice(c.pos));
  if (symbol) {
    c.pos += symbol[0].length;
    return symbol[0] === '<>' ? '!=' : symbol[0];
  }
  for (const word of ['LIKE', 'ILIKE', 'IN']) {
    if (c.keyword(word)) {
      return word;
    }
  }
  if (c.keyword('NOT')) {
    if (c.keyword('IN')) {
      return 'NOT IN';
    }
    if (c.keyword('LIKE')) {
      return 'NOT LIKE';
    }
    if (c.keyword('ILIKE')) {
      return 'NOT ILIKE';
    }
    c.fail('expected IN, LIKE or ILIKE after NOT');
  }
  if (c.keyword('IS')) {
    const not = c.keyword('NOT');
    if (!c.keyword('NULL')) {
      c.fail('expected NULL after IS');
    }
    return not ? 'IS NOT NULL' : 'IS NULL';
  }
  return c.fail(
    'expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL)'
  );
}

function readValue(c: Cursor, comparator: string): Comparison['value'] {
  if (comparator === 'IS NULL' || comparator === 'IS NOT NULL') {
    return null;
  }
  c.skipSpace();
  if (comparator === 'IN' || comparator === 'NOT IN') {
    if (c.text[c.pos] !== '(') {
      c.fail(`${comparator} needs a list in parentheses, e.g. ('a', 'b')`);
    }
    c.pos++;
    const values: string[] = [];
    for (;;) {
      const value = c.quoted();
      if (value === undefined) {
        c.fail(`${comparator} takes quoted strings`);
      }
      values.push(value);
      c.skipSpace();
      if (c.text[c.pos] === ',') {
        c.pos++;
        continue;
      }
      if (c.text[c.pos] === ')') {
        c.pos++;
        return values;
      }
      c.fail('expected "," or ")" in the list');
    }
  }
  const text = c.quoted();
  if (text !== undefined) {
    return text;
  }
  const number = NUMBER.exec(c.text.slice(c.pos));
  if (number) {
    c.pos += number[0].length;
    return Number(number[0]);
  }
  return c.fail('expected a quoted string or a number');
}

/** The order_by clauses of a search, refused past `SEARCH_BOUNDS.orderByClauses`. */
export function checkOrderByCount(clauses: string[] | undefined): string[] {
  const list = clauses ?? [];
  if (list.length > SEARCH_BOUNDS.orderByClauses) {
    throw invalidParameter(
      `Invalid order_by: ${list.length} clauses given, and a search takes at most ${SEARCH_BOUNDS.orderByClauses}.`
    );
  }
  return list;
}

/**
 * `exists (select 1 from <from> where <conditions>)`, kept a subplan run
 * per row. Postgres would turn each EXISTS of a filter into a semi-join and
 * then search their join orders: 40 comparisons took 0.7 s to plan, 100 took
 * 10 s and over 1 GB on PGlite. `offset 0` stops that pull-up; 100
 * comparisons then plan in ≈ 10 ms.
 */
export function existsRow(from: string, conditions: string[]): string {
  return `exists (select 1 from ${from} where ${conditions.join(' and ')} offset 0)`;
}

/** One order_by clause, e.g. `metrics.rmse DESC` or `name`. */
export function parseOrderBy(clause: string): OrderClause {
  const c = new Cursor(clause, 'order_by clause');
  const { type, key } = c.identifier();
  let ascending = true;
  if (c.keyword('DESC')) {
    ascending = false;
  } else {
    c.keyword('ASC');
  }
  if (!c.atEnd()) {
    c.fail('expected ASC or DESC at the end');
  }
  return { type, key, ascending };
}

/** Positional parameters for SQL built from a parsed search. */
export class SqlParams {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * A page of results continues at an offset; MLflow's tokens are opaque
 * base64 too, so clients only hand back what they got.
 */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

/**
 * One page of a search that read `limit + 1` rows from `offset` (the extra
 * row tells whether more follow): the rows to answer with, and the token
 * of the next page when there is one.
 */
export function pageOf<T>(
  rows: T[],
  limit: number,
  offset: number
): { page: T[]; next_page_token?: string } {
  return rows.length > limit
    ? { page: rows.slice(0, limit), next_page_token: encodePageToken(offset + limit) }
    : { page: rows };
}

export function decodePageToken(token: string | undefined): number {
  if (!token) {
    return 0;
  }
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (Number.isSafeInteger(parsed?.offset) && parsed.offset >= 0) {
      return parsed.offset;
    }
  } catch {
    // Answered below.
  }
  throw invalidParameter(
    'Invalid page token: pass back the next_page_token of the previous answer.'
  );
}

/** SQL for a string comparison; LIKE patterns are MLflow's (`%`, `_`). */
export function stringComparison(
  column: string,
  comparator: string,
  placeholder: string
): string {
  switch (comparator) {
    case '=':
      return `${column} = ${placeholder}`;
    case '!=':
      return `${column} <> ${placeholder}`;
    case 'LIKE':
      return `${column} like ${placeholder}`;
    case 'ILIKE':
      return `${column} ilike ${placeholder}`;
    case 'NOT LIKE':
      return `${column} not like ${placeholder}`;
    case 'NOT ILIKE':
      return `${column} not ilike ${placeholder}`;
    case 'IN':
      return `${column} = any(${placeholder}::text[])`;
    case 'NOT IN':
      return `not (${column} = any(${placeholder}::text[]))`;
    default:
      throw new Error(`Not a string comparator: ${comparator}`);
  }
}

export const NUMERIC_COMPARATORS: ReadonlySet<string> = new Set([
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>='
]);

export const STRING_COMPARATORS: ReadonlySet<string> = new Set([
  '=',
  '!=',
  'LIKE',
  'ILIKE'
]);

export function numericComparison(
  column: string,
  comparator: string,
  placeholder: string
): string {
  if (!NUMERIC_COMPARATORS.has(comparator)) {
    throw new Error(`Not a numeric comparator: ${comparator}`);
  }
  return `${column} ${comparator === '!=' ? '<>' : comparator} ${placeholder}`;
}

/** Refuses a comparison a search does not support, naming what it does. */
export function unsupported(
  comparison: Comparison,
  allowed: string
): never {
  throw invalidParameter(
    `Invalid comparator '${comparison.comparator}' for ${describe(comparison)}: use ${allowed}.`
  );
}

export function describe(comparison: { type: EntityType; key: string }): string {
  return comparison.type === 'attribute'
    ? `attribute '${comparison.key}'`
    : `${comparison.type} '${comparison.key}'`;
}

/** max_results within MLflow's bounds for the search (default when missing). */
export function checkMaxResults(
  value: number | undefined,
  fallback: number,
  limit: number
): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isInteger(value) || value < 1 || value > limit) {
    throw invalidParameter(
      `Invalid value for request parameter max_results. It must be at most ${limit} and at least 1, but got value ${value}`
    );
  }
  return value;
}
