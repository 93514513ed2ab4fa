import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DuckDBInstance,
  type DuckDBConnection,
  type Json
} from '@duckdb/node-api';
import { ThreadedValidator } from '../validate/threaded-validator';
import {
  DatasetValidationError,
  type DatasetFormat
} from '../validate/validator';
import { isNumericType, isTextType, toJsonValue } from './json-values';
import type { ColumnProfile, DatasetProfile } from './profile-types';
import { sampleRowsFor } from './sample-size';
import {
  distinctEstimate,
  histogramBins,
  numberMap,
  scaledTopValues,
  type TopValue
} from './sample-summary';

export type { ColumnProfile, DatasetProfile } from './profile-types';

export interface ProfileOptions {
  /** DuckDB's buffer limit; with its threads this bounds the process' RSS. */
  memoryLimit?: string;
  /** DuckDB's threads; default: the machine's cores. */
  threads?: number;
  /** Where DuckDB spills if it must; default the OS temp dir. */
  workDir?: string;
  previewRows?: number;
  topValues?: number;
  histogramBins?: number;
  /** Data rows if known (Parquet's footer says); sizes the sample. */
  rows?: number;
  /** Most rows to sample for quartiles, histograms and top values. */
  sampleRows?: number;
}

/** 1 MB reads of a CSV on disk. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Profiles a dataset file. A CSV streams through the upload's own
 * validation and profiling thread (`ThreadedValidator`, `CsvProfiler`):
 * an upload is profiled as it arrives, this is the same for a file on
 * disk. A Parquet file is profiled by DuckDB (`profileParquet`).
 */
export async function profileDataset(
  file: string,
  format: DatasetFormat,
  options: ProfileOptions = {}
): Promise<DatasetProfile> {
  if (format === 'parquet') return profileParquet(file, options);
  const validator = new ThreadedValidator({
    profile: {
      previewRows: options.previewRows,
      sampleRows: options.sampleRows,
      topValues: options.topValues,
      histogramBins: options.histogramBins
    }
  });
  await pipeline(
    fs.createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }),
    validator,
    new Writable({ write: (_chunk, _encoding, done) => done() })
  );
  if (!validator.profile) {
    throw new DatasetValidationError('The file is not a CSV file');
  }
  return validator.profile;
}

/**
 * Profiles a Parquet file with DuckDB in one scan: exact counts, min,
 * max, mean and std and an approximate distinct count (HyperLogLog,
 * refined by the sample: `distinctEstimate`) over every row, and in the
 * same scan a uniform sample of rows (bounded, see `sampleRowsFor`) from
 * which quartiles, histograms and top values are computed. The preview
 * reads only the first rows.
 */
