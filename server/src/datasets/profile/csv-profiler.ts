import type { Json } from '@duckdb/node-api';
import { ColumnAccumulator, type ColumnType } from './column-accumulator';
import { CsvTokens, Kind, type FieldSink } from './csv-tokens';
import {
  bigIntegerOf,
  booleanOf,
  naIndex,
  NumberKind,
  parseNumber,
  type ParsedNumber
} from './pandas-values';
import type { ColumnProfile, DatasetProfile } from './profile-types';
import { RecordArena } from './record-arena';
import { sampleRowsFor } from './sample-size';
import {
  binOf,
  distinctEstimate,
  histogramBins,
  quantileOfSorted,
  scaledTopValues,
  timesSeenOf,
  type TopValue
} from './sample-summary';

/** The delimiter and column names the validator read from the file's start. */
export interface CsvLayout {
  delimiter: string;
  header: string[];
}

export interface CsvProfileOptions {
  previewRows?: number;
  /** Most rows to sample for quartiles, histograms and top values. */
  sampleRows?: number;
  topValues?: number;
  histogramBins?: number;
}

const LINE_END = Buffer.from('\n');
/** Kept records joined for one push: few calls, no large copy. */
const RECORDS_AT_ONCE = 1000;

/**
 * Profiles a CSV in one pass over its bytes as they arrive, in any
 * chunks: exact row, null and value counts, min, max, mean and std, a
 * sketch of distinct values, and each column's type as pandas'
 * `read_csv` infers it (so the catalog and a notebook never disagree);
 * besides, a uniform sample of rows (reservoir sampling, Vitter's
 * algorithm L: no row count needed in advance) for quartiles, histograms
 * and top values, and the first rows for the preview, both kept as the
 * records' bytes and read at the end, once the types are known: the
 * values as pandas reads them, never as a type guess would rewrite them.
 * The bytes are read by WebAssembly (csv-tokens.ts): where fields end,
 * and most fields' values; the statistics are kept column by column.
 */
export class CsvProfiler {
  private readonly tokens: CsvTokens;
  /** The names of the columns profiled here. */
  private readonly names: string[];
  private rows = 0;
  private readonly columns: ColumnAccumulator[];
  private readonly previewRecords: Buffer[] = [];
  private readonly previewRows: number;
  private readonly sampleRecords: RecordArena;
  private readonly sampleRows: number;
  /** Algorithm L: the next row taken into the sample (0-based), and its weight. */
  private nextSampled: number;
  private weight = 1;
  private readonly topValues: number;
  private readonly bins: number;

  constructor(layout: CsvLayout, options: CsvProfileOptions = {}) {
    const width = layout.header.length;
    this.names = [...layout.header];
    this.tokens = new CsvTokens(layout.delimiter, width);
    this.columns = this.names.map(() => new ColumnAccumulator());
    this.previewRows = Math.max(0, Math.floor(options.previewRows ?? 20));
    this.sampleRows = Math.max(1, sampleRowsFor(width, options.sampleRows));
    this.sampleRecords = new RecordArena(this.sampleRows, 64 * this.sampleRows);
    // Rows [0, sampleRows) fill the sample; the first one after is drawn.
    this.nextSampled = this.sampleRows - 1;
    this.skipAhead();
    this.topValues = options.topValues ?? 5;
    this.bins = options.histogramBins ?? 20;
  }

  /** Takes the next bytes of the file. */
  push(chunk: Uint8Array): void {
    this.tokens.push(chunk, this.records);
  }

  /** After the last byte: the profile. */
  finish(): DatasetProfile {
    this.tokens.end(this.records);
    const types = this.columns.map(column => column.type());
    const sampled = Math.min(this.rows, this.sampleRows);
    const exact = this.rows <= this.sampleRows;
    const sample = this.readAgain(
      this.sampleRecords.records(sampled),
      types.map(type => new SampleValues(type))
    );
    const preview = this.readAgain(
      this.previewRecords,
      types.map(type => new ColumnValues(type))
    ).map(column => column.values);
    return {
      row_count: this.rows,
      column_count: this.columns.length,
      columns: this.columns.map((column, i) =>
        this.columnProfile(i, column, types[i], sample[i], exact)
      ),
      preview: {
        columns: [...this.names],
        rows: this.previewRecords.map((_, row) =>
          preview.map(values => values[row] ?? null)
        )
      },
      sample_rows: sampled
    };
  }

