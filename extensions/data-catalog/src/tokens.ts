import type { IDatasetRef } from '@insighter/core';
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

/*
 * Wire types of the sidecar's `/api/v1/datasets` (server/src/routes/datasets.ts),
 * as it answers them. The frontend never invents fields.
 */

export type DatasetStatus = 'uploading' | 'validating' | 'ready' | 'failed';

export type DatasetFormat = 'csv' | 'parquet';

/** A value as the profiler reports it: numbers, text, dates (as text), booleans. */
export type DatasetValue = string | number | boolean | null;

export interface IHistogramBin {
  lower: number;
  upper: number;
  count: number;
}

export interface ITopValue {
  value: DatasetValue;
  count: number;
}

/** One column's schema and statistics; the numeric statistics are `null` for other types. */
export interface IDatasetColumn {
  name: string;
  /**
   * The column's type by DuckDB's name: for a CSV, pandas' `read_csv` dtype
   * (int64 `BIGINT`, uint64 `UBIGINT`, float64 `DOUBLE`, bool `BOOLEAN`,
   * object `VARCHAR`); for Parquet, as stored (`DATE`, `TIMESTAMP`, …).
   */
  type: string;
  null_count: number;
  /** Approximate (HyperLogLog) for large columns. */
  distinct_count: number;
  min: DatasetValue;
  max: DatasetValue;
  mean: number | null;
  std: number | null;
  q25: number | null;
  q50: number | null;
  q75: number | null;
  /** Most frequent values first; for text columns. */
  top_values: ITopValue[];
  /** Equal-width bins from min to max; for numeric columns. */
  histogram: IHistogramBin[];
}

/** One uploaded version of a dataset; a file uploaded under an existing name adds the next one. */
export interface IDatasetVersion {
  version: number;
  status: DatasetStatus;
  format: DatasetFormat;
  size_bytes: number;
  row_count: number | null;
  sha256: string | null;
  created_at: string;
  /** The user id of whoever uploaded it. */
  uploaded_by: string;
}

/**
 * One dataset, as `GET /api/v1/datasets/:id` answers it. The top-level
 * fields describe the latest version, or the one asked for with `?version=N`.
 * Listings may leave out `columns`.
 */
export interface IDataset {
  id: string;
  project_id: string;
  name: string;
  description: string;
  owner_id: string;
  created_at: string;
  updated_at: string;
  version: number;
  status: DatasetStatus;
  /** Why the upload failed, in words a person can act on; `null` otherwise. */
  error: string | null;
  format: DatasetFormat;
  file_name: string;
  content_type: string;
  size_bytes: number;
  sha256: string | null;
  row_count: number | null;
  column_count: number | null;
  columns?: IDatasetColumn[];
  profiled_at: string | null;
  /** Every version, oldest first. */
  versions: IDatasetVersion[];
}

/** `GET /api/v1/datasets/:id/preview`: the first rows. */
export interface IDatasetPreview {
  columns: string[];
  rows: DatasetValue[][];
}

/** `PATCH /api/v1/datasets/:id`: any of the fields. */
export interface IDatasetPatch {
  name?: string;
  description?: string;
}

/**
 * - `idle`: nothing asked for yet;
 * - `loading`: the first listing is under way;
 * - `ready`: the listing is in `datasets` (it may be empty);
 * - `error`: the listing failed; `errorOf` says why.
 */
export type ListingStatus = 'idle' | 'loading' | 'ready' | 'error';

/**
 * - `uploading`: the file's bytes are on their way (`loaded` of `total`);
 * - `processing`: all bytes sent; the sidecar validates and profiles them;
 * - `failed`: refused or broken off; `error` says why.
 * A finished upload leaves the list (its dataset is in the catalog); a
 * cancelled one leaves it at once.
 */
export type UploadState = 'uploading' | 'processing' | 'failed';

/** One upload from this page, while it runs or after it failed. */
export interface IUpload {
  /** Unique on this page; not a dataset id. */
  readonly id: string;
  readonly projectId: string;
  readonly fileName: string;
  readonly total: number;
  readonly loaded: number;
  readonly state: UploadState;
  readonly error: string | null;
}

export interface IUploadRequest {
  projectId: string;
  file: File;
  /** The dataset's name; the sidecar takes the file's name when absent. */
  name?: string;
  description?: string;
}

/**
 * The datasets the signed-in person may read, kept current: listed when a
 * view asks, updated from the bus's dataset events (which the sidecar pushes
 * for every dataset row-level security lets this person read), cleared on
 * sign-out. Uploads from this page are tracked here too, with their
 * progress. Views render it; none of them asks the sidecar itself.
 */
export interface IDataCatalog {
  /** Fires after every change of datasets, listings, uploads or selection. */
  readonly changed: ISignal<IDataCatalog, void>;
  /** Every listed dataset (latest version each), most recently updated first. */
  readonly datasets: readonly IDataset[];
  readonly uploads: readonly IUpload[];
  /** The dataset chosen last (announced on the bus as `dataset.selected`). */
  readonly selected: IDatasetRef | null;

  /** The datasets of one project, or of all when `projectId` is `null`. */
  datasetsOf(projectId: string | null): readonly IDataset[];
  /** The uploads into one project, or into any when `projectId` is `null`. */
  uploadsOf(projectId: string | null): readonly IUpload[];
  find(datasetId: string): IDataset | undefined;
  /** Where the listing of one project (or of all, `null`) stands. */
  statusOf(projectId: string | null): ListingStatus;
  /** Why that listing failed; `null` unless its status is `error`. */
  errorOf(projectId: string | null): string | null;
  /** Who owns a dataset as people read it ("You", a teammate's name); `null` while unknown. */
  ownerName(dataset: Pick<IDataset, 'owner_id' | 'project_id'>): string | null;

  /** Lists the datasets of one project, or of all the person may read. */
  refresh(projectId?: string | null): Promise<void>;
  /** One dataset with its columns, latest version or `version`; updates the list. */
  fetch(datasetId: string, version?: number | null): Promise<IDataset>;
  preview(
    datasetId: string,
    options?: { version?: number | null; limit?: number }
  ): Promise<IDatasetPreview>;

  /**
   * Sends a file; resolves with the Ready dataset. Rejects with the
   * sidecar's `SidecarError` (its message is for people), or with an
   * `AbortError` when cancelled.
   */
  upload(request: IUploadRequest): Promise<IDataset>;
  /** Breaks off an upload: nothing of it remains. */
  cancelUpload(uploadId: string): void;
  /** Forgets a failed upload (its message goes away). */
  dismissUpload(uploadId: string): void;

  /** Rejects with the sidecar's `SidecarError` (e.g. 409 for a name that is taken). */
  update(datasetId: string, patch: IDatasetPatch): Promise<IDataset>;
  /** Deletes every version and the stored files. */
  remove(datasetId: string): Promise<void>;
  removeVersion(datasetId: string, version: number): Promise<void>;

  /** Chooses a dataset (or none) and announces it on the bus. */
  select(dataset: Pick<IDataset, 'id' | 'project_id' | 'name'> | null): void;
}

export const IDataCatalog = new Token<IDataCatalog>(
  '@insighter/data-catalog:IDataCatalog',
  "The person's datasets and uploads, kept current by the sidecar's dataset events."
);
