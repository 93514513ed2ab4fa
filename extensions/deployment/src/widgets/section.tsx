import { Clipboard } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { curlExample } from '../api';
import { ms, statusLabel } from '../format';
import type { DeploymentModel } from '../model';
import type { IDeploymentMetricsSnapshot } from '../tokens';

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

function ErrorMessage(props: { text: string | null }): React.ReactElement | null {
  return props.text ? (
    <p className="jp-insighter-Deployment-message jp-mod-error" role="alert">
      {props.text}
    </p>
  ) : null;
}

function CopyButton(props: { text: string; label: string; testId: string }): React.ReactElement {
  const [copied, setCopied] = React.useState(false);
  return (
    <button
      type="button"
      className="jp-mod-styled"
      data-testid={props.testId}
      onClick={() => {
        Clipboard.copyToSystem(props.text);
        setCopied(true);
      }}
    >
      {copied ? '✓ ' : ''}
      {props.label}
    </button>
  );
}

function DeployForm(props: { model: DeploymentModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  const versions = model.versions;
  const [picked, setPicked] = React.useState<string>('');
  const version = picked || (versions[0] !== undefined ? String(versions[0]) : '');
  if (versions.length === 0) {
    return (
      <p className="jp-insighter-Deployment-muted" data-testid="insighter-deploy-empty">
        {trans.__(
          'No registered model version yet: train one in Experiments, and its version appears here.'
        )}
      </p>
    );
  }
  return (
    <form
      className="jp-insighter-Deployment-form"
      onSubmit={e => {
        e.preventDefault();
        if (version) {
          void model.deploy(Number(version));
        }
      }}
    >
      <label>
        <span>{trans.__('Model version')}</span>
        <select
          className="jp-mod-styled"
          data-testid="insighter-deploy-version"
          value={version}
          onChange={e => setPicked(e.currentTarget.value)}
        >
          {versions.map(v => (
            <option key={v} value={String(v)}>
              {trans.__('%1 version %2', model.project.slug, v)}
            </option>
          ))}
        </select>
      </label>
      <button
        type="submit"
        className="jp-mod-styled jp-mod-accept"
        data-testid="insighter-deploy-button"
        disabled={model.busy}
      >
        {model.current ? trans.__('Deploy this version') : trans.__('Deploy')}
      </button>
    </form>
  );
}

function CurrentDeployment(props: { model: DeploymentModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  const current = model.current;
  const upcoming = model.upcoming;
  if (!current) {
    return (
      <p className="jp-insighter-Deployment-muted" data-testid="insighter-deployment-none">
        {trans.__('Nothing is deployed: pick a version and deploy it to get a prediction endpoint.')}
      </p>
    );
  }
  return (
    <div className="jp-insighter-Deployment-current" data-testid="insighter-deployment-current">
      <div className="jp-insighter-Deployment-row">
        <span
          className={`jp-insighter-Deployment-status jp-mod-${current.status}`}
          data-testid="insighter-deployment-status"
          data-status={current.status}
          data-version={current.model_version}
        >
          {statusLabel(current.status, trans)}
        </span>
        <span>{trans.__('%1 version %2', current.model_name, current.model_version)}</span>
        {current.status === 'ready' && current.serving && (
          <span className="jp-insighter-Deployment-muted">
            {trans.__('serving since %1', when(current.ready_at))}
          </span>
        )}
        <span className="jp-insighter-Deployment-spacer" />
        <button
          type="button"
          className="jp-mod-styled jp-mod-warn"
          data-testid="insighter-undeploy-button"
          disabled={model.busy}
          onClick={() => void model.undeploy()}
        >
          {trans.__('Undeploy')}
        </button>
      </div>
      {current.error && current.status !== 'ready' && (
        <p className="jp-insighter-Deployment-detail" data-testid="insighter-deployment-error">
          {current.error}
        </p>
      )}
      {upcoming && (
        <p className="jp-insighter-Deployment-muted" data-testid="insighter-deployment-upcoming">
          {trans.__(
            'Version %1 is starting: traffic moves to it once it answers, with no request lost.',
            upcoming.model_version
          )}
        </p>
      )}
    </div>
  );
}

function Endpoint(props: { model: DeploymentModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  const url = model.endpointUrl;
  const curl = curlExample(url, model.current?.example ?? null, model.newKey?.key ?? null);
  return (
    <div className="jp-insighter-Deployment-endpoint">
      <div className="jp-insighter-Deployment-row">
        <span>{trans.__('Endpoint')}</span>
        <code data-testid="insighter-deployment-url">{url}</code>
        <CopyButton text={url} label={trans.__('Copy URL')} testId="insighter-copy-url" />
      </div>
      <p className="jp-insighter-Deployment-muted">
        {trans.__(
          "POST rows as MLflow's scoring server takes them (dataframe_split, dataframe_records, instances, inputs, or CSV); the answer is {\"predictions\": [...]} with each class's probability. Authenticate with an API key, or your own session."
        )}
      </p>
      <pre className="jp-insighter-Deployment-curl" data-testid="insighter-curl">
        {curl}
      </pre>
      <CopyButton text={curl} label={trans.__('Copy curl example')} testId="insighter-copy-curl" />
    </div>
  );
}

function ApiKeys(props: { model: DeploymentModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  const [name, setName] = React.useState('');
  const fresh = model.newKey;
  return (
    <div className="jp-insighter-Deployment-keys">
      <h4>{trans.__('API keys')}</h4>
      <form
        className="jp-insighter-Deployment-form"
        onSubmit={e => {
          e.preventDefault();
          void model.createKey(name).then(() => setName(''));
        }}
      >
        <input
          className="jp-mod-styled"
          aria-label={trans.__('Key name')}
          placeholder={trans.__('What uses it, e.g. billing service')}
          data-testid="insighter-key-name"
          value={name}
          onChange={e => setName(e.currentTarget.value)}
        />
        <button
          type="submit"
          className="jp-mod-styled"
          data-testid="insighter-key-create"
          disabled={model.busy}
        >
          {trans.__('Create key')}
        </button>
      </form>
      {fresh && (
        <div className="jp-insighter-Deployment-newkey" data-testid="insighter-new-key">
          <p>{trans.__('Copy the key now: it is not shown again.')}</p>
          <code data-testid="insighter-new-key-value">{fresh.key}</code>
          <CopyButton text={fresh.key} label={trans.__('Copy key')} testId="insighter-copy-key" />
          <button type="button" className="jp-mod-styled" onClick={() => model.dismissNewKey()}>
            {trans.__('Done')}
          </button>
        </div>
      )}
      {model.keys.length === 0 ? (
        <p className="jp-insighter-Deployment-muted">{trans.__('No API key yet.')}</p>
      ) : (
        <table className="jp-insighter-Deployment-table" data-testid="insighter-keys">
          <thead>
            <tr>
              <th>{trans.__('Name')}</th>
              <th>{trans.__('Key')}</th>
              <th>{trans.__('Created')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {model.keys.map(key => (
              <tr key={key.id} data-key-id={key.id} data-revoked={key.revoked_at ? 'true' : 'false'}>
                <td>{key.name || trans.__('(unnamed)')}</td>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{when(key.created_at)}</td>
                <td>
                  {key.revoked_at ? (
                    <span className="jp-insighter-Deployment-muted">
                      {trans.__('revoked %1', when(key.revoked_at))}
                    </span>
                  ) : (
                    <button
                      type="button"
                      className="jp-mod-styled jp-mod-warn"
                      data-testid="insighter-key-revoke"
                      disabled={model.busy}
                      onClick={() => void model.revokeKey(key.id)}
                    >
                      {trans.__('Revoke')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function RateLimit(props: { model: DeploymentModel; trans: TranslationBundle }): React.ReactElement | null {
  const { model, trans } = props;
  const current = model.current;
  const [value, setValue] = React.useState('');
  if (!current) {
    return null;
  }
  const limit = current.rate_limit_per_minute;
  return (
    <div className="jp-insighter-Deployment-ratelimit">
      <h4>{trans.__('Rate limit')}</h4>
      <p className="jp-insighter-Deployment-muted" data-testid="insighter-rate-limit">
        {limit === null
          ? trans.__('No limit: every API key (and user) may make as many predictions as the model answers.')
          : trans.__(
              'Each API key (and each user) may make %1 predictions per minute; more are answered 429 with Retry-After.',
              limit
            )}
      </p>
      <form
        className="jp-insighter-Deployment-form"
        onSubmit={e => {
          e.preventDefault();
          void model.setRateLimit(Number(value)).then(() => setValue(''));
        }}
      >
        <input
          className="jp-mod-styled"
          type="number"
          min={1}
          step={1}
          aria-label={trans.__('Predictions per minute')}
          placeholder={trans.__('Predictions per minute, e.g. 600')}
          data-testid="insighter-rate-limit-value"
          value={value}
          onChange={e => setValue(e.currentTarget.value)}
        />
        <button
          type="submit"
          className="jp-mod-styled"
          data-testid="insighter-rate-limit-set"
          disabled={model.busy || value === ''}
        >
          {trans.__('Set limit')}
        </button>
        {limit !== null && (
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="insighter-rate-limit-lift"
            disabled={model.busy}
            onClick={() => void model.setRateLimit(null)}
          >
            {trans.__('No limit')}
          </button>
        )}
      </form>
    </div>
  );
}

function Metrics(props: { metrics: IDeploymentMetricsSnapshot | null; trans: TranslationBundle }): React.ReactElement {
  const { metrics, trans } = props;
  if (!metrics) {
    return <p className="jp-insighter-Deployment-muted">{trans.__('No requests yet.')}</p>;
  }
  const latency = metrics.latency_ms;
  const facts: [string, string, string][] = [
    ['requests', trans.__('Requests'), String(metrics.requests)],
    ['rate', trans.__('Per second (last minute)'), metrics.requests_per_second.toFixed(1)],
    ['errors', trans.__('Error rate'), `${(metrics.error_rate * 100).toFixed(1)} %`],
    ['p50', trans.__('p50'), ms(latency?.p50)],
    ['p95', trans.__('p95'), ms(latency?.p95)],
    ['p99', trans.__('p99'), ms(latency?.p99)]
  ];
  return (
    <div className="jp-insighter-Deployment-metrics" data-testid="insighter-deployment-metrics">
      <dl className="jp-insighter-Deployment-facts">
        {facts.map(([id, label, value]) => (
          <div key={id} data-metric={id}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {metrics.recent.length > 0 && (
        <table className="jp-insighter-Deployment-table" data-testid="insighter-recent-requests">
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
            {metrics.recent.map((r, i) => (
              <tr key={`${r.at}-${i}`} className={r.status >= 400 ? 'jp-mod-error' : undefined}>
                <td>{new Date(r.at).toLocaleTimeString()}</td>
                <td>{r.status}</td>
                <td>{ms(r.latencyMs)}</td>
                <td>{r.rows}</td>
                <td>{r.caller ?? '—'}</td>
                <td className="jp-insighter-Deployment-answer">
                  {r.error ?? JSON.stringify(r.prediction ?? null)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function History(props: { model: DeploymentModel; trans: TranslationBundle }): React.ReactElement | null {
  const { model, trans } = props;
  if (model.deployments.length === 0) {
    return null;
  }
  return (
    <table className="jp-insighter-Deployment-table" data-testid="insighter-deployment-history">
      <thead>
        <tr>
          <th>{trans.__('Version')}</th>
          <th>{trans.__('Status')}</th>
          <th>{trans.__('Deployed')}</th>
          <th>{trans.__('Detail')}</th>
        </tr>
      </thead>
      <tbody>
        {model.deployments.map(d => (
          <tr key={d.id} data-deployment-id={d.id} data-status={d.status}>
            <td>{d.model_version}</td>
            <td>{statusLabel(d.status, trans)}</td>
            <td>{when(d.created_at)}</td>
            <td>{d.error ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The whole section: what is deployed, how to call it, its keys, metrics and history. */
export function DeploymentView(props: { model: DeploymentModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  return (
    <div className="jp-insighter-Deployment-body" data-project-id={model.project.id}>
      <h3>{trans.__('Deployment')}</h3>
      <ErrorMessage text={model.error} />
      {model.status === 'loading' && (
        <p className="jp-insighter-Deployment-muted">{trans.__('Loading deployments…')}</p>
      )}
      {model.status !== 'loading' && (
        <>
          <CurrentDeployment model={model} trans={trans} />
          <DeployForm model={model} trans={trans} />
          <ErrorMessage text={model.actionError} />
          <Endpoint model={model} trans={trans} />
          {model.current && (
            <>
              <ApiKeys model={model} trans={trans} />
              <RateLimit model={model} trans={trans} />
              <h4>{trans.__('Requests')}</h4>
              <Metrics metrics={model.metrics} trans={trans} />
            </>
          )}
          {model.deployments.length > 0 && <h4>{trans.__('History')}</h4>}
          <History model={model} trans={trans} />
        </>
      )}
    </div>
  );
}

/** The Studio's Deployment section of one project; it owns its model. */
export class DeploymentSection extends ReactWidget {
  constructor(
    readonly model: DeploymentModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-insighter-Deployment');
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
    return <DeploymentView model={this.model} trans={this._trans} />;
  }
}