  /** A batch of the upload's records: to the columns, and some kept. */
  private readonly records = (rows: number): void => {
    const { tokens, columns } = this;
    for (let column = 0; column < columns.length; column++) {
      columns[column].take(tokens, column, rows);
    }
    const first = this.rows;
    const end = first + rows;
    this.rows = end;
    const keep = (slot: number, row: number) =>
      this.sampleRecords.set(
        slot,
        tokens.memory,
        tokens.recordStarts[row - first],
        tokens.recordEnds[row - first]
      );
    for (let row = first; row < Math.min(end, this.previewRows); row++) {
      const start = tokens.recordStarts[row - first];
      this.previewRecords.push(
        Buffer.copyBytesFrom(
          tokens.memory,
          start,
          tokens.recordEnds[row - first] - start
        )
      );
    }
    // Until the sample is full every row is in it; then the rows
    // Algorithm L picks, each in a random slot.
    for (let row = first; row < Math.min(end, this.sampleRows); row++) {
      keep(row, row);
    }
    while (this.nextSampled < end) {
      keep(Math.floor(Math.random() * this.sampleRows), this.nextSampled);
      this.skipAhead();
    }
  };

  /** Kept records read again, into a sink per column. */
  private readAgain<T extends FieldSink>(records: Buffer[], sinks: T[]): T[] {
    const { tokens } = this;
    const take = (rows: number) =>
      sinks.forEach((sink, i) => sink.take(tokens, i, rows));
    tokens.headerless();
    for (let at = 0; at < records.length; at += RECORDS_AT_ONCE) {
      const some = records.slice(at, at + RECORDS_AT_ONCE);
      tokens.push(
        Buffer.concat(some.flatMap(record => [record, LINE_END])),
        take
      );
    }
    tokens.end(take);
    return sinks;
  }

  /** Algorithm L: how many rows to pass over before the next one taken. */
  private skipAhead(): void {
    this.weight *= Math.exp(Math.log(Math.random()) / this.sampleRows);
    const skip = Math.floor(
      Math.log(Math.random()) / Math.log(1 - this.weight)
    );
    this.nextSampled += (Number.isFinite(skip) ? skip : 0) + 1;
  }

  private columnProfile(
    i: number,
    column: ColumnAccumulator,
    { type, naFiltered }: ColumnType,
    sample: SampleValues,
    exact: boolean
  ): ColumnProfile {
    const nulls = naFiltered ? column.nulls : 0;
    const nonNull = this.rows - nulls;
    const profile: ColumnProfile = {
      name: this.names[i],
      type,
      null_count: nulls,
      distinct_approx: 0,
      min: null,
      max: null,
      mean: null,
      std: null,
      q25: null,
      q50: null,
      q75: null
    };
    if (type === 'BOOLEAN') {
      // Two values: counted exactly over every row.
      const counts: TopValue[] = [
        { value: true, count: column.trues },
        { value: false, count: column.falses }
      ].filter(entry => entry.count > 0);
      profile.distinct_approx = counts.length;
      profile.min = column.falses === 0 && column.trues > 0;
      profile.max = column.trues > 0;
      profile.top_values = scaledTopValues(counts, 1);
      return profile;
    }
    if (type === 'VARCHAR') {
      const counts = sample.texts;
      const extremes = column.textExtremes(!naFiltered);
      profile.min = extremes.min;
      profile.max = extremes.max;
      profile.distinct_approx = distinctEstimate(
        column.distinct.count() +
          (naFiltered ? 0 : column.nullWordsSeen().length),
        timesSeenOf(counts.values()),
        nonNull,
        exact
      );
      const top = mostFrequent(counts, this.topValues);
      // Near-unique text (ids, free text): every value occurs about once,
      // so a top list says nothing.
      if (top.length > 0 && profile.distinct_approx < 0.95 * nonNull) {
        profile.top_values = scaledTopValues(
          top,
          exact || sample.taken === 0 ? 1 : nonNull / sample.taken
        );
      }
      return profile;
    }
    const numbers = Float64Array.from(sample.numbers).sort();
    const counts = new Map<number, number>();
    for (const value of numbers) {
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    profile.distinct_approx = distinctEstimate(
      column.distinct.count(),
      timesSeenOf(counts.values()),
      nonNull,
      exact
    );
    if (column.numbers === 0) return profile; // only NaN, as pandas reads it
    if (type === 'DOUBLE') {
      profile.min = finiteOrWord(column.min);
      profile.max = finiteOrWord(column.max);
    } else {
      const extremes = column.integerExtremes();
      profile.min = extremes.min;
      profile.max = extremes.max;
    }
    const moments = column.moments();
    profile.mean = finiteOrNull(moments.mean);
    profile.std = finiteOrNull(moments.std);
    if (numbers.length > 0) {
      profile.q25 = finiteOrNull(quantileOfSorted(numbers, 0.25));
      profile.q50 = finiteOrNull(quantileOfSorted(numbers, 0.5));
      profile.q75 = finiteOrNull(quantileOfSorted(numbers, 0.75));
    }
    const binCounts: number[] = [];
    for (const value of numbers) {
      if (!Number.isFinite(value)) continue;
      const bin = binOf(value, column.min, column.max, this.bins);
      binCounts[bin] = (binCounts[bin] ?? 0) + 1;
    }
    const histogram = histogramBins(
      column.min,
      column.max,
      binCounts,
      this.bins,
      exact || numbers.length === 0 ? 1 : nonNull / numbers.length
    );
    if (histogram) profile.histogram = histogram;
    return profile;
  }
}

const parsed: ParsedNumber = {
  value: 0,
  negative: false,
  digitsStart: 0,
  digitsEnd: 0
};

/** A column's sampled values as pandas holds them: numbers, or texts counted. */
class SampleValues implements FieldSink {
  readonly numbers: number[] = [];
  readonly texts = new Map<string, number>();
  /** Texts taken (missing values are not). */
  taken = 0;

