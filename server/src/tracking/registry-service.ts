import type { Database, Queryable } from '../db/types';
import type { EventHub } from '../events/hub';
import { doesNotExist, invalidParameter } from './errors';
import { findRun } from './runs-store';
import {
  owningProject,
  PROJECT_TAG,
  readOnly,
  translate
} from './project-access';
import {
  archiveOthersInStage,
  deleteAlias,
  deleteModel,
  deleteModelTag,
  deleteVersion,
  deleteVersionTag,
  findAlias,
  findModel,
  findVersion,
  insertModel,
  insertVersion,
  modelDetails,
  searchModels,
  searchVersions,
  takeVersionNumber,
  updateModel,
  updateVersion,
  upsertAlias,
  upsertModelTags,
  upsertVersionTags,
  type ModelRow,
  type VersionRow
} from './registry-store';
import {
  checkMaxResults,
  checkOrderByCount,
  existsRow,
  decodePageToken,
  describe,
  pageOf,
  NUMERIC_COMPARATORS,
  numericComparison,
  parseFilter,
  parseOrderBy,
  SqlParams,
  STRING_COMPARATORS,
  stringComparison,
  unsupported
} from './search-syntax';
import type {
  MlflowModelVersion,
  MlflowRegisteredModel,
  MlflowTag,
  ModelStage,
  NewModelVersion,
  ProjectRef,
  TrackingUser
} from './tracking-store';
import {
  checkAlias,
  checkDescription,
  checkModelName,
  checkRegistryTag,
  checkVersion,
  isRunId,
  lastTagPerKey
} from './validation';
import { checkRun, checkVersionSource } from './version-source';
import { modelVersionJson, registeredModelJson } from './wire';

export interface RegistrySearch {
  filter?: string;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

const STAGES: readonly ModelStage[] = ['None', 'Staging', 'Production', 'Archived'];
const MODEL_SEARCH_DEFAULT = 100;
const MODEL_SEARCH_LIMIT = 1000;
const VERSION_SEARCH_DEFAULT = 10000;
const VERSION_SEARCH_LIMIT = 200000;

/**
 * MLflow's model registry as the signed-in user: registered models belong to
 * a project (named by tag or by name, like experiments), versions are
 * numbered 1, 2, 3, … per model, aliases name one version each. A new
 * version is announced on the event hub once committed.
 */
export class RegistryService {
  constructor(
    private readonly db: Database,
    private readonly events: EventHub
  ) {}

  async createModel(
    user: TrackingUser,
    input: { name: string; description?: string; tags?: MlflowTag[] }
  ): Promise<MlflowRegisteredModel> {
    const name = checkModelName(input.name);
    const description = checkDescription(input.description ?? '');
    const tags = lastTagPerKey((input.tags ?? []).map(checkRegistryTag));
    const projectTag = tags.find(tag => tag.key === PROJECT_TAG)?.value;
    return this.db
      .withClaims(user, async tx => {
        const project = await owningProject(
          tx,
          'Registered model',
          name,
          projectTag
        );
        const row = await insertModel(tx, {
          project_id: project.id,
          name,
          description,
          now: Date.now()
        });
        await upsertModelTags(
          tx,
          row,
          lastTagPerKey([...tags, { key: PROJECT_TAG, value: project.id }])
        );
        return modelJson(tx, row);
      })
      .catch(err => {
        throw translate(err, { modelName: name });
      });
  }

  async getOrCreateProjectModel(
    user: TrackingUser,
    project: ProjectRef
  ): Promise<MlflowRegisteredModel> {
    for (let attempt = 0; ; attempt++) {
      const found = await this.db.withClaims(user, async tx => {
        const row = await findModel(tx, project.slug);
        return row && { row, json: await modelJson(tx, row) };
      });
      if (found) {
        if (found.row.project_id !== project.id) {
          throw invalidParameter(
            `The registered model named '${project.slug}' belongs to another project.`
          );
        }
        return found.json;
      }
      try {
        return await this.createModel(user, {
          name: project.slug,
          tags: [{ key: PROJECT_TAG, value: project.id }]
        });
      } catch (err) {
        const raced =
          (err as { errorCode?: string }).errorCode === 'RESOURCE_ALREADY_EXISTS';
        if (raced && attempt === 0) {
          continue;
        }
        throw err;
      }
    }
  }

