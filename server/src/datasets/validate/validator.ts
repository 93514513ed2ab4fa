import { Transform, type TransformCallback } from 'node:stream';
import { CsvFieldChecker } from './csv-field-checker';
import { firstRecordFields } from './csv-scanner';
import { detectDelimiter } from './delimiter';
import { Utf8Checker } from './utf8';

export type DatasetFormat = 'csv' | 'parquet';

export type ValidationResult =
  | {
      ok: true;
      format: 'csv';
      delimiter: string;
      encoding: 'utf-8';
      /** The file starts with a UTF-8 byte order mark (readers skip it). */
      bom: boolean;
      header: string[];
      /** Data rows, the header not counted. */
      rows: number;
      bytes: number;
    }
  | {
      ok: true;
      format: 'parquet';
      encoding: 'binary';
      /** Known once the footer has been read (`checkParquetFooter`). */
      rows?: number;
      bytes: number;
    }
  | { ok: false; reason: string };

export interface ValidatorOptions {
  /** Largest accepted file in bytes; unset: no limit. */
  maxBytes?: number;
}

/** Thrown (as the stream's error) when the content is not a usable dataset. */
export class DatasetValidationError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DatasetValidationError';
  }
}

const PARQUET_MAGIC = Buffer.from('PAR1');
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Enough rows to see the delimiter; the header must end within the cap. */
const SAMPLE_BYTES = 64 * 1024;
const HEADER_CAP_BYTES = 4 * 1024 * 1024;
/** Share of control bytes (other than tab, CR, LF, FF) that marks binary data. */
const BINARY_CONTROL_SHARE = 0.01;

type Phase = 'sniff' | 'csv-sample' | 'csv-scan' | 'parquet' | 'done';

/**
 * Validates a dataset by its content while its bytes stream through
 * (`pipeline(upload, validator, storageWriter)`): the bytes pass on
 * unchanged, at most a 64 KB sample is held, and the first problem ends
 * the stream with a `DatasetValidationError` whose `reason` is meant for
 * people. After `finish`, `result` holds the outcome. A Parquet file passes
 * here on its structure (magic at both ends, a sane footer length); call
 * `checkParquetFooter` on the stored file to read its schema.
 */
export class DatasetValidator extends Transform {
  result: ValidationResult | undefined;
  private readonly maxBytes: number;
  private phase: Phase = 'sniff';
  private bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly utf8 = new Utf8Checker();
  private bom = false;
  private checker: CsvFieldChecker | undefined;
  private header: string[] = [];
  private delimiter = ',';
  private parquetTail = Buffer.alloc(0);

  constructor(options: ValidatorOptions = {}) {
    super();
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: TransformCallback
  ): void {
    const reason = this.consume(chunk);
    if (reason) {
      callback(this.fail(reason));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const reason = this.conclude();
    callback(reason ? this.fail(reason) : null);
  }

  /**
   * The CSV's delimiter and column names, once the header has been read
   * (after the first 64 KB, or at the end of a smaller file).
   */
  get csvLayout(): { delimiter: string; header: string[] } | undefined {
    return this.checker
      ? { delimiter: this.delimiter, header: this.header }
      : undefined;
  }

  /** Known from the first four bytes. */
  get isParquet(): boolean {
    return (
      this.phase === 'parquet' ||
      (this.result?.ok === true && this.result.format === 'parquet')
    );
  }

  private fail(reason: string): DatasetValidationError {
    this.phase = 'done';
    this.result = { ok: false, reason };
    return new DatasetValidationError(reason);
  }

  /** Takes one chunk; returns a reason if the file is not acceptable. */
  private consume(chunk: Buffer): string | undefined {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      return `The file is larger than the limit of ${megabytes(this.maxBytes)} MB`;
    }
    switch (this.phase) {
      case 'sniff':
      case 'csv-sample':
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        if (this.phase === 'sniff') {
          if (this.pendingBytes < PARQUET_MAGIC.length) return undefined;
          const start = Buffer.concat(this.pending).subarray(0, 4);
          if (start.equals(PARQUET_MAGIC)) {
            this.phase = 'parquet';
            this.keepParquetTail(Buffer.concat(this.pending));
            this.pending = [];
            return undefined;
          }
          this.phase = 'csv-sample';
          const binary = binaryReason(Buffer.concat(this.pending));
          if (binary) return binary;
          this.pending = [Buffer.concat(this.pending)];
          return this.checkText(this.pending[0]) ?? this.trySample(false);
        }
        return this.checkText(chunk) ?? this.trySample(false);
      case 'csv-scan':
        return this.checkText(chunk) ?? this.scan(chunk);
      case 'parquet':
        this.keepParquetTail(chunk);
        return undefined;
      case 'done':
        return undefined;
    }
  }

  private conclude(): string | undefined {
    if (this.phase === 'done') return undefined;
    if (this.bytes === 0) return 'The file is empty';
    if (this.phase === 'parquet') return this.endParquet();
    if (this.phase === 'sniff') {
      this.phase = 'csv-sample';
      const binary = binaryReason(Buffer.concat(this.pending));
      if (binary) return binary;
      const reason = this.checkText(Buffer.concat(this.pending));
      if (reason) return reason;
    }
    const truncated = this.utf8.finish();
    if (truncated >= 0) {
      return `The file is not UTF-8 text (byte ${truncated})`;
    }
    if (this.phase === 'csv-sample') {
      const reason = this.trySample(true);
      if (reason) return reason;
    }
    const checker = this.checker;
    if (!checker) return 'The file holds no data (only blank lines)';
    const closed = checker.finish();
    if (checker.mismatch !== undefined) return this.rowProblem(checker);
    if (!closed) {
      return `The file ends inside a quoted field (row ${checker.records + 1})`;
    }
    if (checker.records <= 1) {
      return 'The file has a header row but no data rows';
    }
    this.phase = 'done';
    this.result = {
      ok: true,
      format: 'csv',
      delimiter: this.delimiter,
      encoding: 'utf-8',
      bom: this.bom,
      header: this.header,
      rows: checker.records - 1,
      bytes: this.bytes
    };
    return undefined;
  }