  constructor(private readonly type: ColumnType) {}

  take(tokens: CsvTokens, column: number, rows: number): void {
    eachValue(tokens, column, rows, this.type, value => {
      if (typeof value === 'number') this.numbers.push(value);
      else if (typeof value === 'string' && this.type.type === 'VARCHAR') {
        this.texts.set(value, (this.texts.get(value) ?? 0) + 1);
        this.taken++;
      }
    });
  }
}

/** One column's values in order, as pandas holds them (`valueOf`). */
class ColumnValues implements FieldSink {
  readonly values: Json[] = [];

  constructor(private readonly type: ColumnType) {}

  take(tokens: CsvTokens, column: number, rows: number): void {
    eachValue(tokens, column, rows, this.type, value =>
      this.values.push(value)
    );
  }
}

/** Each of a batch's values of a column, as pandas holds them. */
function eachValue(
  tokens: CsvTokens,
  column: number,
  rows: number,
  type: ColumnType,
  take: (value: Json) => void
): void {
  const end = tokens.first(column) + rows;
  for (let k = tokens.first(column); k < end; k++) {
    const s = tokens.words[8 * k + 5];
    const e = tokens.words[8 * k + 6];
    take(
      tokens.bytes[32 * k + 28] === Kind.Quoted
        ? valueOf(tokens.unquoted(s, e), 0, tokens.unquotedLength, type)
        : valueOf(tokens.memory, s, e, type)
    );
  }
}

/**
 * A field as pandas holds it in a column of this type: null for a
 * missing value, a number (a string beyond 2^53, or for an infinity),
 * a boolean, or the text as written.
 */
export function valueOf(
  b: Buffer,
  s: number,
  e: number,
  { type, naFiltered }: ColumnType
): Json {
  if (naFiltered && naIndex(b, s, e) >= 0) return null;
  if (type === 'VARCHAR') return b.toString('utf8', s, e);
  if (type === 'BOOLEAN') return booleanOf(b, s, e) === 1;
  const kind = parseNumber(b, s, e, parsed);
  if (type === 'DOUBLE' || kind === NumberKind.Float) {
    return finiteOrWord(parsed.value);
  }
  return Number.isSafeInteger(parsed.value)
    ? parsed.value
    : String(bigIntegerOf(b, parsed));
}

/** The `k` most frequent values, ties in byte order (as DuckDB sorts text). */
function mostFrequent(counts: Map<string, number>, k: number): TopValue[] {
  const before = (a: [string, number], b: [string, number]) =>
    a[1] > b[1] ||
    (a[1] === b[1] && Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])) < 0);
  const best: [string, number][] = [];
  if (k <= 0) return [];
  for (const entry of counts) {
    if (best.length === k && !before(entry, best[k - 1])) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && before(entry, best[at - 1])) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = entry;
  }
  return best.map(([value, count]) => ({ value, count }));
}

/** Infinities as pandas prints them (JSON has no word for them). */
function finiteOrWord(value: number): number | string {
  if (Number.isFinite(value)) return value;
  return value > 0 ? 'inf' : '-inf';
}

function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}
