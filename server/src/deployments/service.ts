import {
  canWriteProject,
  findDeployment,
  insertDeployment,
  insertDeploymentKey,
  latestRateLimit,
  listDeploymentKeys,
  listDeployments,
  revokeDeploymentKey,
  setDeploymentRateLimit,
  setDeploymentStatus,
  stopDeploymentAsUser,
  type DeploymentKeyRow,
  type DeploymentRow,
  type DeploymentRunner
} from '../adapters/deployments-store';
import { SANDBOX_MISSING } from '../jobs/sandbox';
import { findProject } from '../adapters/projects-store';
import { sqlState, SqlState } from '../db/errors';
import type { Database, JwtClaims, Queryable } from '../db/types';
import { HttpError } from '../http/errors';
import { generateApiKey, type ApiKeyResolver } from './api-keys';
import type { MetricsSnapshot } from './metrics';
import type { ModelSource } from './model-source';
import type { SandboxKind, ServingRunners } from './placement';
import type { DeploymentRuntime } from './runtime';
import type { ModelLoader } from './worker';

/**
 * Deployments as the signed-in user sees them: deploy a model version of a
 * project, list, read, stop; the endpoint's API keys; its metrics.
 * Row-level security decides who may do what (the project's readers read,
 * its writers deploy, stop and manage keys); the runtime runs the workers.
 * A version no Insighter job produced runs only in a sandbox: without one,
 * deploying it is refused (409) in words that say what to install.
 */
export interface Deployment {
  id: string;
  project_id: string;
  slug: string;
  /** `/api/v1/predict/<slug>`, on the sidecar (and through the Jupyter proxy). */
  url: string;
  status: DeploymentRow['status'];
  model_name: string;
  model_version: number;
  runner: DeploymentRunner;
  /** Why it failed or stopped. */
  error: string | null;
  /** A worker answers its traffic on this sidecar now. */
  serving: boolean;
  /**
   * While served here: how the model is loaded (`json`: the safe format of
   * a version an Insighter job produced; `pickle`: anything else) and what
   * its worker runs in.
   */
  loader: ModelLoader | null;
  sandbox: SandboxKind | null;
  /**
   * While served here: a request body the model takes (one row of its input
   * example, in `dataframe_split` form), for curl examples.
   */
  example: { columns: string[]; data: unknown[][] } | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  ready_at: string | null;
  stopped_at: string | null;
  /** Predictions per minute each API key (and each signed-in caller) may make; null: no limit. */
  rate_limit_per_minute: number | null;
}

export interface DeploymentInput {
  project_id: string;
  model_name?: string;
  version: number;
  /** Undefined: the project's previous deployment's limit carries over. */
  rate_limit_per_minute?: number | null;
}

export interface CreatedApiKey extends DeploymentKeyRow {
  /** The key itself: shown this once. */
  key: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const deploymentNotFound = () =>
  new HttpError(404, 'Deployment not found.', 'not_found');

const onlyWriters = (what: string) =>
  new HttpError(
    403,
    `Only the project's owner and its team's members (not viewers) can ${what}.`,
    'forbidden'
  );

export class DeploymentsService {
  constructor(
    private readonly db: Database,
    private readonly runtime: DeploymentRuntime,
    private readonly models: ModelSource,
    private readonly keys: ApiKeyResolver,
    private readonly runners: ServingRunners
  ) {}

  async list(user: JwtClaims, projectId?: string): Promise<Deployment[]> {
    if (projectId !== undefined && !UUID.test(projectId)) {
      return [];
    }
    const rows = await this.db.withClaims(user, tx => listDeployments(tx, projectId));
    return rows.map(row => this.present(row));
  }

  async get(user: JwtClaims, id: string): Promise<Deployment> {
    return this.present(await this.readable(user, id));
  }

