import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { formatBytes } from '../format';
import type { IDataCatalog, IUpload } from '../tokens';

export interface IUploadListProps {
  catalog: IDataCatalog;
  uploads: readonly IUpload[];
  trans: TranslationBundle;
}

/** Uploads from this page: a progress bar and Cancel while they run, the sidecar's reason when refused. */
export function UploadList(props: IUploadListProps): React.ReactElement | null {
  const { uploads } = props;
  if (uploads.length === 0) {
    return null;
  }
  return (
    <ul className="jp-insighter-UploadList">
      {uploads.map(upload => (
        <UploadItem key={upload.id} {...props} upload={upload} />
      ))}
    </ul>
  );
}

function UploadItem(
  props: IUploadListProps & { upload: IUpload }
): React.ReactElement {
  const { catalog, upload, trans } = props;
  const percent =
    upload.total > 0 ? Math.floor((upload.loaded / upload.total) * 100) : 0;
  let detail: string;
  switch (upload.state) {
    case 'uploading':
      detail = trans.__(
        'Uploading: %1 of %2 (%3%)',
        formatBytes(upload.loaded),
        formatBytes(upload.total),
        percent
      );
      break;
    case 'processing':
      detail = trans.__(
        'Checking and profiling %1…',
        formatBytes(upload.total)
      );
      break;
    case 'failed':
      detail = trans.__('Not uploaded');
      break;
  }
  return (
    <li
      className="jp-insighter-upload"
      data-state={upload.state}
      data-file-name={upload.fileName}
    >
      <div className="jp-insighter-upload-head">
        <span className="jp-insighter-upload-name">{upload.fileName}</span>
        <span className="jp-insighter-Data-muted">{detail}</span>
        <span className="jp-insighter-Data-spacer" />
        {upload.state === 'failed' ? (
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="insighter-upload-dismiss"
            onClick={() => catalog.dismissUpload(upload.id)}
          >
            {trans.__('Dismiss')}
          </button>
        ) : (
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="insighter-upload-cancel"
            onClick={() => catalog.cancelUpload(upload.id)}
          >
            {trans.__('Cancel')}
          </button>
        )}
      </div>
      {upload.state === 'failed' ? (
        <p
          className="jp-insighter-upload-error jp-insighter-Data-message jp-mod-error"
          role="alert"
        >
          {upload.error}
        </p>
      ) : (
        <div
          className="jp-insighter-upload-progress"
          role="progressbar"
          aria-label={trans.__('Upload of %1', upload.fileName)}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
          data-indeterminate={
            upload.state === 'processing' ? 'true' : undefined
          }
        >
          <div
            className="jp-insighter-upload-bar"
            style={{ width: `${percent}%` }}
          />
        </div>
      )}
    </li>
  );
}