  getModel(user: TrackingUser, name: string): Promise<MlflowRegisteredModel> {
    checkModelName(name);
    return this.db.withClaims(user, async tx =>
      modelJson(tx, await modelOrFail(tx, name))
    );
  }

  async searchModels(
    user: TrackingUser,
    search: RegistrySearch
  ): Promise<{ registered_models: MlflowRegisteredModel[]; next_page_token?: string }> {
    const limit = checkMaxResults(
      search.max_results,
      MODEL_SEARCH_DEFAULT,
      MODEL_SEARCH_LIMIT
    );
    const offset = decodePageToken(search.page_token);
    const params = new SqlParams();
    const where: string[] = [];
    for (const comparison of parseFilter(search.filter)) {
      const { type, key, comparator, value } = comparison;
      if (!STRING_COMPARATORS.has(comparator) || typeof value !== 'string') {
        unsupported(comparison, '=, !=, LIKE or ILIKE with a quoted string');
      }
      if (type === 'tag') {
        where.push(
          existsRow('public.registered_model_tags t', [
            't.model_id = m.id',
            `t.key = ${params.add(key)}`,
            stringComparison('t.value', comparator, params.add(value))
          ])
        );
      } else if (type === 'attribute' && key === 'name') {
        where.push(stringComparison('m.name', comparator, params.add(value)));
      } else {
        throw invalidParameter(
          `Invalid filter on ${describe(comparison)}: registered models are searched by name and tags.<key>.`
        );
      }
    }
    const orderBy = orderClauses(search.order_by, MODEL_ORDER, ['m.name asc']);
    orderBy.push('m.name asc');
    return this.db.withClaims(user, async tx => {
      const rows = await searchModels(tx, {
        where,
        orderBy,
        params: params.values,
        limit: limit + 1,
        offset
      });
      const { page, next_page_token } = pageOf(rows, limit, offset);
      const details = await modelDetails(
        tx,
        page.map(row => row.id)
      );
      return {
        registered_models: page.map(row =>
          registeredModelJson(row, details.get(row.id))
        ),
        ...(next_page_token && { next_page_token })
      };
    });
  }

