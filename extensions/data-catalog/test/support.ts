import type { IDatasetUploadHandle } from '../src/upload';
import type { IDataset, IDatasetColumn } from '../src/tokens';

export {
  ADA,
  GRACE,
  refusal,
  SessionStub,
  SidecarStub,
  until
} from '../../projects/test/support';

export const PROJECT = '00000000-0000-4000-8000-0000000000aa';
export const OTHER_PROJECT = '00000000-0000-4000-8000-0000000000bb';

let counter = 0;

export function column(
  overrides: Partial<IDatasetColumn> = {}
): IDatasetColumn {
  return {
    name: 'Amount',
    type: 'BIGINT',
    null_count: 0,
    distinct_count: 921,
    min: 250,
    max: 18424,
    mean: 3271.258,
    std: 2822.7369,
    q25: 1365.5,
    q50: 2319.5,
    q75: 3972.25,
    top_values: [],
    histogram: [
      { lower: 250, upper: 4667, count: 805 },
      { lower: 4667, upper: 9085, count: 150 },
      { lower: 9085, upper: 18424, count: 45 }
    ],
    ...overrides
  };
}

export function dataset(overrides: Partial<IDataset> = {}): IDataset {
  counter++;
  const id =
    overrides.id ??
    `00000000-0000-4000-9000-${String(counter).padStart(12, '0')}`;
  const version = overrides.version ?? 1;
  return {
    id,
    project_id: PROJECT,
    name: `data-${counter}.csv`,
    description: '',
    owner_id: 'u-ada',
    created_at: '2026-11-01T10:00:00.000Z',
    updated_at: `2026-11-01T10:00:${String(counter % 60).padStart(2, '0')}.000Z`,
    version,
    status: 'ready',
    error: null,
    format: 'csv',
    file_name: 'german_credit.csv',
    content_type: 'text/csv',
    size_bytes: 128_000,
    sha256: 'ab'.repeat(32),
    row_count: 1000,
    column_count: 62,
    profiled_at: '2026-11-01T10:00:01.000Z',
    versions: Array.from({ length: version }, (_, i) => ({
      version: i + 1,
      status: 'ready' as const,
      format: 'csv' as const,
      size_bytes: 128_000,
      row_count: 1000,
      sha256: 'ab'.repeat(32),
      created_at: '2026-11-01T10:00:00.000Z',
      uploaded_by: 'u-ada'
    })),
    ...overrides
  };
}

/**
 * Stands in for `uploadDataset` in the model's tests: each upload waits
 * until the test reports progress, answers, refuses or sees it aborted.
 */
export class UploaderStub {
  readonly started: FakeUpload[] = [];

  readonly upload = (options: {
    projectId: string;
    file: File;
    name?: string;
    onProgress?: (loaded: number, total: number) => void;
  }): IDatasetUploadHandle => {
    const upload = new FakeUpload(options);
    this.started.push(upload);
    return upload;
  };
}

export class FakeUpload implements IDatasetUploadHandle {
  readonly done: Promise<IDataset>;
  aborted = false;
  private _resolve!: (dataset: IDataset) => void;
  private _reject!: (reason: unknown) => void;

  constructor(
    readonly options: {
      projectId: string;
      file: File;
      name?: string;
      onProgress?: (loaded: number, total: number) => void;
    }
  ) {
    this.done = new Promise<IDataset>((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
  }

  progress(loaded: number): void {
    this.options.onProgress?.(loaded, this.options.file.size);
  }

  succeed(dataset: IDataset): void {
    this._resolve(dataset);
  }

  fail(reason: unknown): void {
    this._reject(reason);
  }

  abort(): void {
    this.aborted = true;
    const error = new Error('The upload was cancelled.');
    error.name = 'AbortError';
    this._reject(error);
  }
}

/** A file of `size` bytes, as a drop or the file picker gives it. */
export function file(name: string, size = 1000): File {
  return new File([new Uint8Array(size)], name, { type: 'text/csv' });
}

/** Lets pending promise callbacks run. */
export function settle(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}
