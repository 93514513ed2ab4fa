import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  StorageCallError,
  storageFailure,
  type AS_SERVICE,
  type DatasetFiles
} from '../adapters/dataset-files';

export { AS_SERVICE } from '../adapters/dataset-files';
import {
  deleteDataset,
  deleteVersion,
  findDataset,
  findDatasetRecord,
  findStoredVersion,
  listDatasets,
  canWriteProject,
  updateDataset,
  versionObjects,
  type DatasetRecord,
  type StoredVersion
} from '../adapters/datasets-store';
import { errorMessage, sqlState, SqlState } from '../db/errors';
import type { Database, JwtClaims } from '../db/types';
import type { EventHub, EventResource } from '../events/hub';
import { HttpError } from '../http/errors';
import type { Logger } from '../logger';
import {
  DatasetIngest,
  PREVIEW_ROWS,
  type IngestRequest
} from './datasets-ingest';

/**
 * The data catalog: datasets of projects, their versions, files, profiles
 * and previews, as the signed-in user. Row-level security decides who sees
 * and changes what (and Storage's, who reads and deletes the files); this
 * layer turns refusals into answers a person understands and announces
 * changes on the event hub once they are committed.
 */
export interface DatasetsServiceOptions {
  db: Database;
  events: EventHub;
  files: DatasetFiles;
  dataDir: string;
  maxUploadBytes: number;
  logger: Logger;
}

export interface DatasetPatch {
  name?: string;
  description?: string;
}

