import { randomUUID } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  PassThrough,
  Transform,
  Writable,
  type Readable,
  type TransformCallback
} from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import {
  StorageCallError,
  storageFailure,
  type DatasetFiles
} from '../adapters/dataset-files';
import {
  deleteEmptyDatasets,
  discardVersion,
  insertVersion,
  lockOrCreateDataset,
  markReady,
  markValidating,
  nextVersionNumber,
  projectAccess,
  unfinishedVersions,
  type ColumnStats,
  type DatasetFormat,
  type DatasetRow
} from '../adapters/datasets-store';
import { profileDataset, type DatasetProfile } from '../datasets/profile';
import {
  checkParquetFooter,
  DatasetValidationError,
  ThreadedValidator
} from '../datasets/validate';
import { errorMessage, sqlState, SqlState } from '../db/errors';
import type { Database, JwtClaims } from '../db/types';
import { HttpError } from '../http/errors';
import type { Logger } from '../logger';

/**
 * Receiving a dataset file. The body streams once through a size limit
 * and, on a worker thread, the content validator, SHA-256 and (a CSV's)
 * profile into Storage (as the user, through supabase-js): a CSV's profile
 * is ready when its last byte is stored. A Parquet file is profiled by
 * DuckDB once the last byte is in: with the sidecar's own Storage it reads
 * the stored object where it lies; with a hosted project's, a spool file
 * in the data dir written beside the upload (reading the object back
 * would download it again). Nothing holds the whole file in memory. The version row is visible from the first byte on
 * (`uploading`, then `validating`, then `ready`); whatever fails or is
 * abandoned takes its row, its object and its spool file with it.
 */
export interface IngestRequest {
  user: JwtClaims;
  /** The user's access token: Storage is called as them. */
  token: string;
  projectId: string;
  name: string;
  description?: string;
  /** The uploaded file's own name (multipart), if any. */
  fileName?: string;
  body: Readable;
  /** The body's declared length, when known: too large is refused unread. */
  declaredBytes?: number;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** What a finished upload made: the dataset and its new version. */
export interface IngestResult {
  dataset: DatasetRow;
  version: number;
  sizeBytes: number;
  rowCount: number;
}

export interface IngestOptions {
  db: Database;
  files: DatasetFiles;
  dataDir: string;
  maxUploadBytes: number;
  logger: Logger;
  /** Rows of the preview kept with each version (the preview route's upper limit). */
  previewRows?: number;
}

export const PREVIEW_ROWS = 100;

const PARQUET_MAGIC = Buffer.from('PAR1');
/** Throughput: fewer, larger writes to the spool file and the Storage request. */
const STREAM_BUFFER_BYTES = 1024 * 1024;
/** Uploads of other sidecars (sharing one database) count as abandoned after this. */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;
/** Concurrent uploads under one name retry when the dataset vanished under them. */
const CREATE_ATTEMPTS = 3;

/** The client went away: nobody reads the answer. */
export class ClientGone extends Error {
  constructor() {
    super('The client went away before the upload finished.');
  }
}

class TooLarge extends Error {}

export class DatasetIngest {
  private readonly tmpDir: string;
  private readonly instanceFile: string;
  private instance = '';
  /** One DuckDB (Parquet) profile at a time: each may use the machine's cores and 256 MB. */
  private profiling: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: IngestOptions) {
    this.tmpDir = path.join(options.dataDir, 'datasets', 'tmp');
    this.instanceFile = path.join(options.dataDir, 'datasets', 'instance-id');
  }

  /** Where spool files and DuckDB's work live; emptied at start. */
  get workDir(): string {
    return this.tmpDir;
  }

