import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DuckDBInstance,
  type DuckDBConnection,
  type Json
} from '@duckdb/node-api';
import type { DatasetFormat } from '../validate/validator';
import { isNumericType, isTextType, toJsonValue } from './json-values';

export interface ColumnProfile {
  name: string;
  type: string;
  null_count: number;
  distinct_approx: number;
  min: Json;
  max: Json;
  mean: number | null;
  std: number | null;
  q25: number | null;
  q50: number | null;
  q75: number | null;
  top_values?: { value: Json; count: number }[];
  histogram?: { bins: { lower: number; upper: number; count: number }[] };
}

export interface DatasetProfile {
  row_count: number;
  column_count: number;
  columns: ColumnProfile[];
  preview: { columns: string[]; rows: Json[][] };
}

export interface ProfileOptions {
  /** The CSV delimiter the validator found; unset: DuckDB sniffs it. */
  delimiter?: string;
  /** DuckDB's buffer limit; with its threads this bounds the process' RSS. */
  memoryLimit?: string;
  threads?: number;
  /** Where DuckDB keeps its working database and spills; default the OS temp dir. */
  workDir?: string;
  previewRows?: number;
  topValues?: number;
  histogramBins?: number;
}

/**
 * Profiles a validated dataset with DuckDB. The file is loaded once into a
 * table of a temporary on-disk database (one parse of the CSV; DuckDB keeps
 * within `memoryLimit` and spills to that directory), then every statistic
 * is read from the columnar table in three scans: the aggregates, the
 * histograms with the exact counts of the top values, and the preview.
 */