/** A file ready to be sent: its length and tag, and a way to read any range of it. */
export interface DatasetContent {
  fileName: string;
  contentType: string;
  size: number;
  eTag: string;
  read(
    range: { start: number; end: number } | undefined,
    signal: AbortSignal
  ): Promise<Readable>;
  /** Called once the answer is sent (or abandoned). */
  release(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const datasetNotFound = () =>
  new HttpError(404, 'Dataset not found.', 'not_found');

export class DatasetsService {
  readonly ingest: DatasetIngest;
  private readonly db: Database;
  private readonly events: EventHub;
  private readonly files: DatasetFiles;

  constructor(options: DatasetsServiceOptions) {
    this.db = options.db;
    this.events = options.events;
    this.files = options.files;
    this.ingest = new DatasetIngest(options);
  }

  async list(
    user: JwtClaims,
    projectId: string | null
  ): Promise<DatasetRecord[]> {
    if (projectId !== null && !UUID.test(projectId)) {
      throw new HttpError(
        400,
        'project_id must be the id of a project.',
        'invalid_input'
      );
    }
    return this.db.withClaims(user, tx => listDatasets(tx, projectId));
  }

  async get(
    user: JwtClaims,
    id: string,
    version: number | null
  ): Promise<DatasetRecord> {
    assertDatasetId(id);
    const record = await this.db.withClaims(user, tx =>
      findDatasetRecord(tx, id, version)
    );
    if (!record) {
      throw version === null ? datasetNotFound() : versionNotFound(version);
    }
    return record;
  }

  /** Receives a file as a new dataset, or as the next version of the one of that name. */
  async upload(request: IngestRequest): Promise<DatasetRecord> {
    const result = await this.ingest.ingest(request);
    this.events.publish({
      type: 'dataset.uploaded',
      payload: {
        datasetId: result.dataset.id,
        projectId: result.dataset.project_id,
        name: result.dataset.name,
        version: result.version,
        sizeBytes: result.sizeBytes,
        rowCount: result.rowCount,
        timestamp: Date.now()
      },
      resource: resourceOf(result.dataset.id)
    });
    return this.get(request.user, result.dataset.id, result.version);
  }

  async update(
    user: JwtClaims,
    id: string,
    patch: DatasetPatch
  ): Promise<DatasetRecord> {
    assertDatasetId(id);
    await this.db
      .withClaims(user, async tx => {
        if (!(await findDataset(tx, id))) {
          throw datasetNotFound();
        }
        if (!(await updateDataset(tx, id, patch))) {
          throw cannotChange();
        }
      })
      .catch(err => {
        throw translate(err);
      });
    const record = await this.get(user, id, null);
    this.events.publish({
      type: 'dataset.updated',
      payload: {
        datasetId: record.id,
        projectId: record.project_id,
        name: record.name,
        timestamp: Date.now()
      },
      resource: resourceOf(record.id)
    });
    return record;
  }

  /**
   * Deletes the dataset (`version` null) or one version, files first: the
   * Storage policy that lets a teammate delete them asks the rows.
   * Deleting the last version deletes the dataset.
   */
  async remove(
    user: JwtClaims,
    token: string,
    id: string,
    version: number | null
  ): Promise<void> {
    assertDatasetId(id);
    const target = await this.db.withClaims(user, async tx => {
      const dataset = await findDataset(tx, id);
      if (!dataset) {
        throw datasetNotFound();
      }
      if (!(await canWriteProject(tx, dataset.project_id))) {
        throw cannotChange();
      }
      const all = await versionObjects(tx, id, null);
      const chosen =
        version === null ? all : all.filter(v => v.version === version);
      if (version !== null && chosen.length === 0) {
        throw versionNotFound(version);
      }
      if (version !== null && chosen[0].status !== 'ready') {
        throw new HttpError(
          409,
          `Version ${version} is still uploading: wait for it to finish, or cancel the upload.`,
          'conflict'
        );
      }
      return { dataset, chosen, wholeDataset: chosen.length === all.length };
    });
    const { dataset, chosen, wholeDataset } = target;
    const resource = resourceOf(id);
    const formerReaders = wholeDataset
      ? await this.events.readersOf(resource)
      : undefined;
    await this.files
      .remove(
        token,
        chosen.map(v => v.object_path)
      )
      .catch(err => {
        throw err instanceof StorageCallError
          ? storageFailure(err, 'delete the file')
          : err;
      });
    await this.db
      .withClaims(user, tx =>
        wholeDataset ? deleteDataset(tx, id) : deleteVersion(tx, id, version!)
      )
      .catch(err => {
        throw translate(err);
      });
    this.events.publish({
      type: 'dataset.deleted',
      payload: {
        datasetId: dataset.id,
        projectId: dataset.project_id,
        name: dataset.name,
        ...(wholeDataset ? {} : { version: version! }),
        timestamp: Date.now()
      },
      resource,
      formerReaders,
      rowGone: wholeDataset
    });
  }

  async preview(
    user: JwtClaims,
    id: string,
    version: number | null,
    limit: number
  ): Promise<{ columns: string[]; rows: unknown[][] }> {
    const stored = await this.readyVersion(user, id, version);
    const preview = stored.preview ?? { columns: [], rows: [] };
    return {
      columns: preview.columns,
      rows: preview.rows.slice(0, Math.min(limit, PREVIEW_ROWS))
    };
  }

  /**
   * A version's file as stored, or (`asCsv`) as comma-separated CSV with a
   * header: Parquet, or CSV with another delimiter, is converted by DuckDB
   * into a temporary file first, so every kernel can `pandas.read_csv` it.
   */
  async content(
    user: JwtClaims,
    token: string | typeof AS_SERVICE,
    id: string,
    version: number | null,
    asCsv: boolean
  ): Promise<DatasetContent> {
    const stored = await this.readyVersion(user, id, version);
    const original =
      stored.format === 'csv' && (stored.delimiter ?? ',') === ',';
    if (!asCsv || original) {
      return {
        fileName: stored.file_name,
        contentType: stored.content_type,
        size: stored.size_bytes ?? 0,
        eTag: `"${stored.sha256}"`,
        read: (range, signal) =>
          this.files
            .download(token, stored.object_path, { range, signal })
            .catch(err => {
              throw err instanceof StorageCallError
                ? storageFailure(err, 'read the file')
                : err;
            }),
        release: async () => undefined
      };
    }
    return this.convertToCsv(token, stored);
  }

  private async convertToCsv(
    token: string | typeof AS_SERVICE,
    stored: StoredVersion
  ): Promise<DatasetContent> {
    const work = await fsp.mkdtemp(path.join(this.ingest.workDir, 'convert-'));
    const release = () => fsp.rm(work, { recursive: true, force: true });
    try {
      const source = path.join(work, `source.${stored.format}`);
      const target = path.join(work, 'converted.csv');
      const bytes = await this.files
        .download(token, stored.object_path)
        .catch(err => {
          throw err instanceof StorageCallError
            ? storageFailure(err, 'read the file')
            : err;
        });
      await pipeline(bytes, fs.createWriteStream(source, { flags: 'wx' }));
      await copyAsCsv(source, target, stored, work);
      const { size } = await fsp.stat(target);
      return {
        fileName: stored.file_name.replace(/\.[^.]*$/, '') + '.csv',
        contentType: 'text/csv; charset=utf-8',
        size,
        eTag: `"${stored.sha256}-csv"`,
        read: async range => fs.createReadStream(target, range),
        release
      };
    } catch (err) {
      await release();
      throw err;
    }
  }

  private async readyVersion(
    user: JwtClaims,
    id: string,
    version: number | null
  ): Promise<StoredVersion> {
    assertDatasetId(id);
    const stored = await this.db.withClaims(user, tx =>
      findStoredVersion(tx, id, version)
    );
    if (!stored) {
      throw version === null ? datasetNotFound() : versionNotFound(version);
    }
    if (stored.status !== 'ready') {
      throw new HttpError(
        409,
        `Version ${stored.version} is still ${stored.status}: try again once it is ready.`,
        'not_ready'
      );
    }
    return stored;
  }
}

/** DuckDB writes the CSV: one streaming pass, within its memory limit. */
async function copyAsCsv(
  source: string,
  target: string,
  stored: StoredVersion,
  work: string
): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '2',
    memory_limit: '256MB',
    temp_directory: path.join(work, 'spill')
  });
  const connection = await instance.connect();
  try {
    // Values of a CSV pass through as text, exactly as written.
    const read =
      stored.format === 'parquet'
        ? `read_parquet(${sqlString(source)})`
        : `read_csv(${sqlString(source)}, header = true, all_varchar = true, delim = ${sqlString(stored.delimiter ?? ',')})`;
    await connection.run(
      `COPY (SELECT * FROM ${read}) TO ${sqlString(target)} (FORMAT csv, HEADER true, DELIMITER ',')`
    );
  } catch (err) {
    throw new HttpError(
      500,
      `The file could not be converted to CSV: ${errorMessage(err).split('\n')[0]}`,
      'conversion_failed'
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function resourceOf(id: string): EventResource {
  return { table: 'datasets', id };
}

/** Ids that cannot be a dataset's are unknown datasets, not bad requests. */
function assertDatasetId(id: string): void {
  if (!UUID.test(id)) {
    throw datasetNotFound();
  }
}

function versionNotFound(version: number): HttpError {
  return new HttpError(
    404,
    `Dataset or its version ${version} not found.`,
    'not_found'
  );
}

function cannotChange(): HttpError {
  return new HttpError(
    403,
    'You can see this dataset but not change it: ask a team admin to make you a member of its team.',
    'forbidden'
  );
}

function translate(err: unknown): unknown {
  if (err instanceof HttpError) {
    return err;
  }
  switch (sqlState(err)) {
    case SqlState.uniqueViolation:
      return new HttpError(
        409,
        'Another dataset in this project already has that name.',
        'conflict'
      );
    case SqlState.insufficientPrivilege:
      return cannotChange();
    case SqlState.checkViolation:
    case SqlState.stringTooLong:
      return new HttpError(
        400,
        'The dataset does not meet the rules for its fields.',
        'invalid_input'
      );
    default:
      return err;
  }
}
