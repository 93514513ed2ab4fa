import type { Json } from '@duckdb/node-api';

export interface ColumnProfile {
  name: string;
  /**
   * DuckDB's type name. For a CSV, pandas' `read_csv` dtype by that name:
   * int64 BIGINT, uint64 UBIGINT, float64 DOUBLE, bool BOOLEAN (also with
   * missing values, which make pandas' column object, holding booleans),
   * object VARCHAR.
   */
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
  /** The first rows, each value as pandas reads it (a CSV's) or as stored. */
  preview: { columns: string[]; rows: Json[][] };
  /**
   * Rows the quartiles, histograms and top values were computed from: all
   * of them (`row_count`) for files up to the sample size, else a uniform
   * random sample whose counts are scaled to the column's non-null count.
   * Row and null counts, min, max, mean and std always cover every row.
   */
  sample_rows: number;
}
