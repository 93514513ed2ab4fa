import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import type { IDataCatalog } from '../tokens';
import { DatasetTable } from './datasettable';
import { DropZone } from './dropzone';
import { UploadList } from './uploads';

export interface IDatasetsPanelProps {
  catalog: IDataCatalog;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** Whose datasets to list; `null`: every project's. */
  projectId: string | null;
  /** Where dropped files go; uploads are off while it is `null`. */
  uploadInto: string | null;
  /** Why uploads are off, shown in the drop zone. */
  uploadHint?: string;
  /** Names the project of each row (the Data view lists several projects). */
  projectName?: (projectId: string) => string;
}

/**
 * What the Data view and a project's Data section share: the drop zone,
 * the uploads in flight, and the table of datasets.
 */
export function DatasetsPanel(props: IDatasetsPanelProps): React.ReactElement {
  const { catalog, trans, projectId, uploadInto } = props;
  const status = catalog.statusOf(projectId);
  const datasets = catalog.datasetsOf(projectId);
  const uploads = catalog.uploadsOf(projectId);
  const onFiles = (files: File[]) => {
    if (!uploadInto) {
      return;
    }
    for (const file of files) {
      // A refusal is shown in the upload's entry; a cancel needs no word.
      catalog.upload({ projectId: uploadInto, file }).catch(() => undefined);
    }
  };
  return (
    <div className="jp-insighter-DatasetsPanel">
      <DropZone
        onFiles={onFiles}
        disabledReason={uploadInto ? null : (props.uploadHint ?? null)}
        trans={trans}
      />
      <UploadList catalog={catalog} uploads={uploads} trans={trans} />
      {status === 'error' && (
        <p className="jp-insighter-Data-message jp-mod-error" role="alert">
          {trans.__(
            'The datasets could not be listed: %1',
            catalog.errorOf(projectId) ?? ''
          )}
        </p>
      )}
      {status !== 'error' && datasets.length === 0 && (
        <p
          className="jp-insighter-Data-muted"
          data-testid="insighter-datasets-empty"
        >
          {status === 'ready'
            ? trans.__('No datasets yet. Drop a CSV or Parquet file above.')
            : trans.__('Looking for datasets…')}
        </p>
      )}
      {datasets.length > 0 && <DatasetTable {...props} datasets={datasets} />}
    </div>
  );
}
