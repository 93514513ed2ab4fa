import { DuckDBInstance } from '@duckdb/node-api';
import { PARQUET_DAMAGED } from './validator';

export type ParquetFooterCheck =
  { ok: true; rows: number; columns: number } | { ok: false; reason: string };

/**
 * Reads a stored Parquet file's footer and schema with DuckDB (only the
 * footer is read, not the data): rows and columns if readable, else why not.
 */
export async function checkParquetFooter(
  path: string
): Promise<ParquetFooterCheck> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '1',
    memory_limit: '64MB'
  });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT
         (SELECT sum(num_rows) FROM parquet_file_metadata($path)) AS rows,
         (SELECT count(*) FROM parquet_schema($path) WHERE num_children IS NULL OR num_children = 0) AS columns`,
      { path }
    );
    const [row] = reader.getRowObjects();
    return { ok: true, rows: Number(row.rows), columns: Number(row.columns) };
  } catch (err) {
    return { ok: false, reason: `${PARQUET_DAMAGED}: ${duckdbMessage(err)}` };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** DuckDB's message without its error-class prefix and file path noise. */
function duckdbMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^[A-Za-z ]+Error: /, '').split('\n')[0];
}
