import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import type { IVersionRow, ModelsModel } from '../models';
import { TABLE_METRICS } from '../runs';
import { formatValue } from './chart';
import { ArtifactList, MetricValues } from './rundetail';
import { ErrorMessage } from './message';

/** The alias the form offers first: the version a team serves. */
const DEFAULT_ALIAS = 'champion';

/** MLflow's model version stages. */
const STAGES = ['None', 'Staging', 'Production', 'Archived'];

function datasetText(row: IVersionRow, trans: TranslationBundle): string {
  if (!row.dataset) {
    return '';
  }
  return row.dataset.version
    ? trans.__('%1 v%2', row.dataset.name, row.dataset.version)
    : row.dataset.name;
}

function VersionDetail(props: {
  model: ModelsModel;
  row: IVersionRow;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, row, trans } = props;
  const [alias, setAlias] = React.useState(DEFAULT_ALIAS);
  return (
    <section
      className="jp-insighter-model-version-detail"
      data-model={row.model}
      data-version={row.version}
    >
      <h4>{trans.__('%1 version %2', row.model, row.version)}</h4>
      <p className="jp-insighter-Experiments-muted">
        {[
          row.runName && trans.__('run %1', row.runName),
          row.dataset && trans.__('trained on %1', datasetText(row, trans)),
          row.dataset?.digest &&
            trans.__('digest %1', row.dataset.digest.slice(0, 12))
        ]
          .filter(Boolean)
          .join(' · ')}
      </p>
      <div className="jp-insighter-model-version-actions">
        <form
          className="jp-insighter-alias-form"
          onSubmit={e => {
            e.preventDefault();
            if (alias.trim()) {
              void model.setAlias(row.model, alias, row.version);
            }
          }}
        >
          <input
            className="jp-mod-styled"
            aria-label={trans.__('Alias')}
            data-testid="insighter-alias-input"
            value={alias}
            onChange={e => setAlias(e.currentTarget.value)}
          />
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            data-testid="insighter-alias-set"
          >
            {trans.__('Set alias')}
          </button>
        </form>
        <label className="jp-insighter-train-field">
          <span>{trans.__('Stage')}</span>
          <select
            className="jp-mod-styled"
            data-testid="insighter-version-stage"
            value={row.stage}
            onChange={e =>
              void model.setStage(row.model, row.version, e.currentTarget.value)
            }
          >
            {STAGES.map(stage => (
              <option key={stage} value={stage}>
                {trans.__(stage)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorMessage text={model.actionError} />
      <div className="jp-insighter-run-detail-grid">
        <div>
          <h4>{trans.__('Metrics')}</h4>
          <MetricValues metrics={row.metrics} trans={trans} />
        </div>
        <div>
          <h4>{trans.__('Artifacts')}</h4>
          <ArtifactList
            files={model.artifacts}
            error={model.artifactsError}
            trans={trans}
            download={path => model.download(row, path)}
          />
        </div>
      </div>
    </section>
  );
}

/** Registered models, each with its versions: run, metrics, dataset input, stage, aliases. */
export function ModelsTable(props: {
  model: ModelsModel;
  trans: TranslationBundle;
  /** The project a model belongs to, by its name (a project's slug), for the view of all models. */
  projectName?: (modelName: string) => string | null;
}): React.ReactElement {
  const { model, trans } = props;
  const selected = model.selected;
  return (
    <div className="jp-insighter-Models">
      <div className="jp-insighter-Experiments-toolbar">
        <h3>{trans.__('Registered models')}</h3>
        <span className="jp-insighter-Experiments-spacer" />
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => void model.refresh()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      <ErrorMessage text={model.error} />
      {model.status === 'loading' && (
        <p className="jp-insighter-Experiments-muted">
          {trans.__('Listing models…')}
        </p>
      )}
      {model.status === 'ready' && model.models.length === 0 && (
        <p
          className="jp-insighter-Experiments-muted"
          data-testid="insighter-models-empty"
        >
          {trans.__(
            "No registered model yet. A training job registers the next version of its project's model."
          )}
        </p>
      )}
      {model.models.map(entry => (
        <section
          key={entry.model.name}
          className="jp-insighter-model"
          data-model={entry.model.name}
        >
          <h4>
            {entry.model.name}
            {props.projectName?.(entry.model.name) && (
              <span className="jp-insighter-Experiments-muted">
                {' '}
                {trans.__('(project %1)', props.projectName(entry.model.name))}
              </span>
            )}
          </h4>
          <table className="jp-insighter-model-versions">
            <thead>
              <tr>
                <th>{trans.__('Version')}</th>
                <th>{trans.__('Run')}</th>
                {TABLE_METRICS.map(key => (
                  <th key={key}>{key}</th>
                ))}
                <th>{trans.__('Dataset')}</th>
                <th>{trans.__('Stage')}</th>
                <th>{trans.__('Aliases')}</th>
                <th>{trans.__('Created')}</th>
              </tr>
            </thead>
            <tbody>
              {entry.versions.map(row => (
                <tr
                  key={row.version}
                  className={`jp-insighter-model-version${
                    selected?.model === row.model &&
                    selected.version === row.version
                      ? ' jp-mod-selected'
                      : ''
                  }`}
                  data-model={row.model}
                  data-version={row.version}
                  data-run-id={row.runId ?? undefined}
                  onClick={() => void model.select(row.model, row.version)}
                >
                  <td>
                    <button
                      type="button"
                      className="jp-insighter-Experiments-link"
                    >
                      {trans.__('Version %1', row.version)}
                    </button>
                  </td>
                  <td>{row.runName ?? row.runId ?? ''}</td>
                  {TABLE_METRICS.map(key => (
                    <td key={key} className="jp-insighter-number">
                      {row.metrics[key] !== undefined
                        ? formatValue(row.metrics[key])
                        : ''}
                    </td>
                  ))}
                  <td data-column="dataset">{datasetText(row, trans)}</td>
                  <td>{row.stage}</td>
                  <td>
                    {row.aliases.map(alias => (
                      <span
                        key={alias}
                        className="jp-insighter-alias"
                        data-alias={alias}
                      >
                        @{alias}
                        <button
                          type="button"
                          aria-label={trans.__('Remove alias %1', alias)}
                          onClick={e => {
                            e.stopPropagation();
                            void model.removeAlias(row.model, alias);
                          }}
                        >
                          ×
                        </button>
                      </span>
                    ))}
                  </td>
                  <td title={Time.format(new Date(row.created))}>
                    {Time.formatHuman(new Date(row.created))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      {selected && (
        <VersionDetail
          key={`${selected.model}:${selected.version}`}
          model={model}
          row={selected}
          trans={trans}
        />
      )}
    </div>
  );
}

/** The Models view or Studio section: renders one `ModelsModel`, which it owns. */
export class ModelsPanel extends ReactWidget {
  constructor(
    readonly model: ModelsModel,
    private readonly _trans: TranslationBundle,
    private readonly _projectName?: (modelName: string) => string | null
  ) {
    super();
    this.addClass('jp-insighter-ModelsPanel');
    model.changed.connect(this.update, this);
    void model.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected render(): React.ReactElement {
    return (
      <ModelsTable
        model={this.model}
        trans={this._trans}
        projectName={this._projectName}
      />
    );
  }
}
