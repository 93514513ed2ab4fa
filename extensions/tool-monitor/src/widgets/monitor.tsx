import {
  algorithmLabel,
  ErrorMessage,
  formatBytes,
  formatDuration,
  isCurveKey,
  LogView,
  MetricChart,
  statusLabel,
  formatValue,
  type IJob,
  type IMlflowRun
} from '@insighter/experiments';
import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import {
  type IDeployment,
  ms,
  statusLabel as deploymentStatusLabel
} from '@insighter/deployment';
import type { DeploymentsMonitor } from '../deployments';
import { isLive, MonitorModel, runStatus } from '../model';

function jobDuration(job: IJob, now: number): number | null {
  const start = job.started_at ? Date.parse(job.started_at) : NaN;
  if (Number.isNaN(start)) {
    return null;
  }
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  return end - start;
}

function JobList(props: {
  model: MonitorModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, trans } = props;
  const selected = model.selected;
  return (
    <ul className="jp-insighter-monitor-jobs" aria-label={trans.__('Jobs')}>
      {model.jobs.map(job => (
        <li key={job.id}>
          <button
            type="button"
            className={`jp-insighter-monitor-job${job.id === selected?.id ? ' jp-mod-selected' : ''}`}
            data-job-id={job.id}
            data-run-id={job.run_id}
            data-status={job.status}
            onClick={() => model.select(job.id)}
          >
            <span className="jp-insighter-status" data-status={job.status}>
              {statusLabel(job.status, trans)}
            </span>
            <span className="jp-insighter-monitor-job-name">
              {trans.__('%1 → %2', algorithmLabel(job.algorithm), job.target)}
            </span>
            <span
              className="jp-insighter-Experiments-muted"
              title={Time.format(new Date(job.created_at))}
            >
              {Time.formatHuman(new Date(job.created_at))}
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

function RunList(props: {
  model: MonitorModel;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { model, trans } = props;
  if (model.runs.length === 0) {
    return null;
  }
  const selected = model.selectedRun;
  return (
    <>
      <h3
        className="jp-insighter-monitor-runs-title"
        title={trans.__(
          'Runs logged from notebooks or scripts (insighter.tracking, MLflow clients), not by a job'
        )}
      >
        {trans.__('Notebook runs')}
      </h3>
      <ul
        className="jp-insighter-monitor-jobs"
        aria-label={trans.__('Notebook runs')}
      >
        {model.runs.map(run => {
          const status = runStatus(run);
          const start = run.info.start_time;
          return (
            <li key={run.info.run_id}>
              <button
                type="button"
                className={`jp-insighter-monitor-job jp-insighter-monitor-run${run.info.run_id === selected?.info.run_id ? ' jp-mod-selected' : ''}`}
                data-run-id={run.info.run_id}
                data-status={status}
                onClick={() => model.selectRun(run.info.run_id)}
              >
                <span className="jp-insighter-status" data-status={status}>
                  {statusLabel(status, trans)}
                </span>
                <span className="jp-insighter-monitor-job-name">
                  {run.info.run_name || run.info.run_id}
                </span>
                {start != null && (
                  <span
                    className="jp-insighter-Experiments-muted"
                    title={Time.format(new Date(start))}
                  >
                    {Time.formatHuman(new Date(start))}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </>
  );
}

function DeploymentList(props: {
  model: MonitorModel;
  deployments: DeploymentsMonitor;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { model, deployments, trans } = props;
  if (deployments.deployments.length === 0 && !deployments.error) {
    return null;
  }
  const selected = model.showingDeployment ? deployments.selected : null;
  return (
    <>
      <h3 className="jp-insighter-monitor-runs-title">
        {trans.__('Deployments')}
      </h3>
      <ErrorMessage text={deployments.error} />
      <ul
        className="jp-insighter-monitor-jobs"
        aria-label={trans.__('Deployments')}
      >
        {deployments.deployments.map(d => (
          <li key={d.id}>
            <button
              type="button"
              className={`jp-insighter-monitor-job jp-insighter-monitor-deployment${d.id === selected?.id ? ' jp-mod-selected' : ''}`}
              data-deployment-id={d.id}
              data-status={d.status}
              onClick={() => model.selectDeployment(d.id)}
            >
              <span className="jp-insighter-status" data-status={d.status}>
                {deploymentStatusLabel(d.status, trans)}
              </span>
              <span className="jp-insighter-monitor-job-name">
                {trans.__('%1 v%2', d.slug, d.model_version)}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The selected deployment's traffic: counts, latency percentiles, error rate, recent requests. */
function DeploymentView(props: {
  deployment: IDeployment;
  deployments: DeploymentsMonitor;
  trans: TranslationBundle;
}): React.ReactElement {
  const { deployment, deployments, trans } = props;
  const traffic =
    deployments.traffic?.deploymentId === deployment.id
      ? deployments.traffic
      : null;
  const facts: [string, string, string][] = traffic
    ? [
        ['requests', trans.__('Requests'), String(traffic.requests)],
        [
          'rate',
          trans.__('Per second (last minute)'),
          traffic.requestsPerSecond.toFixed(1)
        ],
        [
          'error_rate',
          trans.__('Error rate'),
          trans.__('%1 %', (traffic.errorRate * 100).toFixed(1))
        ],
        ['p50', trans.__('p50'), ms(traffic.p50Ms)],
        ['p95', trans.__('p95'), ms(traffic.p95Ms)],
        ['p99', trans.__('p99'), ms(traffic.p99Ms)]
      ]
    : [];
  return (
    <section
      className="jp-insighter-monitor-detail jp-insighter-monitor-deployment-detail"
      data-deployment-id={deployment.id}
      data-status={deployment.status}
    >
      <header className="jp-insighter-run-detail-header">
        <h3>
          {trans.__(
            'Deployment %1 v%2',
            deployment.slug,
            deployment.model_version
          )}
        </h3>
        <span
          className="jp-insighter-status jp-insighter-monitor-status"
          data-status={deployment.status}
        >
          {deploymentStatusLabel(deployment.status, trans)}
        </span>
        <span className="jp-insighter-Experiments-muted">
          {[deployment.model_name, deployment.url, deployment.runner]
            .filter(Boolean)
            .join(' · ')}
        </span>
      </header>
      {deployment.error && (
        <p
          className="jp-insighter-Experiments-message jp-mod-error"
          role="alert"
        >
          {deployment.error}
        </p>
      )}
      {traffic ? (
        <dl className="jp-insighter-metric-values">
          {facts.map(([id, label, value]) => (
            <div key={id} className="jp-insighter-metric-value">
              <dt>{label}</dt>
              <dd data-metric={id}>{value}</dd>
            </div>
          ))}
        </dl>
      ) : (
        <p className="jp-insighter-Experiments-muted">
          {trans.__('No requests yet.')}
        </p>
      )}
      {traffic && traffic.recent.length > 0 && (
        <table
          className="jp-insighter-monitor-requests"
          aria-label={trans.__('Recent requests')}
        >
          <thead>
            <tr>
              <th>{trans.__('Time')}</th>
              <th>{trans.__('Status')}</th>
              <th>{trans.__('Latency')}</th>
              <th>{trans.__('Rows')}</th>
              <th>{trans.__('Caller')}</th>
              <th>{trans.__('Answer')}</th>
            </tr>
          </thead>
          <tbody>
            {traffic.recent.map((r, i) => (
              <tr
                key={`${r.at}-${i}`}
                className={r.status >= 400 ? 'jp-mod-error' : undefined}
                data-request-status={r.status}
              >
                <td title={Time.format(new Date(r.at))}>
                  {new Date(r.at).toLocaleTimeString()}
                </td>
                <td>{r.status}</td>
                <td>{ms(r.latencyMs)}</td>
                <td>{r.rows}</td>
                <td>{r.caller}</td>
                <td className="jp-insighter-monitor-answer">
                  {r.error ?? JSON.stringify(r.prediction ?? null)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The selected job's or run's final values and curves, growing as it logs. */
function RunCurves(props: {
  model: MonitorModel;
  emptyText: string;
}): React.ReactElement {
  const metrics = props.model.metrics;
  const keys = metrics?.keys ?? [];
  const curves = keys.filter(key => isCurveKey(key, metrics!.points(key)));
  const finals = keys.filter(key => !curves.includes(key));
  return (
    <>
      {finals.length > 0 && (
        <dl className="jp-insighter-metric-values">
          {finals.map(key => (
            <div key={key} className="jp-insighter-metric-value">
              <dt>{key}</dt>
              <dd data-metric-value={key}>
                {formatValue(metrics!.latest(key)!)}
              </dd>
            </div>
          ))}
        </dl>
      )}
      <div className="jp-insighter-chart-grid">
        {curves.map(key => (
          <MetricChart
            key={key}
            metric={key}
            series={[{ label: key, points: metrics!.points(key) }]}
          />
        ))}
        {curves.length === 0 && (
          <p className="jp-insighter-Experiments-muted">{props.emptyText}</p>
        )}
      </div>
    </>
  );
}

function RunView(props: {
  model: MonitorModel;
  run: IMlflowRun;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, run, trans } = props;
  const status = runStatus(run);
  const tag = (key: string) => run.data.tags?.find(t => t.key === key)?.value;
  const source = tag('mlflow.source.name');
  const start = run.info.start_time;
  const duration =
    start == null
      ? null
      : (run.info.end_time || (isLive(status) ? Date.now() : start)) - start;
  return (
    <section
      className="jp-insighter-monitor-detail"
      data-run-id={run.info.run_id}
      data-status={status}
    >
      <header className="jp-insighter-run-detail-header">
        <h3>{trans.__('Run %1', run.info.run_name || run.info.run_id)}</h3>
        <span
          className="jp-insighter-status jp-insighter-monitor-status"
          data-status={status}
        >
          {statusLabel(status, trans)}
        </span>
        <span className="jp-insighter-Experiments-muted">
          {[
            source ? trans.__('from %1', source) : trans.__('no job'),
            run.info.user_id,
            formatDuration(duration, trans)
          ]
            .filter(Boolean)
            .join(' · ')}
        </span>
      </header>
      {tag('insighter.error') && (
        <p
          className="jp-insighter-Experiments-message jp-mod-error"
          role="alert"
          data-testid="insighter-monitor-run-error"
        >
          {tag('insighter.error')}
        </p>
      )}
      <RunCurves
        model={model}
        emptyText={
          isLive(status)
            ? trans.__('Curves appear as the run logs its metrics.')
            : trans.__('This run logged no curve.')
        }
      />
    </section>
  );
}

function JobView(props: {
  model: MonitorModel;
  job: IJob;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, job, trans } = props;
  const logs = model.logs;
  const stats = model.stats;
  return (
    <section
      className="jp-insighter-monitor-detail"
      data-job-id={job.id}
      data-run-id={job.run_id}
      data-status={job.status}
    >
      <header className="jp-insighter-run-detail-header">
        <h3>{trans.__('Job %1', job.id.slice(0, 8))}</h3>
        <span
          className="jp-insighter-status jp-insighter-monitor-status"
          data-status={job.status}
        >
          {statusLabel(job.status, trans)}
        </span>
        <span className="jp-insighter-Experiments-muted">
          {[
            algorithmLabel(job.algorithm),
            trans.__('target %1', job.target),
            trans.__('runner %1', job.runner),
            formatDuration(jobDuration(job, Date.now()), trans),
            job.model_version != null &&
              trans.__('registered as version %1', job.model_version)
          ]
            .filter(Boolean)
            .join(' · ')}
        </span>
        <span className="jp-insighter-Experiments-spacer" />
        {isLive(job.status) && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-warn"
            onClick={() => void model.cancel(job.id)}
          >
            {trans.__('Cancel job')}
          </button>
        )}
      </header>
      {job.error && (
        <p
          className="jp-insighter-Experiments-message jp-mod-error"
          role="alert"
          data-testid="insighter-monitor-job-error"
        >
          {job.error}
        </p>
      )}
      <ErrorMessage text={model.actionError} />
      {stats && (
        <dl className="jp-insighter-monitor-stats">
          <div>
            <dt>{trans.__('CPU')}</dt>
            <dd data-stat="cpu">
              {trans.__('%1 %', stats.cpu_percent.toFixed(1))}
            </dd>
          </div>
          <div>
            <dt>{trans.__('Memory')}</dt>
            <dd data-stat="memory">
              {stats.memory_limit_bytes
                ? trans.__(
                    '%1 of %2',
                    formatBytes(stats.memory_bytes),
                    formatBytes(stats.memory_limit_bytes)
                  )
                : formatBytes(stats.memory_bytes)}
            </dd>
          </div>
        </dl>
      )}
      <RunCurves
        model={model}
        emptyText={
          isLive(job.status)
            ? trans.__('Curves appear as the job logs its metrics.')
            : trans.__('This job logged no curve.')
        }
      />
      {logs && (
        <LogView
          buffer={logs.buffer}
          trans={trans}
          follow={model.follow}
          onFollowChange={follow => {
            model.follow = follow;
          }}
          footer={logs.error ?? (logs.done ? trans.__('The job ended.') : null)}
          emptyText={
            isLive(job.status)
              ? trans.__('Waiting for the first line…')
              : undefined
          }
        />
      )}
    </section>
  );
}

/** The Tool Monitor: jobs on the left, the selected one's status, resources, curves and log. */
export class MonitorPanel extends ReactWidget {
  constructor(
    readonly model: MonitorModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-insighter-Monitor');
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
    const model = this.model;
    const trans = this._trans;
    const deployments = model.deployments;
    const deployment = model.showingDeployment
      ? (deployments?.selected ?? null)
      : null;
    const job = model.selected;
    const run = job ? null : model.selectedRun;
    return (
      <div
        className="jp-insighter-Monitor-body"
        data-testid="insighter-monitor"
      >
        <div className="jp-insighter-Monitor-side">
          <div className="jp-insighter-Experiments-toolbar">
            <h3>{trans.__('Jobs')}</h3>
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
          {model.status === 'ready' &&
            model.jobs.length === 0 &&
            model.runs.length === 0 && (
              <p
                className="jp-insighter-Experiments-muted"
                data-testid="insighter-monitor-empty"
              >
                {trans.__(
                  'No job yet. Jobs started from Experiments show here live.'
                )}
              </p>
            )}
          <JobList model={model} trans={trans} />
          <RunList model={model} trans={trans} />
          {deployments && (
            <DeploymentList
              model={model}
              deployments={deployments}
              trans={trans}
            />
          )}
        </div>
        <div className="jp-insighter-Monitor-main">
          {deployment && deployments ? (
            <DeploymentView
              key={deployment.id}
              deployment={deployment}
              deployments={deployments}
              trans={trans}
            />
          ) : job ? (
            <JobView key={job.id} model={model} job={job} trans={trans} />
          ) : run ? (
            <RunView
              key={run.info.run_id}
              model={model}
              run={run}
              trans={trans}
            />
          ) : (
            <p className="jp-insighter-Experiments-muted">
              {trans.__('Select a job to see its log and metrics.')}
            </p>
          )}
        </div>
      </div>
    );
  }
}