  async updateModel(
    user: TrackingUser,
    name: string,
    changes: { description?: string; new_name?: string }
  ): Promise<MlflowRegisteredModel> {
    if (changes.description !== undefined) {
      checkDescription(changes.description);
    }
    if (changes.new_name !== undefined) {
      checkModelName(changes.new_name);
    }
    return this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        await updateModel(tx, model.id, {
          name: changes.new_name,
          description: changes.description,
          now: Date.now()
        });
        return modelJson(
          tx,
          await modelOrFail(tx, changes.new_name ?? name)
        );
      })
      .catch(err => {
        throw translate(err, { modelName: changes.new_name ?? name });
      });
  }

  async deleteModel(user: TrackingUser, name: string): Promise<void> {
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        await deleteModel(tx, model.id);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async setModelTag(
    user: TrackingUser,
    name: string,
    tag: MlflowTag
  ): Promise<void> {
    checkRegistryTag(tag);
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        if (tag.key === PROJECT_TAG && tag.value !== model.project_id) {
          throw invalidParameter(
            `${PROJECT_TAG} names the project a registered model belongs to, which cannot change.`
          );
        }
        await upsertModelTags(tx, model, [tag]);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async deleteModelTag(
    user: TrackingUser,
    name: string,
    key: string
  ): Promise<void> {
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        if (key === PROJECT_TAG) {
          throw invalidParameter(
            `${PROJECT_TAG} names the project a registered model belongs to: it stays.`
          );
        }
        if ((await deleteModelTag(tx, model.id, key)) === 0) {
          throw doesNotExist(
            `No tag with name: ${key} in registered model ${name}`
          );
        }
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async latestVersions(
    user: TrackingUser,
    name: string,
    stages: string[] | undefined
  ): Promise<MlflowModelVersion[]> {
    const wanted = (stages ?? []).map(checkStage);
    return this.db.withClaims(user, async tx => {
      const model = await modelOrFail(tx, name);
      const latest = (await modelDetails(tx, [model.id])).get(model.id)?.latest ?? [];
      return latest
        .filter(v => wanted.length === 0 || wanted.includes(v.current_stage))
        .map(modelVersionJson);
    });
  }

  async createVersion(
    user: TrackingUser,
    input: NewModelVersion
  ): Promise<MlflowModelVersion> {
    checkModelName(input.name);
    if (typeof input.source !== 'string' || input.source === '') {
      throw invalidParameter(
        "Missing value for required parameter 'source': where the model's files are, e.g. runs:/<run_id>/model."
      );
    }
    const description = checkDescription(input.description ?? '');
    const tags = lastTagPerKey((input.tags ?? []).map(checkRegistryTag));
    const runId = input.run_id || sourceRunId(input.source) || null;
    const created = await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, input.name);
        if (input.run_id) {
          await checkRun(tx, input.run_id, model);
        }
        await checkVersionSource(tx, input.source, model);
        const now = Date.now();
        const version = await takeVersionNumber(tx, model.id, now);
        const id = await insertVersion(tx, {
          model_id: model.id,
          project_id: model.project_id,
          version,
          now,
          user_id: user.email ?? user.sub,
          description,
          source: input.source,
          run_id: runId,
          run_link: input.run_link ?? ''
        });
        await upsertVersionTags(tx, { id, project_id: model.project_id }, tags);
        return { model, row: (await findVersion(tx, model.id, version))! };
      })
      .catch(err => {
        throw translate(err);
      });
    this.events.publish({
      type: 'model.version-registered',
      payload: {
        modelId: created.model.id,
        modelName: created.model.name,
        version: created.row.version,
        runId: created.row.run_id ?? '',
        projectId: created.model.project_id,
        timestamp: Date.now()
      },
      resource: { table: 'model_versions', id: created.row.id }
    });
    return modelVersionJson(created.row);
  }

  getVersion(
    user: TrackingUser,
    name: string,
    version: unknown
  ): Promise<MlflowModelVersion> {
    const number = checkVersion(version);
    return this.db.withClaims(user, async tx => {
      const model = await modelOrFail(tx, name);
      return modelVersionJson(await versionOrFail(tx, model, number));
    });
  }

  async searchVersions(
    user: TrackingUser,
    search: RegistrySearch
  ): Promise<{ model_versions: MlflowModelVersion[]; next_page_token?: string }> {
    const limit = checkMaxResults(
      search.max_results,
      VERSION_SEARCH_DEFAULT,
      VERSION_SEARCH_LIMIT
    );
    const offset = decodePageToken(search.page_token);
    const params = new SqlParams();
    const where: string[] = [];
    for (const comparison of parseFilter(search.filter)) {
      const { type, key, comparator, value } = comparison;
      if (type === 'tag') {
        if (!STRING_COMPARATORS.has(comparator) || typeof value !== 'string') {
          unsupported(comparison, '=, !=, LIKE or ILIKE with a quoted string');
        }
        where.push(
          existsRow('public.model_version_tags t', [
            't.version_id = v.id',
            `t.key = ${params.add(key)}`,
            stringComparison('t.value', comparator, params.add(value))
          ])
        );
        continue;
      }
      const column = type === 'attribute' ? VERSION_ATTRIBUTES[key] : undefined;
      if (!column) {
        throw invalidParameter(
          `Invalid filter on ${describe(comparison)}: model versions are searched by name, version_number, run_id, source_path, current_stage and tags.<key>.`
        );
      }
      if (column.numeric) {
        if (!NUMERIC_COMPARATORS.has(comparator) || typeof value !== 'number') {
          unsupported(comparison, '=, !=, <, <=, > or >= with a number');
        }
        where.push(numericComparison(column.sql, comparator, params.add(value)));
      } else if (
        (STRING_COMPARATORS.has(comparator) && typeof value === 'string') ||
        ((comparator === 'IN' || comparator === 'NOT IN') && Array.isArray(value))
      ) {
        where.push(stringComparison(column.sql, comparator, params.add(value)));
      } else {
        unsupported(comparison, "=, !=, LIKE, ILIKE with a quoted string, or IN ('…')");
      }
    }
    const orderBy = orderClauses(search.order_by, VERSION_ORDER, [
      'm.name asc',
      'v.version desc'
    ]);
    orderBy.push('m.name asc', 'v.version desc');
    return this.db.withClaims(user, async tx => {
      const rows = await searchVersions(tx, {
        where,
        orderBy,
        params: params.values,
        limit: limit + 1,
        offset
      });
      const { page, next_page_token } = pageOf(rows, limit, offset);
      return {
        model_versions: page.map(modelVersionJson),
        ...(next_page_token && { next_page_token })
      };
    });
  }

  async updateVersion(
    user: TrackingUser,
    name: string,
    version: unknown,
    changes: { description?: string }
  ): Promise<MlflowModelVersion> {
    const number = checkVersion(version);
    if (changes.description !== undefined) {
      checkDescription(changes.description);
    }
    return this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        const row = await versionOrFail(tx, model, number);
        await updateVersion(tx, row.id, {
          description: changes.description,
          now: Date.now()
        });
        return modelVersionJson((await findVersion(tx, model.id, number))!);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async transitionStage(
    user: TrackingUser,
    name: string,
    version: unknown,
    stage: string,
    archiveExisting: boolean
  ): Promise<MlflowModelVersion> {
    const number = checkVersion(version);
    const target = checkStage(stage);
    return this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        const row = await versionOrFail(tx, model, number);
        const now = Date.now();
        if (archiveExisting && (target === 'Staging' || target === 'Production')) {
          await archiveOthersInStage(tx, model.id, number, target, now);
        }
        await updateVersion(tx, row.id, { current_stage: target, now });
        return modelVersionJson((await findVersion(tx, model.id, number))!);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async deleteVersion(
    user: TrackingUser,
    name: string,
    version: unknown
  ): Promise<void> {
    const number = checkVersion(version);
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        const row = await versionOrFail(tx, model, number);
        await deleteVersion(tx, row.id);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async setVersionTag(
    user: TrackingUser,
    name: string,
    version: unknown,
    tag: MlflowTag
  ): Promise<void> {
    const number = checkVersion(version);
    checkRegistryTag(tag);
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        const row = await versionOrFail(tx, model, number);
        await upsertVersionTags(tx, row, [tag]);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async deleteVersionTag(
    user: TrackingUser,
    name: string,
    version: unknown,
    key: string
  ): Promise<void> {
    const number = checkVersion(version);
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        const row = await versionOrFail(tx, model, number);
        if ((await deleteVersionTag(tx, row.id, key)) === 0) {
          throw doesNotExist(
            `No tag with name: ${key} in model version (name=${name}, version=${number})`
          );
        }
      })
      .catch(err => {
        throw translate(err);
      });
  }

  /** Where the version's files are, for MLflow's download: `runs:/` sources resolved. */
  async downloadUri(
    user: TrackingUser,
    name: string,
    version: unknown
  ): Promise<string> {
    const number = checkVersion(version);
    return this.db.withClaims(user, async tx => {
      const model = await modelOrFail(tx, name);
      const row = await versionOrFail(tx, model, number);
      const runsUri = /^runs:\/([^/]+)\/?(.*)$/.exec(row.source);
      if (runsUri) {
        const run = isRunId(runsUri[1]) ? await findRun(tx, runsUri[1]) : undefined;
        if (run) {
          return runsUri[2] ? `${run.artifact_uri}/${runsUri[2]}` : run.artifact_uri;
        }
      }
      return row.source;
    });
  }

  async setAlias(
    user: TrackingUser,
    name: string,
    alias: string,
    version: unknown
  ): Promise<void> {
    checkAlias(alias);
    const number = checkVersion(version);
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        await versionOrFail(tx, model, number);
        await upsertAlias(tx, model, alias, number);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async deleteAlias(
    user: TrackingUser,
    name: string,
    alias: string
  ): Promise<void> {
    checkAlias(alias);
    await this.db
      .withClaims(user, async tx => {
        const model = await writableModel(tx, name);
        // MLflow answers a missing alias with success: deleting is idempotent.
        await deleteAlias(tx, model.id, alias);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  getVersionByAlias(
    user: TrackingUser,
    name: string,
    alias: string
  ): Promise<MlflowModelVersion> {
    checkAlias(alias);
    return this.db.withClaims(user, async tx => {
      const model = await modelOrFail(tx, name);
      const version = await findAlias(tx, model.id, alias);
      if (version === undefined) {
        throw doesNotExist(
          `Registered model alias ${alias} not found.`
        );
      }
      return modelVersionJson(await versionOrFail(tx, model, version));
    });
  }
}

const MODEL_ORDER: Record<string, string> = {
  name: 'm.name',
  creation_timestamp: 'm.creation_timestamp',
  last_updated_timestamp: 'm.last_updated_timestamp',
  timestamp: 'm.last_updated_timestamp'
};

const VERSION_ORDER: Record<string, string> = {
  name: 'm.name',
  version_number: 'v.version',
  creation_timestamp: 'v.creation_timestamp',
  last_updated_timestamp: 'v.last_updated_timestamp',
  timestamp: 'v.last_updated_timestamp'
};

const VERSION_ATTRIBUTES: Record<string, { sql: string; numeric: boolean }> = {
  name: { sql: 'm.name', numeric: false },
  version_number: { sql: 'v.version', numeric: true },
  run_id: { sql: 'v.run_id', numeric: false },
  source_path: { sql: 'v.source', numeric: false },
  current_stage: { sql: 'v.current_stage', numeric: false }
};

function orderClauses(
  clauses: string[] | undefined,
  columns: Record<string, string>,
  fallback: string[]
): string[] {
  const list = checkOrderByCount(clauses);
  if (!list.length) {
    return [...fallback];
  }
  return list.map(clause => {
    const order = parseOrderBy(clause);
    const column = order.type === 'attribute' ? columns[order.key] : undefined;
    if (!column) {
      throw invalidParameter(
        `Invalid order_by clause '${clause}': order by ${Object.keys(columns).join(', ')}.`
      );
    }
    return `${column} ${order.ascending ? 'asc' : 'desc'}`;
  });
}

function checkStage(stage: string): ModelStage {
  const found = STAGES.find(s => s.toLowerCase() === String(stage).toLowerCase());
  if (!found) {
    throw invalidParameter(
      `Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(', ')}.`
    );
  }
  return found;
}

/** The run of a `runs:/<run_id>/…` source. */
function sourceRunId(source: string): string | undefined {
  return /^runs:\/([^/]+)/.exec(source)?.[1];
}

async function modelJson(
  tx: Queryable,
  row: ModelRow
): Promise<MlflowRegisteredModel> {
  return registeredModelJson(row, (await modelDetails(tx, [row.id])).get(row.id));
}

async function modelOrFail(tx: Queryable, name: string): Promise<ModelRow> {
  const row = await findModel(tx, name);
  if (!row) {
    throw doesNotExist(`Registered Model with name=${name} not found`);
  }
  return row;
}

async function writableModel(tx: Queryable, name: string): Promise<ModelRow> {
  const row = await modelOrFail(tx, name);
  if (!row.writable) {
    throw readOnly('registered model');
  }
  return row;
}

async function versionOrFail(
  tx: Queryable,
  model: ModelRow,
  version: number
): Promise<VersionRow> {
  const row = await findVersion(tx, model.id, version);
  if (!row) {
    throw doesNotExist(
      `Model Version (name=${model.name}, version=${version}) not found`
    );
  }
  return row;
}