  /**
   * Before the server listens: empties the work folder (this process holds
   * the data dir, so nothing in it is in use) and reads this sidecar's id.
   */
  async prepare(): Promise<void> {
    await fsp.rm(this.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
    try {
      this.instance = (await fsp.readFile(this.instanceFile, 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw err;
      }
    }
    if (!this.instance) {
      this.instance = randomUUID();
      await fsp.writeFile(this.instanceFile, `${this.instance}\n`, {
        mode: 0o600
      });
    }
  }

  /**
   * After a crash or kill: removes the uploads this sidecar was receiving
   * before `startedAt` (and anyone's abandoned for a day) with their stored
   * objects, then datasets left without any version.
   */
  async sweep(
    startedAt: Date
  ): Promise<{ versions: number; datasets: number }> {
    const { db, files } = this.options;
    const staleBefore = new Date(startedAt.getTime() - ABANDONED_AFTER_MS);
    const unfinished = await db.asService(tx =>
      unfinishedVersions(tx, this.instance, startedAt, staleBefore)
    );
    let datasets = 0;
    if (unfinished.length > 0) {
      // Objects first: once the rows are gone nothing points at them.
      await files.removeAsService(unfinished.map(v => v.object_path));
      await db.asService(async tx => {
        for (const version of unfinished) {
          if (await discardVersion(tx, version.id)) {
            datasets += 1;
          }
        }
      });
    }
    datasets += await db.asService(tx => deleteEmptyDatasets(tx, startedAt));
    return { versions: unfinished.length, datasets };
  }

  async ingest(request: IngestRequest): Promise<IngestResult> {
    const { db, maxUploadBytes } = this.options;
    if (
      request.declaredBytes !== undefined &&
      request.declaredBytes > maxUploadBytes
    ) {
      throw tooLarge(maxUploadBytes);
    }
    const access = await db.withClaims(request.user, tx =>
      projectAccess(tx, request.projectId)
    );
    if (!access.readable) {
      throw new HttpError(404, 'Project not found.', 'not_found');
    }
    if (!access.writable) {
      throw new HttpError(
        403,
        'You can see this project but not add data to it: ask a team admin to make you a member of its team.',
        'forbidden'
      );
    }

    const upload = new Upload(this, request);
    const startedAt = performance.now();
    const startCpu = process.cpuUsage();
    try {
      const validator = new ThreadedValidator({
        profile: { previewRows: this.options.previewRows ?? PREVIEW_ROWS }
      });
      const limit = new ByteLimit(maxUploadBytes);
      const flowing = pipeline(limit, validator, upload.sink());
      const detach = feed(request.body, limit, request.signal);
      try {
        await flowing;
      } finally {
        detach();
      }
      const result = validator.result;
      if (!result?.ok) {
        throw invalidFile(result?.reason ?? 'The file could not be read');
      }
      const receivedAt = performance.now();
      const receiveCpu = process.cpuUsage(startCpu);
      await upload.validating();
      let profile = validator.profile;
      if (result.format === 'parquet') {
        const footer = await checkParquetFooter(upload.profiledFile);
        if (!footer.ok) {
          throw invalidFile(footer.reason);
        }
        profile = await this.profileParquet(upload.profiledFile, footer.rows);
      }
      if (!profile) {
        throw invalidFile('The file could not be profiled');
      }
      if (request.signal.aborted) {
        throw new ClientGone();
      }
      const ready = await upload.ready(
        result.format === 'csv' ? result.delimiter : null,
        validator.sha256,
        profile
      );
      const doneAt = performance.now();
      const totalCpu = process.cpuUsage(startCpu);
      // Throughput of each stage, for operators and the benchmark: receiving
      // (with a CSV's validation and profile), then what follows the last
      // byte (a Parquet's profile). CPU time is the whole process's (its
      // threads included), so it says more than wall time on a busy machine.
      this.options.logger.info(
        {
          datasetId: ready.dataset.id,
          version: ready.version,
          bytes: ready.sizeBytes,
          rows: ready.rowCount,
          receiveMs: Math.round(receivedAt - startedAt),
          profileMs: Math.round(doneAt - receivedAt),
          receiveCpuMs: cpuMs(receiveCpu),
          profileCpuMs: cpuMs(totalCpu) - cpuMs(receiveCpu)
        },
        'dataset ready'
      );
      return ready;
    } catch (err) {
      await upload.discard();
      throw translate(err, request, maxUploadBytes);
    } finally {
      await upload.removeSpool();
    }
  }

  /** DuckDB's profile of a stored Parquet file, after those queued before it. */
  private profileParquet(file: string, rows: number): Promise<DatasetProfile> {
    const run = this.profiling.then(() =>
      profileDataset(file, 'parquet', {
        rows,
        workDir: this.tmpDir,
        previewRows: this.options.previewRows ?? PREVIEW_ROWS
      }).catch(err => {
        throw invalidFile(
          `The file could not be read as Parquet: ${duckdbMessage(err)}`
        );
      })
    );
    this.profiling = run.catch(() => undefined);
    return run;
  }

  /** For `Upload`: the pieces it needs. */
  get context() {
    return { ...this.options, tmpDir: this.tmpDir, instance: this.instance };
  }
}

/**
 * One upload's state: made on its first bytes (the format is known from
 * them), undone by `discard()` whatever stage it reached.
 */
class Upload {
  private readonly ctx: DatasetIngest['context'];
  /** The first bytes' database work, while it runs: a failure must wait for it. */
  private beginning: Promise<void> | undefined;
  private dataset: (DatasetRow & { created: boolean }) | undefined;
  private versionId: string | undefined;
  private version = 0;
  private objectPath = '';
  private toStorage: PassThrough | undefined;
  private stored: Promise<void> | undefined;
  private storedOk = false;
  private storageError: unknown;
  private spool: fs.WriteStream | undefined;
  private bytes = 0;
  private readonly spoolPath: string;
  /** What DuckDB reads once all is stored: the local object, else the spool. */
  private localObject: string | undefined;

  constructor(
    ingest: DatasetIngest,
    private readonly request: IngestRequest
  ) {
    this.ctx = ingest.context;
    this.spoolPath = path.join(this.ctx.tmpDir, `${randomUUID()}.upload`);
  }

  /** The stored bytes as a file on this machine, for the checks after the upload. */
  get profiledFile(): string {
    return this.localObject ?? this.spoolPath;
  }

  /** The end of the pipeline: writes every chunk to Storage (and the spool). */
  sink(): Writable {
    let head: Buffer[] = [];
    let headBytes = 0;
    const write = async (chunk: Buffer) => {
      if (!this.versionId) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes < PARQUET_MAGIC.length) {
          return;
        }
        chunk = Buffer.concat(head);
        head = [];
        await (this.beginning = this.begin(chunk));
      }
      await this.forward(chunk);
    };
    return new Writable({
      highWaterMark: STREAM_BUFFER_BYTES,
      write: (chunk: Buffer, _encoding, done) => {
        write(chunk).then(() => done(), done);
      },
      final: done => {
        (async () => {
          if (!this.versionId) {
            // A file shorter than the Parquet marker (the validator refuses
            // such files, so this is only reached for a valid tiny CSV).
            const rest = Buffer.concat(head);
            await (this.beginning = this.begin(rest));
            await this.forward(rest);
          }
          this.toStorage!.end();
          this.spool?.end();
          await Promise.all([this.stored, this.spool && finished(this.spool)]);
        })().then(() => done(), done);
      },
      destroy: (err, done) => {
        this.abortStreams(err ?? new Error('The upload stopped.'));
        done(err);
      }
    });
  }

