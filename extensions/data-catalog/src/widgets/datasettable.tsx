import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs } from '../commands';
import { formatBytes, formatCount, statusLabel } from '../format';
import type { IDataCatalog, IDataset } from '../tokens';

export interface IDatasetTableProps {
  catalog: IDataCatalog;
  datasets: readonly IDataset[];
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The project column's text for a dataset; no column without it. */
  projectName?: (projectId: string) => string;
}

/** The datasets, one row each: a click (or Enter) opens its detail. */
export function DatasetTable(props: IDatasetTableProps): React.ReactElement {
  const { datasets, trans, projectName } = props;
  return (
    <table className="jp-insighter-DatasetTable">
      <thead>
        <tr>
          <th scope="col">{trans.__('Name')}</th>
          {projectName && <th scope="col">{trans.__('Project')}</th>}
          <th scope="col">{trans.__('Format')}</th>
          <th scope="col" className="jp-mod-number">
            {trans.__('Size')}
          </th>
          <th scope="col" className="jp-mod-number">
            {trans.__('Rows')}
          </th>
          <th scope="col" className="jp-mod-number">
            {trans.__('Columns')}
          </th>
          <th scope="col">{trans.__('Status')}</th>
          <th scope="col" className="jp-mod-number">
            {trans.__('Version')}
          </th>
          <th scope="col">{trans.__('Owner')}</th>
          <th scope="col">{trans.__('Updated')}</th>
        </tr>
      </thead>
      <tbody>
        {datasets.map(dataset => (
          <DatasetRow key={dataset.id} {...props} dataset={dataset} />
        ))}
      </tbody>
    </table>
  );
}

function DatasetRow(
  props: IDatasetTableProps & { dataset: IDataset }
): React.ReactElement {
  const { catalog, dataset, commands, trans, projectName } = props;
  const open = () =>
    void commands.execute(CommandIDs.openDataset, { datasetId: dataset.id });
  return (
    <tr
      className="jp-insighter-dataset-row"
      data-dataset-id={dataset.id}
      data-name={dataset.name}
      data-status={dataset.status}
      data-row-count={dataset.row_count ?? undefined}
      data-column-count={dataset.column_count ?? undefined}
      data-version={dataset.version}
      aria-selected={catalog.selected?.datasetId === dataset.id}
      tabIndex={0}
      title={trans.__('Open %1', dataset.name)}
      onClick={open}
      onKeyDown={event => {
        if (event.key === 'Enter') {
          open();
        }
      }}
    >
      <td className="jp-insighter-DatasetTable-name">{dataset.name}</td>
      {projectName && <td>{projectName(dataset.project_id)}</td>}
      <td>{dataset.format.toUpperCase()}</td>
      <td className="jp-mod-number">{formatBytes(dataset.size_bytes)}</td>
      <td className="jp-mod-number">{formatCount(dataset.row_count)}</td>
      <td className="jp-mod-number">{formatCount(dataset.column_count)}</td>
      <td>
        <span
          className="jp-insighter-DatasetStatus"
          data-status={dataset.status}
          title={dataset.error ?? undefined}
        >
          {statusLabel(dataset.status, trans)}
        </span>
      </td>
      <td className="jp-mod-number">{`v${dataset.version}`}</td>
      <td>{catalog.ownerName(dataset) ?? ''}</td>
      <td title={Time.format(dataset.updated_at)}>
        {Time.formatHuman(dataset.updated_at)}
      </td>
    </tr>
  );
}