async function profileParquet(
  file: string,
  options: ProfileOptions
): Promise<DatasetProfile> {
  const workDir = fs.mkdtempSync(
    path.join(options.workDir ?? os.tmpdir(), 'insighter-profile-')
  );
  const instance = await DuckDBInstance.create(':memory:', {
    memory_limit: options.memoryLimit ?? '256MB',
    threads: String(options.threads ?? os.availableParallelism()),
    temp_directory: workDir
  });
  const connection = await instance.connect();
  try {
    const settings: ProfileSettings = {
      previewRows: Math.max(0, Math.floor(options.previewRows ?? 20)),
      topValues: options.topValues ?? 5,
      histogramBins: options.histogramBins ?? 20
    };
    const source = `read_parquet(${sqlString(file)})`;
    const columns = await describe(connection, source);
    const preview = await readPreview(
      connection,
      source,
      columns,
      settings.previewRows
    );
    const rows = options.rows ?? (await parquetRows(connection, file));
    const sampleRows = sampleRowsFor(columns.length, options.sampleRows);
    // Aggregates need no order; without it DuckDB needs less memory.
    await connection.run('SET preserve_insertion_order = false');
    return await profileColumns(connection, source, columns, settings, {
      fraction: rows > sampleRows ? sampleRows / rows : 1,
      preview
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

interface ProfileSettings {
  previewRows: number;
  topValues: number;
  histogramBins: number;
}

interface ColumnInfo {
  name: string;
  type: string;
  sql: string;
}

/** Names and types as DuckDB reads them. */
async function describe(
  connection: DuckDBConnection,
  source: string
): Promise<ColumnInfo[]> {
  const described = await connection.runAndReadAll(
    `DESCRIBE SELECT * FROM ${source}`
  );
  return described.getRowObjectsJson().map(row => ({
    name: String(row.column_name),
    type: String(row.column_type),
    sql: sqlIdentifier(String(row.column_name))
  }));
}

async function readPreview(
  connection: DuckDBConnection,
  source: string,
  columns: ColumnInfo[],
  limit: number
): Promise<DatasetProfile['preview']> {
  // The reader stops after the first buffer holding `limit` rows.
  const reader = await connection.runAndReadAll(
    `SELECT * FROM ${source} LIMIT ${limit}`
  );
  return {
    columns: columns.map(column => column.name),
    rows: reader
      .getRowsJson()
      .map(row => row.map((value, i) => toJsonValue(value, columns[i].type)))
  };
}

/** Exact, from the footer only. */
async function parquetRows(
  connection: DuckDBConnection,
  file: string
): Promise<number> {
  const reader = await connection.runAndReadAll(
    'SELECT sum(num_rows) AS rows FROM parquet_file_metadata($file)',
    { file }
  );
  return Number(reader.getRowObjectsJson()[0].rows);
}

/**
 * One statement, one scan of the file. The inner query aggregates every
 * row and gathers the sampled rows (a Bernoulli draw per row, so spread
 * over the whole file) into one list of structs — one filtered aggregate
 * instead of one per column, which cost as much again as the sample
 * itself. The middle query splits it per column; the outer reduces each
 * column's sample to quartiles, histogram bins or top values, so only a
 * small row crosses into JavaScript.
 */
async function profileColumns(
  connection: DuckDBConnection,
  source: string,
  columns: ColumnInfo[],
  settings: ProfileSettings,
  context: { fraction: number; preview: DatasetProfile['preview'] }
): Promise<DatasetProfile> {
  const sampled = uniqueName(
    'insighter_sampled',
    columns.map(c => c.name)
  );
  const inner: string[] = ['count(*) AS row_count'];
  const sampleFields: string[] = [];
  const middle: string[] = ['*'];
  const outer: string[] = ['row_count', 'sample_rows'];
  const bins = settings.histogramBins;
  columns.forEach((column, i) => {
    const c = column.sql;
    inner.push(
      `count(${c}) AS c${i}_count`,
      `approx_count_distinct(${c}) AS c${i}_distinct`,
      `min(${c}) AS c${i}_min`,
      `max(${c}) AS c${i}_max`
    );
    outer.push(`c${i}_count`, `c${i}_distinct`, `c${i}_min`, `c${i}_max`);
    const field = `lambda r: r.c${i}`;
    if (isNumericType(column.type)) {
      const value = `${c}::DOUBLE`;
      inner.push(
        `avg(${value}) AS c${i}_mean`,
        `stddev_samp(${value}) AS c${i}_std`
      );
      sampleFields.push(`c${i}: ${value}`);
      middle.push(
        `list_filter(list_transform(sample, ${field}),
           lambda v: v IS NOT NULL AND NOT isnan(v)) AS c${i}_sample`
      );
      // Bins as the JavaScript side computes their edges: equal widths
      // between the exact min and max, the max in the last bin.
      const min = `c${i}_min::DOUBLE`;
      const width = `((c${i}_max::DOUBLE - ${min}) / ${bins})`;
      outer.push(
        `c${i}_mean`,
        `c${i}_std`,
        `len(c${i}_sample) AS c${i}_sampled`,
        `list_aggregate(map_values(list_aggregate(c${i}_sample, 'histogram')), 'histogram') AS c${i}_repeats`,
        `list_aggregate(c${i}_sample, 'quantile_cont', [0.25, 0.5, 0.75]) AS c${i}_quartiles`,
        `list_aggregate(list_transform(list_filter(c${i}_sample, lambda v: isfinite(v)),
            lambda v: CASE WHEN ${width} > 0 THEN least(floor((v - ${min}) / ${width})::INTEGER, ${bins - 1}) ELSE 0 END),
          'histogram') AS c${i}_histogram`
      );
    } else if (isTextType(column.type)) {
      sampleFields.push(`c${i}: ${c}`);
      middle.push(
        `list_aggregate(list_transform(sample, ${field}), 'histogram') AS c${i}_values`
      );
      // Most frequent first, ties alphabetically.
      outer.push(
        `list_sum(map_values(c${i}_values)) AS c${i}_sampled`,
        `list_aggregate(map_values(c${i}_values), 'histogram') AS c${i}_repeats`,
        `list_sort(list_transform(map_entries(c${i}_values),
            lambda e: {'negated_count': -(e.value::BIGINT), 'value': e.key}))[1:${settings.topValues}] AS c${i}_top`
      );
    } else if (column.type === 'BOOLEAN') {
      // Two values: counted exactly over every row.
      inner.push(
        `count(*) FILTER (WHERE ${c}) AS c${i}_true`,
        `count(*) FILTER (WHERE NOT ${c}) AS c${i}_false`
      );
      outer.push(`c${i}_true`, `c${i}_false`);
    }
  });
  const sampling = context.fraction < 1;
  inner.push(
    sampleFields.length > 0
      ? `list({${sampleFields.join(', ')}})${sampling ? ` FILTER (WHERE ${sampled})` : ''} AS sample`
      : 'NULL AS sample',
    sampling
      ? `count(*) FILTER (WHERE ${sampled}) AS sample_rows`
      : 'count(*) AS sample_rows'
  );
  const from = sampling
    ? `(SELECT *, random() < ${context.fraction} AS ${sampled} FROM ${source})`
    : source;
  const stats = (
    await connection.runAndReadAll(
      `SELECT ${outer.join(', ')} FROM (SELECT ${middle.join(', ')} FROM (SELECT ${inner.join(', ')} FROM ${from}))`
    )
  ).getRowObjectsJson()[0];
  const rowCount = Number(stats.row_count);

  const profiles = columns.map((column, i) =>
    columnProfile(column, i, stats, rowCount, settings, !sampling)
  );
  return {
    row_count: rowCount,
    column_count: columns.length,
    columns: profiles,
    preview: context.preview,
    sample_rows: Number(stats.sample_rows)
  };
}

function columnProfile(
  column: ColumnInfo,
  i: number,
  stats: Record<string, Json>,
  rowCount: number,
  settings: ProfileSettings,
  exact: boolean
): ColumnProfile {
  const nonNull = Number(stats[`c${i}_count`]);
  const numeric = isNumericType(column.type);
  const quartiles = numeric
    ? (stats[`c${i}_quartiles`] as Json[] | null)
    : null;
  const repeats = stats[`c${i}_repeats`] as MapEntries | null;
  const profile: ColumnProfile = {
    name: column.name,
    type: column.type,
    null_count: rowCount - nonNull,
    distinct_approx: distinctEstimate(
      Number(stats[`c${i}_distinct`]),
      repeats ? numberMap(repeats) : undefined,
      nonNull,
      exact
    ),
    min: toJsonValue(stats[`c${i}_min`], column.type),
    max: toJsonValue(stats[`c${i}_max`], column.type),
    mean: numeric ? finiteOrNull(stats[`c${i}_mean`]) : null,
    std: numeric ? finiteOrNull(stats[`c${i}_std`]) : null,
    q25: quartiles ? finiteOrNull(quartiles[0]) : null,
    q50: quartiles ? finiteOrNull(quartiles[1]) : null,
    q75: quartiles ? finiteOrNull(quartiles[2]) : null
  };
  // Sample counts to column counts; 1 when the sample is every row.
  const sampled = Number(stats[`c${i}_sampled`] ?? 0);
  const scale = exact || sampled === 0 ? 1 : nonNull / sampled;
  if (numeric) {
    const counts: number[] = [];
    const bins = stats[`c${i}_histogram`] as MapEntries | null;
    for (const [bin, count] of numberMap(bins)) counts[bin] = count;
    const histogram = histogramBins(
      Number(stats[`c${i}_min`]),
      Number(stats[`c${i}_max`]),
      counts,
      settings.histogramBins,
      scale
    );
    if (histogram) profile.histogram = histogram;
  } else if (isTextType(column.type)) {
    const top = (stats[`c${i}_top`] ?? []) as {
      negated_count: Json;
      value: Json;
    }[];
    // Near-unique text (ids, free text): every value occurs about once,
    // so a top list says nothing.
    if (top.length > 0 && profile.distinct_approx < 0.95 * nonNull) {
      profile.top_values = scaledTopValues(
        top.map(entry => ({
          value: entry.value,
          count: -Number(entry.negated_count)
        })),
        scale
      );
    }
  } else if (column.type === 'BOOLEAN') {
    const counts: TopValue[] = [
      { value: true, count: Number(stats[`c${i}_true`]) },
      { value: false, count: Number(stats[`c${i}_false`]) }
    ].filter(entry => entry.count > 0);
    profile.distinct_approx = counts.length;
    profile.top_values = scaledTopValues(counts, 1);
  }
  return profile;
}

/** A DuckDB MAP as JSON. */
type MapEntries = { key: Json; value: Json }[];

function uniqueName(base: string, taken: string[]): string {
  const lower = new Set(taken.map(name => name.toLowerCase()));
  let name = base;
  for (let k = 2; lower.has(name); k++) name = `${base}_${k}`;
  return name;
}

function finiteOrNull(value: Json): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

function sqlIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
