import type { IProjectsModel } from '@insighter/projects';
import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs, ExternalCommandIDs } from '../commands';
import type { DatasetDetailModel } from '../detailmodel';
import {
  formatBytes,
  formatCount,
  formatCell,
  formatValue,
  isNumeric,
  statusLabel
} from '../format';
import type { IDataCatalog, IDataset, IDatasetColumn } from '../tokens';
import { Histogram, TopValues } from './histogram';

/** The class of a dataset detail's content. */
export const DETAIL_CLASS = 'jp-insighter-dataset-detail';

export interface IDatasetDetailViewOptions {
  model: DatasetDetailModel;
  catalog: IDataCatalog;
  projects: IProjectsModel | null;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * One dataset: its facts, rename and description, versions, the schema with
 * statistics and a histogram (numbers) or top values (text) per column, and
 * a grid of its first rows. Renders the detail model; actions are commands.
 */
export class DatasetDetailView extends ReactWidget {
  private readonly _options: IDatasetDetailViewOptions;

  constructor(options: IDatasetDetailViewOptions) {
    super();
    this._options = options;
    this.addClass(DETAIL_CLASS);
    this.node.dataset.datasetId = options.model.datasetId;
    options.model.changed.connect(this._onChange, this);
    options.catalog.changed.connect(this._onChange, this);
    // "Open in notebook" shows once the plugin that adds it has loaded.
    options.commands.commandChanged.connect(this._onChange, this);
    this._onChange();
  }

