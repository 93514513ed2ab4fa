import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkParquetFooter } from './parquet-footer';
import {
  DatasetValidationError,
  DatasetValidator,
  type ValidationResult,
  type ValidatorOptions
} from './validator';

/** 1 MB reads: fewer calls into the scanner, still a bounded buffer. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Validates a file on disk by streaming it through `DatasetValidator`
 * (and, for Parquet, reading its footer). Never throws for bad content:
 * the reason is in the result.
 */
export async function validateDatasetFile(
  path: string,
  options: ValidatorOptions = {}
): Promise<ValidationResult> {
  const validator = new DatasetValidator(options);
  try {
    await pipeline(
      fs.createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }),
      validator,
      new Writable({ write: (_chunk, _encoding, done) => done() })
    );
  } catch (err) {
    if (err instanceof DatasetValidationError) {
      return { ok: false, reason: err.reason };
    }
    throw err;
  }
  const result = validator.result!;
  if (result.ok && result.format === 'parquet') {
    const footer = await checkParquetFooter(path);
    if (!footer.ok) return footer;
    return { ...result, rows: footer.rows };
  }
  return result;
}