  /** Creates the dataset (if new) and the version row, and opens both outputs. */
  private async begin(first: Buffer): Promise<void> {
    const { request } = this;
    const format: DatasetFormat = first.subarray(0, 4).equals(PARQUET_MAGIC)
      ? 'parquet'
      : 'csv';
    const fileName = displayFileName(request.fileName ?? request.name, format);
    const contentType =
      format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet';
    const uploader = request.user.sub;
    for (let attempt = 1; ; attempt++) {
      const created = await this.ctx.db.withClaims(request.user, async tx => {
        const dataset = await lockOrCreateDataset(tx, {
          projectId: request.projectId,
          name: request.name,
          description: request.description
        });
        if (!dataset) {
          return undefined;
        }
        const version = await nextVersionNumber(tx, dataset.id);
        const objectPath = [
          uploader,
          dataset.id,
          ...(version > 1 ? [`v${version}`] : []),
          objectFileName(fileName)
        ].join('/');
        const row = await insertVersion(tx, {
          dataset_id: dataset.id,
          version,
          format,
          file_name: fileName,
          content_type: contentType,
          object_path: objectPath,
          ingest_instance: this.ctx.instance
        });
        return { dataset, version, objectPath, versionId: row.id };
      });
      if (created) {
        this.dataset = created.dataset;
        this.version = created.version;
        this.objectPath = created.objectPath;
        this.versionId = created.versionId;
        break;
      }
      if (attempt >= CREATE_ATTEMPTS) {
        throw new HttpError(
          409,
          'Another upload under this name was removed at the same moment: try again.',
          'conflict'
        );
      }
    }
    this.localObject = this.ctx.files.localFile(this.objectPath);
    if (!this.localObject) {
      this.spool = fs.createWriteStream(this.spoolPath, {
        flags: 'wx',
        mode: 0o600,
        highWaterMark: STREAM_BUFFER_BYTES
      });
      this.spool.on('error', () => undefined);
    }
    this.toStorage = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    this.stored = this.ctx.files
      .upload(request.token, this.objectPath, this.toStorage, contentType)
      .then(
        () => {
          this.storedOk = true;
        },
        err => {
          this.storageError = err;
          throw err;
        }
      );
    // Observed here; `forward` and `final` rethrow it where it matters.
    this.stored.catch(() => undefined);
  }