  get model(): DatasetDetailModel {
    return this._options.model;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    const { model, catalog, commands } = this._options;
    model.changed.disconnect(this._onChange, this);
    catalog.changed.disconnect(this._onChange, this);
    commands.commandChanged.disconnect(this._onChange, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    return <Detail {...this._options} />;
  }

  private _onChange(): void {
    if (this.isDisposed) {
      return;
    }
    // For tests and styles: what the view shows, on the node itself.
    const { model } = this._options;
    const dataset = model.dataset;
    const data = this.node.dataset;
    data.state = model.status;
    setOrDelete(data, 'status', dataset?.status);
    setOrDelete(data, 'version', dataset?.version);
    setOrDelete(data, 'rowCount', dataset?.row_count);
    setOrDelete(data, 'columnCount', dataset?.column_count);
    this.update();
  }
}

function setOrDelete(
  data: DOMStringMap,
  key: string,
  value: string | number | null | undefined
): void {
  if (value === null || value === undefined) {
    delete data[key];
  } else {
    data[key] = String(value);
  }
}

function Detail(props: IDatasetDetailViewOptions): React.ReactElement {
  const { model, trans } = props;
  const dataset = model.dataset;
  if (model.status === 'missing') {
    return (
      <div className="jp-insighter-DatasetDetail-body">
        <p
          className="jp-insighter-Data-message jp-mod-error"
          data-testid="insighter-dataset-message"
        >
          {trans.__(
            'This dataset does not exist any more, or it is no longer shared with you.'
          )}
        </p>
      </div>
    );
  }
  if (model.status === 'error') {
    return (
      <div className="jp-insighter-DatasetDetail-body">
        <p
          className="jp-insighter-Data-message jp-mod-error"
          role="alert"
          data-testid="insighter-dataset-message"
        >
          {trans.__('The dataset could not be read: %1', model.error ?? '')}
        </p>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => void model.load()}
        >
          {trans.__('Try again')}
        </button>
      </div>
    );
  }
  if (!dataset) {
    return (
      <div className="jp-insighter-DatasetDetail-body">
        <p className="jp-insighter-Data-muted">
          {trans.__('Reading the dataset…')}
        </p>
      </div>
    );
  }
  return (
    <div className="jp-insighter-DatasetDetail-body">
      <Header {...props} dataset={dataset} />
      {dataset.status === 'failed' && dataset.error && (
        <p className="jp-insighter-Data-message jp-mod-error" role="alert">
          {dataset.error}
        </p>
      )}
      <Versions {...props} dataset={dataset} />
      <Columns {...props} dataset={dataset} />
      <Preview {...props} />
    </div>
  );
}

function Header(
  props: IDatasetDetailViewOptions & { dataset: IDataset }
): React.ReactElement {
  const { model, catalog, projects, commands, trans, dataset } = props;
  const latest = model.latestVersion ?? dataset.version;
  const owner = catalog.ownerName(dataset);
  const project = projects?.find(dataset.project_id);
  const ref = {
    datasetId: dataset.id,
    projectId: dataset.project_id,
    name: dataset.name
  };
  return (
    <header className="jp-insighter-DatasetDetail-header">
      <NameEditor {...props} dataset={dataset} />
      <DescriptionEditor {...props} dataset={dataset} />
      <dl className="jp-insighter-DatasetDetail-facts">
        {project && <Fact label={trans.__('Project')}>{project.name}</Fact>}
        <Fact label={trans.__('Status')}>
          <span
            className="jp-insighter-DatasetStatus"
            data-status={dataset.status}
          >
            {statusLabel(dataset.status, trans)}
          </span>
        </Fact>
        <Fact label={trans.__('Format')}>{dataset.format.toUpperCase()}</Fact>
        <Fact label={trans.__('Size')}>{formatBytes(dataset.size_bytes)}</Fact>
        <Fact label={trans.__('Rows')} testId="insighter-dataset-rows">
          {formatCount(dataset.row_count)}
        </Fact>
        <Fact label={trans.__('Columns')} testId="insighter-dataset-columns">
          {formatCount(dataset.column_count)}
        </Fact>
        <Fact label={trans.__('Version')} testId="insighter-dataset-version">
          {trans.__('v%1 of %2', dataset.version, latest)}
        </Fact>
        {owner && <Fact label={trans.__('Owner')}>{owner}</Fact>}
        <Fact label={trans.__('File')}>{dataset.file_name}</Fact>
        <Fact label={trans.__('Uploaded')}>
          <span title={Time.format(dataset.created_at)}>
            {Time.formatHuman(dataset.created_at)}
          </span>
        </Fact>
        {dataset.sha256 && (
          <Fact label={trans.__('SHA-256')}>
            <code title={dataset.sha256}>{dataset.sha256.slice(0, 12)}</code>
          </Fact>
        )}
      </dl>
      <div className="jp-insighter-DatasetDetail-actions">
        {commands.hasCommand(ExternalCommandIDs.openInNotebook) && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            data-testid="insighter-dataset-open-notebook"
            disabled={
              dataset.status !== 'ready' ||
              !commands.isEnabled(ExternalCommandIDs.openInNotebook, ref)
            }
            onClick={() =>
              void commands.execute(ExternalCommandIDs.openInNotebook, ref)
            }
          >
            {trans.__('Open in notebook')}
          </button>
        )}
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => void model.load()}
        >
          {trans.__('Refresh')}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-mod-warn"
          data-testid="insighter-dataset-delete"
          onClick={() =>
            void commands.execute(CommandIDs.deleteDataset, {
              datasetId: dataset.id
            })
          }
        >
          {trans.__('Delete dataset')}
        </button>
      </div>
    </header>
  );
}

function Fact(props: {
  label: string;
  testId?: string;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd data-testid={props.testId}>{props.children}</dd>
    </div>
  );
}

/** Sends an edit and shows the sidecar's refusal (e.g. a name that is taken) beside the field. */
function useEdit(
  save: (value: string) => Promise<void>
): [
  busy: boolean,
  error: string | null,
  submit: (value: string, done: () => void) => void,
  clear: () => void
] {
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const submit = (value: string, done: () => void) => {
    setBusy(true);
    setError(null);
    save(value).then(
      () => {
        setBusy(false);
        done();
      },
      reason => {
        setBusy(false);
        setError(reason instanceof Error ? reason.message : String(reason));
      }
    );
  };
  return [busy, error, submit, () => setError(null)];
}

