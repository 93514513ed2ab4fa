import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import type { CompareModel } from '../compare';
import type { RunDetailModel } from '../rundetail';
import type { IRunRow } from '../runs';
import type { IMlflowFileInfo } from '../tokens';
import { MetricChart, formatValue } from './chart';
import { formatBytes, formatDuration, saveBlob } from './format';
import { LogView } from './logview';
import { statusLabel } from './runstable';
import { ErrorMessage } from './message';

/** Final metrics as a definition list; each value carries `data-metric-value` for tests. */
export function MetricValues(props: {
  metrics: Record<string, number>;
  trans: TranslationBundle;
}): React.ReactElement {
  const keys = Object.keys(props.metrics).sort();
  return keys.length === 0 ? (
    <p className="jp-insighter-Experiments-muted">
      {props.trans.__('No metric logged yet.')}
    </p>
  ) : (
    <dl className="jp-insighter-metric-values">
      {keys.map(key => (
        <div key={key} className="jp-insighter-metric-value">
          <dt>{key}</dt>
          <dd data-metric-value={key} title={String(props.metrics[key])}>
            {formatValue(props.metrics[key])}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** Artifact files with a download button each. */
export function ArtifactList(props: {
  files: readonly IMlflowFileInfo[];
  error: string | null;
  trans: TranslationBundle;
  download: (path: string) => Promise<Blob>;
}): React.ReactElement {
  const { trans } = props;
  const [failure, setFailure] = React.useState<string | null>(null);
  const get = async (path: string) => {
    setFailure(null);
    try {
      saveBlob(await props.download(path), path.split('/').pop() || path);
    } catch (reason) {
      setFailure(
        trans.__(
          '%1 could not be downloaded: %2',
          path,
          reason instanceof Error ? reason.message : String(reason)
        )
      );
    }
  };
  return (
    <div className="jp-insighter-artifacts">
      <ErrorMessage text={props.error} />
      <ErrorMessage text={failure} />
      {props.files.length === 0 && !props.error ? (
        <p className="jp-insighter-Experiments-muted">
          {trans.__('No artifact.')}
        </p>
      ) : (
        <ul className="jp-insighter-artifact-list">
          {props.files.map(file => (
            <li
              key={file.path}
              className="jp-insighter-artifact"
              data-artifact={file.path}
            >
              <span className="jp-insighter-artifact-path">{file.path}</span>
              <span className="jp-insighter-Experiments-muted">
                {formatBytes(file.file_size)}
              </span>
              <button
                type="button"
                className="jp-mod-styled"
                aria-label={trans.__('Download %1', file.path)}
                onClick={() => void get(file.path)}
              >
                {trans.__('Download')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export interface IRunDetailProps {
  model: RunDetailModel;
  row: IRunRow | undefined;
  trans: TranslationBundle;
  onClose: () => void;
}

/** One run: facts, parameters, final metrics, curves, artifacts and its job's log. */
export function RunDetail(props: IRunDetailProps): React.ReactElement {
  const { model, row, trans } = props;
  const [follow, setFollow] = React.useState(true);
  const run = model.run;
  const job = model.job;
  const status = row?.status ?? job?.status ?? '';
  const curves = model.metrics.curveKeys;
  const logs = model.logs;
  return (
    <section
      className="jp-insighter-run-detail"
      data-run-id={model.runId}
      data-status={status}
    >
      <header className="jp-insighter-run-detail-header">
        <h3>{run?.info.run_name || row?.name || model.runId}</h3>
        {status && (
          <span className="jp-insighter-status" data-status={status}>
            {statusLabel(status, trans)}
          </span>
        )}
        <span className="jp-insighter-Experiments-spacer" />
        <button type="button" className="jp-mod-styled" onClick={props.onClose}>
          {trans.__('Close')}
        </button>
      </header>
      <ErrorMessage text={model.error} />
      {job?.error && (
        <p
          className="jp-insighter-Experiments-message jp-mod-error"
          role="alert"
          data-testid="insighter-run-job-error"
        >
          {job.error}
        </p>
      )}
      <p className="jp-insighter-Experiments-muted">
        {[
          row?.algorithm,
          row?.dataset && trans.__('on %1', row.dataset),
          job?.target && trans.__('target %1', job.target),
          row?.startTime &&
            trans.__('started %1', Time.format(new Date(row.startTime))),
          row?.durationMs != null && formatDuration(row.durationMs, trans),
          job?.model_version != null &&
            trans.__('registered as version %1', job.model_version)
        ]
          .filter(Boolean)
          .join(' · ')}
      </p>
      <div className="jp-insighter-run-detail-grid">
        <div>
          <h4>{trans.__('Metrics')}</h4>
          <MetricValues metrics={model.finalMetrics} trans={trans} />
        </div>
        <div>
          <h4>{trans.__('Parameters')}</h4>
          {model.params.length === 0 ? (
            <p className="jp-insighter-Experiments-muted">
              {trans.__('No parameter logged.')}
            </p>
          ) : (
            <table className="jp-insighter-param-table">
              <tbody>
                {model.params.map(([key, value]) => (
                  <tr key={key} data-param={key}>
                    <th>{key}</th>
                    <td>{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      {curves.length > 0 && (
        <>
          <h4>{trans.__('Curves')}</h4>
          <div className="jp-insighter-chart-grid">
            {curves.map(key => (
              <MetricChart
                key={key}
                metric={key}
                series={[{ label: key, points: model.metrics.points(key) }]}
              />
            ))}
          </div>
        </>
      )}
      <h4>{trans.__('Artifacts')}</h4>
      <ArtifactList
        files={model.artifacts}
        error={model.artifactsError}
        trans={trans}
        download={path => model.download(path)}
      />
      {logs && (
        <>
          <h4>{trans.__('Log')}</h4>
          <LogView
            buffer={logs.buffer}
            trans={trans}
            follow={follow}
            onFollowChange={setFollow}
            footer={
              logs.error ?? (logs.done ? trans.__('The job ended.') : null)
            }
          />
        </>
      )}
    </section>
  );
}

export interface ICompareRunsProps {
  model: CompareModel;
  trans: TranslationBundle;
  onClose: () => void;
}

/** Two or more runs: one metric's curves overlaid, and their parameters side by side. */
export function CompareRuns(props: ICompareRunsProps): React.ReactElement {
  const { model, trans } = props;
  const runs = model.runs;
  const diff = model.paramDiff;
  const metric = model.metric;
  return (
    <section className="jp-insighter-compare">
      <header className="jp-insighter-run-detail-header">
        <h3>{trans.__('Comparing %1 runs', runs.length)}</h3>
        <label className="jp-insighter-train-field">
          <span>{trans.__('Metric')}</span>
          <select
            className="jp-mod-styled"
            data-testid="insighter-compare-metric"
            value={metric}
            onChange={e => model.setMetric(e.currentTarget.value)}
          >
            {model.metricKeys.map(key => (
              <option key={key} value={key}>
                {key}
              </option>
            ))}
          </select>
        </label>
        <span className="jp-insighter-Experiments-spacer" />
        <button type="button" className="jp-mod-styled" onClick={props.onClose}>
          {trans.__('Close')}
        </button>
      </header>
      {metric && (
        <MetricChart
          metric={metric}
          width={640}
          height={260}
          series={runs.map(run => ({
            id: run.runId,
            label: run.name,
            points: model.metricsOf(run.runId)?.points(metric) ?? []
          }))}
          emptyText={trans.__('No run logged %1.', metric)}
        />
      )}
      <h4>{trans.__('Parameters')}</h4>
      <table className="jp-insighter-param-diff">
        <thead>
          <tr>
            <th>{trans.__('Parameter')}</th>
            {runs.map(run => (
              <th key={run.runId} data-run-id={run.runId}>
                {run.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {diff.map(row => (
            <tr
              key={row.key}
              data-param={row.key}
              data-differs={row.differs}
              className={row.differs ? 'jp-mod-different' : undefined}
            >
              <th>{row.key}</th>
              {row.values.map((value, i) => (
                <td key={runs[i].runId}>{value ?? '—'}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