  /** Writes to the outputs, waiting while one is full (or Storage failed). */
  private async forward(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) {
      return;
    }
    this.bytes += chunk.length;
    const waits: Promise<unknown>[] = [];
    if (this.spool && !this.spool.write(chunk)) {
      waits.push(drained(this.spool));
    }
    if (!this.toStorage!.write(chunk)) {
      waits.push(drained(this.toStorage!));
    }
    if (waits.length > 0) {
      // Storage refusing mid-way (e.g. its own size limit) must not leave us waiting.
      await Promise.race([
        Promise.all(waits),
        this.stored!.then(() => undefined)
      ]);
    }
    if (this.storageError) {
      throw this.storageError;
    }
  }

  async validating(): Promise<void> {
    const moved = await this.ctx.db.withClaims(this.request.user, tx =>
      markValidating(tx, this.versionId!)
    );
    if (!moved) {
      throw deletedMeanwhile();
    }
  }

  async ready(
    delimiter: string | null,
    sha256: string,
    profile: DatasetProfile
  ): Promise<IngestResult> {
    const done = await this.ctx.db.withClaims(this.request.user, tx =>
      markReady(tx, this.versionId!, {
        delimiter,
        size_bytes: this.bytes,
        sha256,
        row_count: profile.row_count,
        column_count: profile.column_count,
        columns: profile.columns.map(columnStats),
        preview: profile.preview
      })
    );
    if (!done) {
      throw deletedMeanwhile();
    }
    return {
      dataset: this.dataset!,
      version: this.version,
      sizeBytes: this.bytes,
      rowCount: profile.row_count
    };
  }

  /** Undoes whatever was made: the upload in flight, the object, the rows. */
  async discard(): Promise<void> {
    // The pipeline may fail (a bad row, a client gone) while the first
    // bytes' rows are being written: wait, then undo those too.
    await this.beginning?.catch(() => undefined);
    if (!this.versionId) {
      return;
    }
    this.abortStreams(new Error('The upload was discarded.'));
    await this.stored?.catch(() => undefined);
    const { logger, db, files } = this.ctx;
    if (this.storedOk) {
      await files.remove(this.request.token, [this.objectPath]).catch(err =>
        // The row goes anyway; the object is then an orphan in the
        // uploader's folder, which they can still see and delete.
        logger.warn(
          { err: errorMessage(err), object: this.objectPath },
          'datasets: could not remove the object of a failed upload'
        )
      );
    }
    // As the service: exactly the rows this upload made, even if the user's
    // rights changed meanwhile.
    await db
      .asService(tx => discardVersion(tx, this.versionId!))
      .catch(err =>
        logger.error(
          { err: errorMessage(err), version: this.versionId },
          'datasets: could not remove the row of a failed upload (the start-up sweep will)'
        )
      );
    this.versionId = undefined;
  }

  async removeSpool(): Promise<void> {
    if (this.spool && !this.spool.closed) {
      this.spool.destroy();
      await finished(this.spool).catch(() => undefined);
    }
    await fsp.rm(this.spoolPath, { force: true });
  }

  private abortStreams(err: Error): void {
    if (this.toStorage && !this.storedOk) {
      this.toStorage.destroy(err);
    }
    if (this.spool && !this.spool.closed) {
      this.spool.destroy();
    }
  }
}

/** Counts the body's bytes and stops it past the limit (413), before anything is stored. */
class ByteLimit extends Transform {
  private bytes = 0;

  constructor(private readonly limit: number) {
    super({ highWaterMark: STREAM_BUFFER_BYTES });
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: TransformCallback
  ): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      done(new TooLarge());
      return;
    }
    done(null, chunk);
  }
}