function NameEditor(
  props: IDatasetDetailViewOptions & { dataset: IDataset }
): React.ReactElement {
  const { model, trans, dataset } = props;
  const [editing, setEditing] = React.useState(false);
  const [value, setValue] = React.useState(dataset.name);
  const [busy, error, submit, clear] = useEdit(name => model.update({ name }));
  if (!editing) {
    return (
      <div className="jp-insighter-DatasetDetail-title">
        <h2 data-testid="insighter-dataset-name">{dataset.name}</h2>
        <button
          type="button"
          className="jp-insighter-Data-link"
          data-testid="insighter-dataset-rename"
          onClick={() => {
            setValue(dataset.name);
            clear();
            setEditing(true);
          }}
        >
          {trans.__('Rename')}
        </button>
      </div>
    );
  }
  const name = value.trim();
  const problem = !name
    ? trans.__('A dataset needs a name.')
    : name.length > 200
      ? trans.__('A name has at most 200 characters.')
      : null;
  return (
    <form
      className="jp-insighter-DatasetDetail-edit"
      onSubmit={event => {
        event.preventDefault();
        if (problem) {
          return;
        }
        if (name === dataset.name) {
          setEditing(false);
          return;
        }
        submit(name, () => setEditing(false));
      }}
    >
      <input
        className="jp-mod-styled"
        data-testid="insighter-dataset-rename-input"
        aria-label={trans.__('Dataset name')}
        aria-invalid={Boolean(problem || error)}
        value={value}
        autoFocus
        disabled={busy}
        onChange={event => {
          setValue(event.currentTarget.value);
          clear();
        }}
        onKeyDown={event => {
          if (event.key === 'Escape') {
            setEditing(false);
          }
        }}
      />
      <button
        type="submit"
        className="jp-mod-styled jp-mod-accept"
        data-testid="insighter-dataset-rename-save"
        disabled={busy || Boolean(problem)}
      >
        {trans.__('Save')}
      </button>
      <button
        type="button"
        className="jp-mod-styled"
        disabled={busy}
        onClick={() => setEditing(false)}
      >
        {trans.__('Cancel')}
      </button>
      {(problem || error) && (
        <p
          className="jp-insighter-DatasetDetail-editError"
          role="alert"
          data-testid="insighter-dataset-rename-error"
        >
          {problem ?? error}
        </p>
      )}
    </form>
  );
}

