import type { ISidecarClient } from '@insighter/core';
import type {
  IApiKey,
  ICreatedApiKey,
  IDeployment,
  IDeploymentMetricsSnapshot
} from './tokens';

const DEPLOYMENTS = 'api/v1/deployments';

/**
 * Every call this package makes to the sidecar's deployments routes. Errors
 * are the client's `SidecarError`s, with the sidecar's message.
 */
export class DeploymentsApi {
  constructor(
    private readonly _client: Pick<ISidecarClient, 'request' | 'baseUrl'>
  ) {}

  /** The prediction endpoint as the browser reaches it (through the Jupyter proxy). */
  endpointUrl(deployment: Pick<IDeployment, 'url'>): string {
    return this._client.baseUrl + deployment.url.replace(/^\/+/, '');
  }

  async list(projectId: string): Promise<IDeployment[]> {
    const answer = await this._client.request<{ deployments: IDeployment[] }>(
      `${DEPLOYMENTS}?project_id=${encodeURIComponent(projectId)}`
    );
    return answer.deployments;
  }

  get(id: string): Promise<IDeployment> {
    return this._client.request<IDeployment>(`${DEPLOYMENTS}/${id}`);
  }

  deploy(projectId: string, version: number, modelName?: string): Promise<IDeployment> {
    return this._client.request<IDeployment>(DEPLOYMENTS, {
      method: 'POST',
      json: {
        project_id: projectId,
        version,
        ...(modelName ? { model_name: modelName } : {})
      }
    });
  }

  /** Each API key's (and user's) predictions per minute; null lifts the limit. */
  setRateLimit(id: string, perMinute: number | null): Promise<IDeployment> {
    return this._client.request<IDeployment>(`${DEPLOYMENTS}/${id}`, {
      method: 'PATCH',
      json: { rate_limit_per_minute: perMinute }
    });
  }

  undeploy(id: string): Promise<IDeployment> {
    return this._client.request<IDeployment>(`${DEPLOYMENTS}/${id}`, {
      method: 'DELETE'
    });
  }

  metrics(id: string): Promise<IDeploymentMetricsSnapshot> {
    return this._client.request<IDeploymentMetricsSnapshot>(
      `${DEPLOYMENTS}/${id}/metrics`
    );
  }

  async keys(id: string): Promise<IApiKey[]> {
    const answer = await this._client.request<{ keys: IApiKey[] }>(
      `${DEPLOYMENTS}/${id}/keys`
    );
    return answer.keys;
  }

  createKey(id: string, name: string): Promise<ICreatedApiKey> {
    return this._client.request<ICreatedApiKey>(`${DEPLOYMENTS}/${id}/keys`, {
      method: 'POST',
      json: { name }
    });
  }

  revokeKey(id: string, keyId: string): Promise<IApiKey> {
    return this._client.request<IApiKey>(`${DEPLOYMENTS}/${id}/keys/${keyId}`, {
      method: 'DELETE'
    });
  }
}

/**
 * A curl command that sends one prediction request: the model's example row
 * when known, with the API key (or a placeholder for it) in `X-API-Key`.
 */
export function curlExample(
  url: string,
  example: { columns: string[]; data: unknown[][] } | null,
  key?: string | null
): string {
  const body = JSON.stringify({
    dataframe_split: example ?? { columns: ['<column>'], data: [['<value>']] }
  });
  return [
    `curl -X POST '${url}'`,
    `  -H 'Content-Type: application/json'`,
    `  -H 'X-API-Key: ${key ?? '<your API key>'}'`,
    `  -d '${body.replace(/'/g, "'\\''")}'`
  ].join(' \\\n');
}