  async create(user: JwtClaims, input: DeploymentInput): Promise<Deployment> {
    if (!UUID.test(input.project_id)) {
      throw new HttpError(404, 'Project not found.', 'not_found');
    }
    const project = await this.db.withClaims(user, async tx => {
      const found = await findProject(tx, input.project_id);
      if (!found) {
        throw new HttpError(404, 'Project not found.', 'not_found');
      }
      if (!(await canWriteProject(tx, found.id))) {
        throw onlyWriters("deploy the project's models");
      }
      return found;
    });
    const modelName = input.model_name ?? project.slug;
    const model = await this.models.findVersion(user, modelName, input.version);
    if (!model) {
      throw new HttpError(
        404,
        `Model "${modelName}" has no version ${input.version}: train one first, or pick a registered version.`,
        'model_not_found'
      );
    }
    if (model.projectId !== project.id) {
      throw new HttpError(
        400,
        `Model "${modelName}" belongs to another project: deploy it from its own project.`,
        'invalid_input'
      );
    }
    // Before anything changes: a model that may only run in a sandbox, and no sandbox, is refused.
    const placement =
      model.builtInDigest !== undefined
        ? await this.runners.safe()
        : await this.runners.sandboxed();
    if (!placement) {
      throw new HttpError(
        409,
        `Version ${model.version} of "${model.name}" was not trained by Insighter's jobs, so it can only be served in a sandbox. ${SANDBOX_MISSING}`,
        'sandbox_unavailable'
      );
    }
    const runner: DeploymentRunner = placement.runner.kind;
    // A deployment still starting is overtaken: the newest request wins.
    const overtaken = await this.db.asService(async tx => {
      const rows = await tx.query<{ id: string }>(
        `select id from public.deployments where project_id = $1 and status in ('pending', 'starting')`,
        [project.id]
      );
      const stopped: DeploymentRow[] = [];
      for (const { id } of rows.rows) {
        const row = await setDeploymentStatus(tx, id, {
          status: 'stopped',
          error: `Replaced by version ${input.version} before it was ready.`,
          runner_ref: null
        });
        if (row) {
          stopped.push(row);
        }
      }
      return stopped;
    });
    for (const row of overtaken) {
      await this.runtime.stop(row.id);
      this.runtime.announce(row);
    }
    let row: DeploymentRow;
    try {
      row = await this.db.withClaims(user, async tx =>
        insertDeployment(tx, {
          project_id: project.id,
          model_name: model.name,
          model_version: model.version,
          url: `/api/v1/predict/${project.slug}`,
          runner,
          rate_limit_per_minute:
            input.rate_limit_per_minute !== undefined
              ? input.rate_limit_per_minute
              : await latestRateLimit(tx, project.id)
        })
      );
    } catch (err) {
      throw translate(err, "deploy the project's models");
    }
    this.runtime.announce(row);
    this.runtime.launch(
      row,
      () => this.models.download(user, model, this.runtime.modelDir(row.id)),
      model.builtInDigest
    );
    return this.present(row);
  }

  /** Undeploys: no more traffic, held requests answered, the worker ends. */
  async stop(user: JwtClaims, id: string): Promise<Deployment> {
    assertId(id);
    const row = await this.db
      .withClaims(user, async tx => {
        const stopped = await stopDeploymentAsUser(tx, id, 'Undeployed.');
        if (stopped) {
          return { row: stopped, changed: true };
        }
        const current = await findDeployment(tx, id);
        if (!current) {
          throw deploymentNotFound();
        }
        if (current.status === 'stopped') {
          return { row: current, changed: false };
        }
        throw onlyWriters('stop its deployments');
      })
      .catch(err => {
        throw translate(err, 'stop its deployments');
      });
    if (row.changed) {
      await this.runtime.stop(id);
      this.runtime.announce(row.row);
    }
    return this.present(row.row);
  }

  /** Sets (null: lifts) the endpoint's rate limit; it applies to the next prediction. */
  async setRateLimit(user: JwtClaims, id: string, limit: number | null): Promise<Deployment> {
    const deployment = await this.readable(user, id);
    const row = await this.db
      .withClaims(user, async tx => {
        if (!(await setDeploymentRateLimit(tx, deployment.id, limit))) {
          throw onlyWriters('set its rate limit');
        }
        return (await findDeployment(tx, deployment.id)) as DeploymentRow;
      })
      .catch(err => {
        throw translate(err, 'set its rate limit');
      });
    // The endpoint limits with the runtime's copy of the row it serves.
    const served = this.runtime.endpoint(row.slug);
    if (served?.row.id === row.id) {
      served.row = { ...served.row, rate_limit_per_minute: row.rate_limit_per_minute };
    }
    return this.present(row);
  }