/**
 * Pipes the body in by hand, not with pipeline(body, …): a refusal must not
 * destroy the request, so the client still reads the answer (the route
 * drains the rest). A body that closes before its end, or an aborted
 * request, stops the upload as `ClientGone`.
 */
function feed(
  source: Readable,
  into: Writable,
  signal: AbortSignal
): () => void {
  const onError = (err: Error) => into.destroy(err);
  const onClose = () => {
    if (!source.readableEnded) {
      into.destroy(new ClientGone());
    }
  };
  const onAbort = () => into.destroy(new ClientGone());
  source.once('error', onError);
  source.once('close', onClose);
  signal.addEventListener('abort', onAbort, { once: true });
  source.pipe(into);
  return () => {
    source.unpipe(into);
    source.off('error', onError);
    source.off('close', onClose);
    signal.removeEventListener('abort', onAbort);
  };
}

function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      stream.off('drain', onDrain);
      reject(err);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}

/**
 * The name shown for the file (and given to downloads): the uploaded file's
 * own name, or the dataset's, with an extension that matches the content.
 */
export function displayFileName(
  candidate: string,
  format: DatasetFormat
): string {
  const base =
    candidate
      .split(/[\\/]/)
      .pop()!
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
      .normalize('NFC')
      .trim()
      .slice(0, 200) || 'dataset';
  const extensions =
    format === 'csv' ? ['.csv', '.tsv', '.txt'] : ['.parquet', '.pq'];
  return extensions.some(ext => base.toLowerCase().endsWith(ext))
    ? base
    : `${base}.${format}`;
}

/**
 * The file's name inside Storage: characters every Storage accepts in a
 * key (hosted Supabase refuses many), the rest as "_".
 */
export function objectFileName(fileName: string): string {
  const safe = fileName
    .replace(/[^A-Za-z0-9._ ()-]/g, '_')
    .replace(/^[. ]+/, '_')
    .slice(0, 200);
  return safe || 'dataset';
}

/** The profiler's column as the dataset record carries it. */
function columnStats(column: DatasetProfile['columns'][number]): ColumnStats {
  return {
    name: column.name,
    type: column.type,
    null_count: column.null_count,
    distinct_count: column.distinct_approx,
    min: column.min,
    max: column.max,
    mean: column.mean,
    std: column.std,
    q25: column.q25,
    q50: column.q50,
    q75: column.q75,
    top_values: column.top_values ?? null,
    histogram: column.histogram?.bins ?? null
  };
}

function invalidFile(reason: string): HttpError {
  return new HttpError(422, `${reason.replace(/\.$/, '')}.`, 'invalid_file');
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    `The file is larger than the upload limit of ${formatBytes(limit)}.`,
    'too_large'
  );
}

function deletedMeanwhile(): HttpError {
  return new HttpError(
    409,
    'The dataset was deleted while this file was uploading.',
    'conflict'
  );
}

function translate(
  err: unknown,
  request: IngestRequest,
  limit: number
): unknown {
  if (request.signal.aborted && !(err instanceof HttpError)) {
    return new ClientGone();
  }
  if (err instanceof HttpError || err instanceof ClientGone) {
    return err;
  }
  if (err instanceof TooLarge) {
    return tooLarge(limit);
  }
  if (err instanceof DatasetValidationError) {
    return invalidFile(err.reason);
  }
  if (err instanceof StorageCallError) {
    return storageFailure(err, 'store the file');
  }
  switch (sqlState(err)) {
    case SqlState.insufficientPrivilege:
      return new HttpError(
        403,
        'You may not add data to this project.',
        'forbidden'
      );
    case SqlState.checkViolation:
    case SqlState.stringTooLong:
      return new HttpError(
        400,
        'The dataset does not meet the rules for its fields.',
        'invalid_input'
      );
    case SqlState.foreignKeyViolation:
      return new HttpError(404, 'Project not found.', 'not_found');
    default:
      return err;
  }
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return Math.round((usage.user + usage.system) / 1000);
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value} ${units[unit]}`;
}

/** DuckDB's message without its error-class prefix. */
function duckdbMessage(err: unknown): string {
  return errorMessage(err)
    .replace(/^[A-Za-z ]+Error: /, '')
    .split('\n')[0];
}