export async function profileDataset(
  file: string,
  format: DatasetFormat,
  options: ProfileOptions = {}
): Promise<DatasetProfile> {
  const workDir = fs.mkdtempSync(
    path.join(options.workDir ?? os.tmpdir(), 'insighter-profile-')
  );
  const instance = await DuckDBInstance.create(
    path.join(workDir, 'profile.duckdb'),
    {
      memory_limit: options.memoryLimit ?? '256MB',
      threads: String(options.threads ?? 2),
      temp_directory: path.join(workDir, 'spill')
    }
  );
  const connection = await instance.connect();
  try {
    await loadTable(connection, file, format, options.delimiter);
    return await profileTable(connection, {
      previewRows: options.previewRows ?? 20,
      topValues: options.topValues ?? 5,
      histogramBins: options.histogramBins ?? 20
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

async function loadTable(
  connection: DuckDBConnection,
  file: string,
  format: DatasetFormat,
  delimiter: string | undefined
): Promise<void> {
  if (format === 'parquet') {
    await connection.run(
      'CREATE TABLE data AS SELECT * FROM read_parquet($file)',
      { file }
    );
    return;
  }
  const delim = delimiter ? `, delim = ${sqlString(delimiter)}` : '';
  const read = (extra: string) =>
    connection.run(
      `CREATE OR REPLACE TABLE data AS SELECT * FROM read_csv($file, header = true${delim}${extra})`,
      { file }
    );
  try {
    await read('');
  } catch (err) {
    // DuckDB infers types from a sample of rows; a later row that does not
    // fit (text in a numeric-looking column) fails the load. Then infer
    // from every row: one more pass, only for such files.
    if (!/convert|cast|sniff/i.test((err as Error).message)) throw err;
    await read(', sample_size = -1');
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

async function profileTable(
  connection: DuckDBConnection,
  settings: ProfileSettings
): Promise<DatasetProfile> {
  const described = await connection.runAndReadAll(
    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'data' ORDER BY column_index"
  );
  const columns: ColumnInfo[] = described.getRowObjectsJson().map(row => ({
    name: String(row.column_name),
    type: String(row.data_type),
    sql: sqlIdentifier(String(row.column_name))
  }));

  const aggregates: string[] = ['count(*) AS row_count'];
  columns.forEach((column, i) => {
    const c = column.sql;
    aggregates.push(
      `count(${c}) AS c${i}_count`,
      `approx_count_distinct(${c}) AS c${i}_distinct`,
      `min(${c}) AS c${i}_min`,
      `max(${c}) AS c${i}_max`
    );
    if (isNumericType(column.type)) {
      aggregates.push(
        `avg(${c}::DOUBLE) AS c${i}_mean`,
        `stddev_samp(${c}::DOUBLE) AS c${i}_std`,
        `approx_quantile(${c}::DOUBLE, [0.25, 0.5, 0.75]) AS c${i}_quartiles`
      );
    } else if (isTextType(column.type)) {
      aggregates.push(`approx_top_k(${c}, ${settings.topValues}) AS c${i}_top`);
    }
  });
  const stats = (
    await connection.runAndReadAll(`SELECT ${aggregates.join(', ')} FROM data`)
  ).getRowObjectsJson()[0];
  const rowCount = Number(stats.row_count);

  const profiles: ColumnProfile[] = columns.map((column, i) => {
    const nonNull = Number(stats[`c${i}_count`]);
    const numeric = isNumericType(column.type);
    const quartiles = numeric
      ? (stats[`c${i}_quartiles`] as Json[] | null)
      : null;
    return {
      name: column.name,
      type: column.type,
      null_count: rowCount - nonNull,
      // The estimate may overshoot a little; never more than the values.
      distinct_approx: Math.min(Number(stats[`c${i}_distinct`]), nonNull),
      min: toJsonValue(stats[`c${i}_min`], column.type),
      max: toJsonValue(stats[`c${i}_max`], column.type),
      mean: numeric ? finiteOrNull(stats[`c${i}_mean`]) : null,
      std: numeric ? finiteOrNull(stats[`c${i}_std`]) : null,
      q25: quartiles ? finiteOrNull(quartiles[0]) : null,
      q50: quartiles ? finiteOrNull(quartiles[1]) : null,
      q75: quartiles ? finiteOrNull(quartiles[2]) : null
    };
  });

  await addHistogramsAndTopCounts(
    connection,
    columns,
    profiles,
    stats,
    settings
  );
  const preview = await readPreview(connection, columns, settings.previewRows);
  return {
    row_count: rowCount,
    column_count: columns.length,
    columns: profiles,
    preview
  };
}

/**
 * One scan for all columns: equal-width bins between each numeric column's
 * min and max, and exact counts for the text columns' approximate top values.
 */
async function addHistogramsAndTopCounts(
  connection: DuckDBConnection,
  columns: ColumnInfo[],
  profiles: ColumnProfile[],
  stats: Record<string, Json>,
  settings: ProfileSettings
): Promise<void> {
  const bins = settings.histogramBins;
  const aggregates: string[] = [];
  const plans: (() => void)[] = [];
  columns.forEach((column, i) => {
    const profile = profiles[i];
    const c = column.sql;
    if (isNumericType(column.type)) {
      const min = Number(stats[`c${i}_min`]);
      const max = Number(stats[`c${i}_max`]);
      if (!Number.isFinite(min) || !Number.isFinite(max)) return;
      const width = (max - min) / bins;
      const alias = `h${i}`;
      const bucket =
        width > 0
          ? `least(floor((${c}::DOUBLE - ${min}) / ${width})::INTEGER, ${bins - 1})`
          : '0';
      aggregates.push(
        `histogram(CASE WHEN ${c} IS NULL OR isnan(${c}::DOUBLE) THEN NULL ELSE ${bucket} END) AS ${alias}`
      );
      plans.push(() => {
        const counts = new Map<number, number>();
        for (const entry of (result[alias] ?? []) as {
          key: Json;
          value: Json;
        }[]) {
          counts.set(Number(entry.key), Number(entry.value));
        }
        const binCount = width > 0 ? bins : 1;
        profile.histogram = {
          bins: Array.from({ length: binCount }, (_, b) => ({
            lower: width > 0 ? min + b * width : min,
            upper:
              width > 0 ? (b === bins - 1 ? max : min + (b + 1) * width) : max,
            count: counts.get(b) ?? 0
          }))
        };
      });
    } else if (isTextType(column.type)) {
      const candidates = ((stats[`c${i}_top`] ?? []) as Json[]).map(String);
      const nonNull = rowCount(stats) - profile.null_count;
      // Near-unique text (ids, free text): every value occurs about once,
      // so a top list says nothing.
      if (
        candidates.length === 0 ||
        profile.distinct_approx >= 0.95 * nonNull
      ) {
        return;
      }
      const aliases = candidates.map((value, k) => {
        const alias = `t${i}_${k}`;
        aggregates.push(
          `count(*) FILTER (WHERE ${c} = ${sqlString(value)}) AS ${alias}`
        );
        return alias;
      });
      plans.push(() => {
        profile.top_values = candidates
          .map((value, k) => ({ value, count: Number(result[aliases[k]]) }))
          .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
      });
    }
  });
  if (aggregates.length === 0) return;
  const result = (
    await connection.runAndReadAll(`SELECT ${aggregates.join(', ')} FROM data`)
  ).getRowObjectsJson()[0];
  for (const plan of plans) plan();
}

async function readPreview(
  connection: DuckDBConnection,
  columns: ColumnInfo[],
  limit: number
): Promise<DatasetProfile['preview']> {
  const reader = await connection.runAndReadAll(
    `SELECT * FROM data LIMIT ${Math.max(0, Math.floor(limit))}`
  );
  return {
    columns: columns.map(column => column.name),
    rows: reader
      .getRowsJson()
      .map(row => row.map((value, i) => toJsonValue(value, columns[i].type)))
  };
}

function rowCount(stats: Record<string, Json>): number {
  return Number(stats.row_count);
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