  async createKey(user: JwtClaims, deploymentId: string, name: string): Promise<CreatedApiKey> {
    const deployment = await this.readable(user, deploymentId);
    const key = generateApiKey();
    const row = await this.db
      .withClaims(user, async tx => {
        await this.assertWriter(tx, deployment.project_id, 'create API keys');
        return insertDeploymentKey(tx, {
          project_id: deployment.project_id,
          deployment_id: deployment.id,
          name,
          prefix: key.prefix,
          key_hash: key.hash
        });
      })
      .catch(err => {
        throw translate(err, 'create API keys');
      });
    this.keys.forget();
    return { ...row, key: key.key };
  }

  async listKeys(user: JwtClaims, deploymentId: string): Promise<DeploymentKeyRow[]> {
    const deployment = await this.readable(user, deploymentId);
    return this.db.withClaims(user, async tx => {
      await this.assertWriter(tx, deployment.project_id, 'see API keys');
      return listDeploymentKeys(tx, deployment.project_id);
    });
  }

  async revokeKey(user: JwtClaims, deploymentId: string, keyId: string): Promise<DeploymentKeyRow> {
    const deployment = await this.readable(user, deploymentId);
    const row = await this.db
      .withClaims(user, async tx => {
        await this.assertWriter(tx, deployment.project_id, 'revoke API keys');
        const revoked = UUID.test(keyId)
          ? await revokeDeploymentKey(tx, deployment.project_id, keyId)
          : undefined;
        if (!revoked) {
          throw new HttpError(404, 'API key not found.', 'not_found');
        }
        return revoked;
      })
      .catch(err => {
        throw translate(err, 'revoke API keys');
      });
    this.keys.forget(row.id);
    return row;
  }

  /**
   * The endpoint's traffic. Who called (API key prefixes, user ids) is for
   * those who manage its keys, the project's writers; viewers see the
   * requests without it.
   */
  async metrics(user: JwtClaims, id: string): Promise<MetricsSnapshot & { serving: boolean }> {
    const deployment = await this.readable(user, id);
    const snapshot = this.runtime.metricsOf(deployment.id).snapshot();
    const writer = await this.db.withClaims(user, tx => canWriteProject(tx, deployment.project_id));
    return {
      ...snapshot,
      recent: writer ? snapshot.recent : snapshot.recent.map(({ caller: _caller, ...rest }) => rest),
      serving: this.runtime.isServing(deployment.id)
    };
  }

  private async readable(user: JwtClaims, id: string): Promise<DeploymentRow> {
    assertId(id);
    const row = await this.db.withClaims(user, tx => findDeployment(tx, id));
    if (!row) {
      throw deploymentNotFound();
    }
    return row;
  }

  private async assertWriter(tx: Queryable, projectId: string, what: string): Promise<void> {
    if (!(await canWriteProject(tx, projectId))) {
      throw onlyWriters(what);
    }
  }

  private present(row: DeploymentRow): Deployment {
    return {
      id: row.id,
      project_id: row.project_id,
      slug: row.slug,
      url: row.url,
      status: row.status,
      model_name: row.model_name,
      model_version: row.model_version,
      runner: row.runner,
      error: row.error,
      serving: this.runtime.isServing(row.id),
      loader: this.runtime.servingOf(row.id)?.loader ?? null,
      sandbox: this.runtime.servingOf(row.id)?.sandbox ?? null,
      example: this.runtime.exampleOf(row.id) ?? null,
      created_by: row.created_by,
      created_at: row.created_at,
      updated_at: row.updated_at,
      ready_at: row.ready_at,
      stopped_at: row.stopped_at,
      rate_limit_per_minute: row.rate_limit_per_minute
    };
  }
}

/** Ids that cannot be a deployment's are unknown deployments, not bad requests. */
function assertId(id: string): void {
  if (!UUID.test(id)) {
    throw deploymentNotFound();
  }
}

/** Database refusals the checks above should have caught, still answered clearly. */
function translate(err: unknown, what: string): unknown {
  if (err instanceof HttpError) {
    return err;
  }
  switch (sqlState(err)) {
    case SqlState.insufficientPrivilege:
      return onlyWriters(what);
    case SqlState.uniqueViolation:
      return new HttpError(
        409,
        'Another deployment of this project was requested at the same moment: look at the list, then try again.',
        'conflict'
      );
    default:
      return err;
  }
}
