import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { RunSortKey, RunsModel, TABLE_METRICS } from '../runs';
import { formatValue } from './chart';
import { formatDuration } from './format';
import { ErrorMessage } from './message';

export interface IRunsTableProps {
  model: RunsModel;
  trans: TranslationBundle;
  /** The run whose detail is open, highlighted. */
  openRunId: string | null;
  onOpen: (runId: string) => void;
  onCompare: () => void;
}

/** Status words, translated once here for the table and the detail. */
export function statusLabel(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'queued':
      return trans.__('Queued');
    case 'running':
      return trans.__('Running');
    case 'succeeded':
      return trans.__('Succeeded');
    case 'failed':
      return trans.__('Failed');
    case 'cancelled':
      return trans.__('Cancelled');
    default:
      return status;
  }
}

/** The project's runs: sortable columns, a filter, and picking runs to compare. */
export function RunsTable(props: IRunsTableProps): React.ReactElement {
  const { model, trans } = props;
  const columns: [RunSortKey, string][] = [
    ['name', trans.__('Run')],
    ['status', trans.__('Status')],
    ['algorithm', trans.__('Algorithm')],
    ['dataset', trans.__('Dataset')],
    ['accuracy', trans.__('Accuracy')],
    ['auc', trans.__('AUC')],
    ['rmse', trans.__('RMSE')],
    ['started', trans.__('Started')],
    ['duration', trans.__('Duration')]
  ];
  const rows = model.visibleRows;
  const sort = model.sort;
  return (
    <div className="jp-insighter-RunsTable">
      <div className="jp-insighter-RunsTable-toolbar">
        <input
          type="search"
          className="jp-mod-styled jp-insighter-runs-filter"
          placeholder={trans.__('Filter runs')}
          aria-label={trans.__('Filter runs')}
          value={model.filter}
          onChange={e => {
            model.filter = e.currentTarget.value;
          }}
        />
        <span className="jp-insighter-Experiments-muted">
          {trans.__('%1 of %2 runs', rows.length, model.rows.length)}
        </span>
        <span className="jp-insighter-Experiments-spacer" />
        <button
          type="button"
          className="jp-mod-styled"
          data-testid="insighter-runs-compare"
          disabled={model.picked.length < 2}
          onClick={props.onCompare}
        >
          {trans.__('Compare (%1)', model.picked.length)}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => void model.refresh()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      <ErrorMessage text={model.error} />
      <table className="jp-insighter-runs-table">
        <thead>
          <tr>
            <th aria-label={trans.__('Compare')} />
            {columns.map(([key, label]) => (
              <th
                key={key}
                data-column={key}
                aria-sort={
                  sort.key === key
                    ? sort.ascending
                      ? 'ascending'
                      : 'descending'
                    : 'none'
                }
              >
                <button type="button" onClick={() => model.sortBy(key)}>
                  {label}
                  {sort.key === key ? (sort.ascending ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr
              key={row.runId}
              data-run-id={row.runId}
              data-status={row.status}
              className={
                row.runId === props.openRunId ? 'jp-mod-selected' : undefined
              }
              onClick={() => props.onOpen(row.runId)}
            >
              <td onClick={e => e.stopPropagation()}>
                <input
                  type="checkbox"
                  aria-label={trans.__('Compare %1', row.name)}
                  checked={model.picked.includes(row.runId)}
                  onChange={() => model.togglePicked(row.runId)}
                />
              </td>
              <td data-column="name">
                <button type="button" className="jp-insighter-Experiments-link">
                  {row.name}
                </button>
              </td>
              <td data-column="status">
                <span className="jp-insighter-status" data-status={row.status}>
                  {statusLabel(row.status, trans)}
                </span>
              </td>
              <td data-column="algorithm">{row.algorithm}</td>
              <td data-column="dataset">{row.dataset}</td>
              {TABLE_METRICS.map(key => (
                <td key={key} data-column={key} className="jp-insighter-number">
                  {row.metrics[key] !== undefined
                    ? formatValue(row.metrics[key])
                    : ''}
                </td>
              ))}
              <td
                data-column="started"
                title={
                  row.startTime
                    ? Time.format(new Date(row.startTime))
                    : undefined
                }
              >
                {row.startTime ? Time.formatHuman(new Date(row.startTime)) : ''}
              </td>
              <td data-column="duration" className="jp-insighter-number">
                {formatDuration(row.durationMs, trans)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {model.status === 'ready' && model.rows.length === 0 && (
        <p
          className="jp-insighter-Experiments-muted"
          data-testid="insighter-runs-empty"
        >
          {trans.__(
            'No run yet. Pick an algorithm, a dataset and its target above, then Train.'
          )}
        </p>
      )}
      {model.status === 'loading' && (
        <p className="jp-insighter-Experiments-muted">
          {trans.__('Listing runs…')}
        </p>
      )}
    </div>
  );
}
