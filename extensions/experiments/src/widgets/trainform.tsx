import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import type { TrainFormModel } from '../trainform';
import type { TrainAlgorithm, TrainTask } from '../tokens';
import { ErrorMessage } from './message';

export interface ITrainFormProps {
  model: TrainFormModel;
  trans: TranslationBundle;
  /** Called with the started job's ids (e.g. to show it in the Tool Monitor). */
  onStarted?: (job: { id: string; run_id: string }) => void;
}

function FieldError(props: {
  field: string;
  error?: string;
}): React.ReactElement | null {
  return props.error ? (
    <span
      className="jp-insighter-train-field-error"
      data-field={props.field}
      role="alert"
    >
      {props.error}
    </span>
  ) : null;
}

/** The training form; it renders `TrainFormModel` and sends what is typed back to it. */
export function TrainForm(props: ITrainFormProps): React.ReactElement {
  const { model, trans } = props;
  const errors = model.errors;
  const spec = model.spec;
  const texts = model.paramTexts;
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const job = await model.submit();
    if (job) {
      props.onStarted?.(job);
    }
  };
  return (
    <form className="jp-insighter-train-form" onSubmit={submit} noValidate>
      <div className="jp-insighter-train-row">
        <label className="jp-insighter-train-field">
          <span>{trans.__('Algorithm')}</span>
          <select
            className="jp-mod-styled"
            name="algorithm"
            data-testid="insighter-train-algorithm"
            value={model.algorithm}
            onChange={e => {
              model.algorithm = e.currentTarget.value as TrainAlgorithm;
            }}
          >
            {model.algorithms.map(a => (
              <option key={a.id} value={a.id}>
                {trans.__(a.label)}
              </option>
            ))}
          </select>
        </label>
        <label className="jp-insighter-train-field">
          <span>{trans.__('Task')}</span>
          <select
            className="jp-mod-styled"
            name="task"
            data-testid="insighter-train-task"
            value={model.task}
            onChange={e => {
              model.task = e.currentTarget.value as TrainTask | '';
            }}
          >
            <option value="">{trans.__('From the target')}</option>
            {spec.tasks.map(task => (
              <option key={task} value={task}>
                {task === 'classification'
                  ? trans.__('Classification')
                  : trans.__('Regression')}
              </option>
            ))}
          </select>
        </label>
        <label className="jp-insighter-train-field">
          <span>{trans.__('Dataset')}</span>
          <select
            className="jp-mod-styled"
            name="dataset"
            data-testid="insighter-train-dataset"
            value={model.datasetId}
            onChange={e => void model.selectDataset(e.currentTarget.value)}
          >
            {model.datasets.length === 0 && (
              <option value="">{trans.__('No ready dataset')}</option>
            )}
            {model.datasets.map(d => (
              <option key={d.id} value={d.id}>
                {trans.__('%1 (v%2)', d.name, d.version)}
              </option>
            ))}
          </select>
          <FieldError field="dataset" error={errors.dataset} />
        </label>
        <label className="jp-insighter-train-field">
          <span>{trans.__('Target column')}</span>
          <select
            className="jp-mod-styled"
            name="target"
            data-testid="insighter-train-target"
            value={model.target}
            onChange={e => {
              model.target = e.currentTarget.value;
            }}
          >
            <option value="">{trans.__('Choose…')}</option>
            {model.columns.map(c => (
              <option key={c.name} value={c.name}>
                {c.type ? `${c.name} (${c.type})` : c.name}
              </option>
            ))}
          </select>
          <FieldError field="target" error={errors.target} />
        </label>
      </div>
      <ErrorMessage text={model.datasetsError} />
      <fieldset className="jp-insighter-train-params">
        <legend>{trans.__('Hyperparameters')}</legend>
        {spec.params.map(param => (
          <label
            key={param.name}
            className="jp-insighter-train-field"
            title={param.description}
          >
            <span>{param.name}</span>
            <input
              className="jp-mod-styled"
              type="text"
              inputMode={param.type === 'int' ? 'numeric' : 'decimal'}
              name={param.name}
              data-param={param.name}
              placeholder={param.nullable ? trans.__('none') : undefined}
              aria-invalid={errors[param.name] ? true : undefined}
              value={texts[param.name] ?? ''}
              onChange={e => model.setParam(param.name, e.currentTarget.value)}
            />
            <FieldError field={param.name} error={errors[param.name]} />
          </label>
        ))}
      </fieldset>
      {model.serverError && (
        <p
          className="jp-insighter-train-error jp-insighter-Experiments-message jp-mod-error"
          role="alert"
        >
          {model.serverError}
        </p>
      )}
      <div className="jp-insighter-train-actions">
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => model.resetParams()}
        >
          {trans.__('Reset to defaults')}
        </button>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          data-testid="insighter-train-submit"
          disabled={model.submitting}
        >
          {model.submitting ? trans.__('Starting…') : trans.__('Train')}
        </button>
        {model.lastJob && !model.serverError && (
          <span
            className="jp-insighter-Experiments-muted"
            data-testid="insighter-train-started"
            data-job-id={model.lastJob.id}
          >
            {trans.__('Job started: run %1', model.lastJob.run_id)}
          </span>
        )}
      </div>
    </form>
  );
}