function DescriptionEditor(
  props: IDatasetDetailViewOptions & { dataset: IDataset }
): React.ReactElement {
  const { model, trans, dataset } = props;
  const [editing, setEditing] = React.useState(false);
  const [value, setValue] = React.useState(dataset.description);
  const [busy, error, submit, clear] = useEdit(description =>
    model.update({ description })
  );
  if (!editing) {
    return (
      <div className="jp-insighter-DatasetDetail-description">
        {dataset.description ? (
          <p data-testid="insighter-dataset-description">
            {dataset.description}
          </p>
        ) : (
          <p className="jp-insighter-Data-muted">
            {trans.__('No description.')}
          </p>
        )}
        <button
          type="button"
          className="jp-insighter-Data-link"
          data-testid="insighter-dataset-describe"
          onClick={() => {
            setValue(dataset.description);
            clear();
            setEditing(true);
          }}
        >
          {dataset.description
            ? trans.__('Edit description')
            : trans.__('Add a description')}
        </button>
      </div>
    );
  }
  return (
    <form
      className="jp-insighter-DatasetDetail-edit"
      onSubmit={event => {
        event.preventDefault();
        submit(value.trim(), () => setEditing(false));
      }}
    >
      <textarea
        className="jp-mod-styled"
        data-testid="insighter-dataset-description-input"
        aria-label={trans.__('Description')}
        rows={3}
        value={value}
        autoFocus
        disabled={busy}
        onChange={event => {
          setValue(event.currentTarget.value);
          clear();
        }}
      />
      <button
        type="submit"
        className="jp-mod-styled jp-mod-accept"
        data-testid="insighter-dataset-description-save"
        disabled={busy}
      >
        {trans.__('Save')}
      </button>
      <button
        type="button"
        className="jp-mod-styled"
        disabled={busy}
        onClick={() => setEditing(false)}
      >
        {trans.__('Cancel')}
      </button>
      {error && (
        <p className="jp-insighter-DatasetDetail-editError" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Versions(
  props: IDatasetDetailViewOptions & { dataset: IDataset }
): React.ReactElement {
  const { model, catalog, commands, trans, dataset } = props;
  const versions = [...dataset.versions].sort((a, b) => b.version - a.version);
  return (
    <section className="jp-insighter-DatasetDetail-section">
      <h3>{trans.__('Versions')}</h3>
      <table className="jp-insighter-DatasetVersions">
        <thead>
          <tr>
            <th scope="col">{trans.__('Version')}</th>
            <th scope="col">{trans.__('Uploaded')}</th>
            <th scope="col">{trans.__('By')}</th>
            <th scope="col" className="jp-mod-number">
              {trans.__('Size')}
            </th>
            <th scope="col" className="jp-mod-number">
              {trans.__('Rows')}
            </th>
            <th scope="col">{trans.__('Status')}</th>
            <th scope="col">
              <span className="jp-insighter-Data-hidden">
                {trans.__('Actions')}
              </span>
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map(version => {
            const shown = version.version === dataset.version;
            return (
              <tr
                key={version.version}
                className="jp-insighter-dataset-version"
                data-version={version.version}
                aria-current={shown ? 'true' : undefined}
              >
                <td>{`v${version.version}`}</td>
                <td title={Time.format(version.created_at)}>
                  {Time.formatHuman(version.created_at)}
                </td>
                <td>
                  {catalog.ownerName({
                    owner_id: version.uploaded_by,
                    project_id: dataset.project_id
                  }) ?? ''}
                </td>
                <td className="jp-mod-number">
                  {formatBytes(version.size_bytes)}
                </td>
                <td className="jp-mod-number">
                  {formatCount(version.row_count)}
                </td>
                <td>
                  <span
                    className="jp-insighter-DatasetStatus"
                    data-status={version.status}
                  >
                    {statusLabel(version.status, trans)}
                  </span>
                </td>
                <td>
                  <span className="jp-insighter-DatasetVersions-actions">
                    {shown ? (
                      <span className="jp-insighter-Data-muted">
                        {trans.__('Shown')}
                      </span>
                    ) : (
                      <button
                        type="button"
                        className="jp-insighter-Data-link"
                        data-testid="insighter-dataset-show-version"
                        onClick={() => void model.showVersion(version.version)}
                      >
                        {trans.__('Show')}
                      </button>
                    )}
                    {versions.length > 1 && (
                      <button
                        type="button"
                        className="jp-insighter-Data-link"
                        data-testid="insighter-dataset-delete-version"
                        onClick={() =>
                          void commands.execute(CommandIDs.deleteDataset, {
                            datasetId: dataset.id,
                            version: version.version
                          })
                        }
                      >
                        {trans.__('Delete')}
                      </button>
                    )}
                  </span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function Columns(
  props: IDatasetDetailViewOptions & { dataset: IDataset }
): React.ReactElement {
  const { trans, dataset } = props;
  const columns = dataset.columns ?? [];
  return (
    <section className="jp-insighter-DatasetDetail-section">
      <h3>{trans.__('Schema and statistics')}</h3>
      {columns.length === 0 ? (
        <p className="jp-insighter-Data-muted">
          {dataset.status === 'ready'
            ? trans.__('No column statistics were recorded for this version.')
            : trans.__('Statistics follow once the file is checked.')}
        </p>
      ) : (
        <div className="jp-insighter-Data-scroll">
          <table className="jp-insighter-DatasetColumns">
            <thead>
              <tr>
                <th scope="col">{trans.__('Column')}</th>
                <th scope="col">{trans.__('Type')}</th>
                <th scope="col">{trans.__('Distribution')}</th>
                <th scope="col" className="jp-mod-number">
                  {trans.__('Nulls')}
                </th>
                <th scope="col" className="jp-mod-number">
                  {trans.__('Distinct')}
                </th>
                <th scope="col" className="jp-mod-number">
                  {trans.__('Min')}
                </th>
                <th scope="col" className="jp-mod-number">
                  {trans.__('Max')}
                </th>
                <th scope="col" className="jp-mod-number">
                  {trans.__('Mean')}
                </th>
                <th scope="col" className="jp-mod-number">
                  {trans.__('Std')}
                </th>
                <th scope="col" className="jp-mod-number">
                  {trans.__('Quartiles')}
                </th>
              </tr>
            </thead>
            <tbody>
              {columns.map(column => (
                <ColumnRow
                  key={column.name}
                  column={column}
                  rowCount={dataset.row_count ?? 0}
                  trans={trans}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ColumnRow(props: {
  column: IDatasetColumn;
  rowCount: number;
  trans: TranslationBundle;
}): React.ReactElement {
  const { column, rowCount, trans } = props;
  const numeric = isNumeric(column);
  const quartiles =
    column.q25 === null
      ? '–'
      : `${formatValue(column.q25)} / ${formatValue(column.q50)} / ${formatValue(column.q75)}`;
  return (
    <tr
      className="jp-insighter-dataset-column"
      data-column={column.name}
      data-type={column.type}
    >
      <th scope="row">{column.name}</th>
      <td>
        <code>{column.type}</code>
      </td>
      <td>
        {numeric && column.histogram.length > 0 ? (
          <Histogram
            column={column.name}
            bins={column.histogram}
            label={trans.__('Distribution of %1', column.name)}
          />
        ) : column.top_values.length > 0 ? (
          <TopValues
            column={column.name}
            values={column.top_values}
            rowCount={rowCount}
          />
        ) : null}
      </td>
      <td className="jp-mod-number">{formatCount(column.null_count)}</td>
      <td className="jp-mod-number">{formatCount(column.distinct_count)}</td>
      <td className="jp-mod-number">{formatValue(column.min)}</td>
      <td className="jp-mod-number">{formatValue(column.max)}</td>
      <td className="jp-mod-number">{formatValue(column.mean)}</td>
      <td className="jp-mod-number">{formatValue(column.std)}</td>
      <td className="jp-mod-number" title={trans.__('25% / median / 75%')}>
        {quartiles}
      </td>
    </tr>
  );
}

function Preview(props: IDatasetDetailViewOptions): React.ReactElement {
  const { model, trans } = props;
  const preview = model.preview;
  return (
    <section className="jp-insighter-DatasetDetail-section">
      <h3>{trans.__('Preview')}</h3>
      {model.previewError ? (
        <p className="jp-insighter-Data-message jp-mod-error" role="alert">
          {trans.__('The preview could not be read: %1', model.previewError)}
        </p>
      ) : !preview ? (
        <p className="jp-insighter-Data-muted">
          {trans.__('Reading the first rows…')}
        </p>
      ) : (
        <>
          <p className="jp-insighter-Data-muted">
            {trans._n(
              'The first row.',
              'The first %1 rows.',
              preview.rows.length
            )}
          </p>
          <div className="jp-insighter-Data-scroll">
            <table
              className="jp-insighter-preview"
              data-rows={preview.rows.length}
            >
              <thead>
                <tr>
                  {preview.columns.map(name => (
                    <th key={name} scope="col">
                      {name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.rows.map((row, i) => (
                  <tr key={i}>
                    {row.map((value, j) => (
                      <td
                        key={j}
                        className={
                          typeof value === 'number' ? 'jp-mod-number' : ''
                        }
                      >
                        {value === null ? (
                          <span className="jp-insighter-Data-null">null</span>
                        ) : (
                          formatCell(value)
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