  /** NUL bytes mean binary; invalid UTF-8 is reported with its offset. */
  private checkText(chunk: Buffer): string | undefined {
    if (chunk.indexOf(0) !== -1) return BINARY_REASON;
    const invalid = this.utf8.check(chunk);
    if (invalid >= 0) return `The file is not UTF-8 text (byte ${invalid})`;
    return undefined;
  }

  /**
   * Once the sample holds the header row (and up to 64 KB after it), picks
   * the delimiter, reads the header and starts the row scan.
   */
  private trySample(atEnd: boolean): string | undefined {
    if (!atEnd && this.pendingBytes < SAMPLE_BYTES) return undefined;
    let sample = Buffer.concat(this.pending);
    this.bom = sample.subarray(0, 3).equals(UTF8_BOM);
    if (this.bom) sample = sample.subarray(3);
    // Cut at a character boundary: the sample may end mid-character.
    const text = new TextDecoder('utf-8').decode(sample, { stream: !atEnd });
    const delimiter = detectDelimiter(sample, atEnd);
    const header = firstRecordFields(text, delimiter, atEnd);
    if (!header) {
      if (atEnd) {
        return text.trim() === ''
          ? 'The file holds no data (only blank lines)'
          : 'The header row ends inside a quoted field';
      }
      if (this.pendingBytes > HEADER_CAP_BYTES) {
        return 'The first row is longer than 4 MB; this does not look like a CSV file';
      }
      return undefined;
    }
    const reason = headerProblem(header);
    if (reason) return reason;
    this.delimiter = delimiter;
    this.header = header;
    this.checker = new CsvFieldChecker(delimiter.charCodeAt(0), header.length);
    this.pending = [];
    this.pendingBytes = 0;
    this.phase = 'csv-scan';
    return this.scan(sample);
  }

  private scan(chunk: Buffer): string | undefined {
    const checker = this.checker!;
    return checker.scan(chunk) ? undefined : this.rowProblem(checker);
  }

  /** Rows are counted from the header, row 1. */
  private rowProblem(checker: CsvFieldChecker): string {
    const fields = checker.mismatch!;
    return `Row ${checker.records} has ${fields} field${fields === 1 ? '' : 's'}; the header has ${this.header.length}`;
  }

  private keepParquetTail(chunk: Buffer): void {
    this.parquetTail =
      chunk.length >= 8
        ? Buffer.from(chunk.subarray(chunk.length - 8))
        : Buffer.concat([this.parquetTail, chunk]).subarray(-8);
  }

  private endParquet(): string | undefined {
    const tail = this.parquetTail;
    if (this.bytes < 12 || !tail.subarray(4).equals(PARQUET_MAGIC)) {
      return `${PARQUET_DAMAGED}: it does not end with the Parquet marker`;
    }
    const footerLength = tail.readUInt32LE(0);
    if (footerLength === 0 || footerLength > this.bytes - 12) {
      return `${PARQUET_DAMAGED}: the footer length (${footerLength} bytes) does not fit in the file`;
    }
    this.phase = 'done';
    this.result = {
      ok: true,
      format: 'parquet',
      encoding: 'binary',
      bytes: this.bytes
    };
    return undefined;
  }
}

export const BINARY_REASON = 'This looks like a binary file, not CSV';
export const PARQUET_DAMAGED = 'The Parquet file is truncated or damaged';

/** Binary content recognised from the first bytes. */
function binaryReason(start: Buffer): string | undefined {
  if (
    start.length >= 2 &&
    ((start[0] === 0xff && start[1] === 0xfe) ||
      (start[0] === 0xfe && start[1] === 0xff))
  ) {
    return 'The file is UTF-16 text; save it as UTF-8';
  }
  const sample = start.subarray(0, SAMPLE_BYTES);
  let control = 0;
  for (const byte of sample) {
    if (
      byte < 0x20 &&
      byte !== 0x09 &&
      byte !== 0x0a &&
      byte !== 0x0d &&
      byte !== 0x0c
    ) {
      control++;
    }
  }
  return control > sample.length * BINARY_CONTROL_SHARE
    ? BINARY_REASON
    : undefined;
}

function headerProblem(header: string[]): string | undefined {
  const unnamed = header.findIndex(name => name.trim() === '');
  if (unnamed !== -1) {
    return `Column ${unnamed + 1} of the header has no name; every column needs one`;
  }
  // Case-insensitive, as the profiler's SQL engine treats column names.
  const seen = new Map<string, number>();
  const repeated: string[] = [];
  for (const name of header) {
    const key = name.trim().toLowerCase();
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count === 2) repeated.push(name);
  }
  if (repeated.length > 0) {
    return `The header repeats column names: ${repeated.join(', ')}`;
  }
  return undefined;
}

function megabytes(bytes: number): string {
  const value = bytes / (1024 * 1024);
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
