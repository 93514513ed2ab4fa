import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/types';
import type { EventHub } from '../events/hub';
import {
  doesNotExist,
  invalidParameter,
  MlflowError
} from './errors';
import {
  deleteExperimentTag,
  experimentTags,
  findExperiment,
  findExperimentByName,
  insertExperiment,
  searchExperiments,
  updateExperiment,
  upsertExperimentTags,
  type ExperimentRow
} from './experiments-store';
import {
  owningProject,
  PROJECT_TAG,
  readOnly,
  translate
} from './project-access';
import { generateRunName } from './run-names';
import {
  deleteRunTag,
  findRun,
  insertInputs,
  insertMetrics,
  insertParams,
  insertRun,
  metricHistory,
  runContents,
  searchRuns,
  updateRun,
  upsertRunTags,
  type RunRow
} from './runs-store';
import {
  checkMaxResults,
  checkOrderByCount,
  decodePageToken,
  describe,
  existsRow,
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
import {
  TERMINAL_RUN_STATUSES,
  type LifecycleStage,
  type MlflowDatasetInput,
  type MlflowExperiment,
  type MlflowMetric,
  type MlflowRun,
  type MlflowRunInfo,
  type MlflowTag,
  type NewRun,
  type ProjectRef,
  type RunBatch,
  type RunStatus,
  type RunUpdate,
  type TrackingUser
} from './tracking-store';
import {
  checkBatchLimits,
  checkDatasetInputs,
  checkExperimentName,
  checkExperimentTag,
  checkKey,
  checkMetric,
  checkParam,
  checkRunName,
  checkTag,
  isExperimentId,
  isRunId,
  lastTagPerKey,
  uniqueParams
} from './validation';
import { experimentJson, runInfoJson, runJson } from './wire';

/** Set by `updateRun({error})` on a failed run; `run.finished` carries it. */
export const ERROR_TAG = 'insighter.error';
const RUN_NAME_TAG = 'mlflow.runName';
const MODEL_HISTORY_TAG = 'mlflow.log-model.history';

export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface ExperimentSearch {
  max_results?: number;
  page_token?: string;
  filter?: string;
  order_by?: string[];
  view_type?: ViewType;
}

export interface RunSearch {
  experiment_ids: string[];
  filter?: string;
  run_view_type?: ViewType;
  max_results?: number;
  order_by?: string[];
  page_token?: string;
}

const SEARCH_DEFAULT = 1000;
const SEARCH_LIMIT = 50000;
const HISTORY_LIMIT = 25000;

/**
 * Experiments and runs, MLflow's way, as the signed-in user: row-level
 * security decides what they see and change; this layer adds MLflow's rules
 * (limits, write-once params, active-only logging), ties every experiment to
 * a project, answers refusals with MLflow's error codes, and announces runs
 * and metrics on the event hub once committed.
 */
export class TrackingService {
  constructor(
    private readonly db: Database,
    private readonly events: EventHub
  ) {}

  // Experiments

  async createExperiment(
    user: TrackingUser,
    input: { name: string; artifact_location?: string; tags?: MlflowTag[] }
  ): Promise<{ experiment_id: string }> {
    const name = checkExperimentName(input.name);
    if (input.artifact_location) {
      throw invalidParameter(
        "artifact_location cannot be chosen: Insighter keeps an experiment's artifacts in its Storage (mlflow-artifacts:/<experiment_id>). Leave it out."
      );
    }
    const tags = lastTagPerKey((input.tags ?? []).map(checkExperimentTag));
    const projectTag = tags.find(tag => tag.key === PROJECT_TAG)?.value;
    const experiment = await this.db
      .withClaims(user, async tx => {
        const project = await owningProject(tx, 'Experiment', name, projectTag);
        const row = await insertExperiment(tx, {
          project_id: project.id,
          name,
          now: Date.now()
        });
        await upsertExperimentTags(
          tx,
          row,
          lastTagPerKey([...tags, { key: PROJECT_TAG, value: project.id }])
        );
        return row;
      })
      .catch(err => {
        throw translate(err, { experimentName: name });
      });
    return { experiment_id: experiment.experiment_id };
  }

  async getOrCreateProjectExperiment(
    user: TrackingUser,
    project: ProjectRef
  ): Promise<{ experiment_id: string }> {
    for (let attempt = 0; ; attempt++) {
      const found = await this.db.withClaims(user, tx =>
        findExperimentByName(tx, project.slug)
      );
      if (found) {
        if (found.project_id !== project.id) {
          throw invalidParameter(
            `The experiment named '${project.slug}' belongs to another project.`
          );
        }
        return { experiment_id: found.experiment_id };
      }
      try {
        return await this.createExperiment(user, {
          name: project.slug,
          tags: [{ key: PROJECT_TAG, value: project.id }]
        });
      } catch (err) {
        // Someone created it at the same moment: read theirs.
        if (
          err instanceof MlflowError &&
          err.errorCode === 'RESOURCE_ALREADY_EXISTS' &&
          attempt === 0
        ) {
          continue;
        }
        throw err;
      }
    }
  }

  async getExperiment(
    user: TrackingUser,
    experimentId: string
  ): Promise<MlflowExperiment> {
    return this.db.withClaims(user, async tx => {
      const row = await experimentOrFail(tx, experimentId);
      return experimentJson(
        row,
        (await experimentTags(tx, [row.experiment_id])).get(row.experiment_id)
      );
    });
  }

  async getExperimentByName(
    user: TrackingUser,
    name: string
  ): Promise<MlflowExperiment> {
    checkExperimentName(name);
    return this.db.withClaims(user, async tx => {
      const row = await findExperimentByName(tx, name);
      if (!row) {
        throw doesNotExist(`Could not find experiment with name '${name}'`);
      }
      return experimentJson(
        row,
        (await experimentTags(tx, [row.experiment_id])).get(row.experiment_id)
      );
    });
  }

  async searchExperiments(
    user: TrackingUser,
    search: ExperimentSearch
  ): Promise<{ experiments: MlflowExperiment[]; next_page_token?: string }> {
    const limit = checkMaxResults(
      search.max_results,
      SEARCH_DEFAULT,
      SEARCH_LIMIT
    );
    const offset = decodePageToken(search.page_token);
    const params = new SqlParams();
    const where = [lifecycleCondition('e', search.view_type)];
    for (const comparison of parseFilter(search.filter)) {
      const value = comparison.value;
      if (comparison.type === 'tag') {
        if (!STRING_COMPARATORS.has(comparison.comparator) || typeof value !== 'string') {
          unsupported(comparison, "=, !=, LIKE or ILIKE with a quoted string");
        }
        where.push(
          existsRow('public.experiment_tags t', [
            't.experiment_id = e.experiment_id',
            `t.key = ${params.add(comparison.key)}`,
            stringComparison('t.value', comparison.comparator, params.add(value))
          ])
        );
        continue;
      }
      const column = EXPERIMENT_ATTRIBUTES[comparison.key];
      if (comparison.type !== 'attribute' || !column) {
        throw invalidParameter(
          `Invalid filter on ${describe(comparison)}: experiments are searched by name, creation_time, last_update_time and tags.<key>.`
        );
      }
      if (column.numeric) {
        if (!NUMERIC_COMPARATORS.has(comparison.comparator) || typeof value !== 'number') {
          unsupported(comparison, '=, !=, <, <=, > or >= with a number');
        }
        where.push(numericComparison(column.sql, comparison.comparator, params.add(value)));
      } else {
        if (!STRING_COMPARATORS.has(comparison.comparator) || typeof value !== 'string') {
          unsupported(comparison, "=, !=, LIKE or ILIKE with a quoted string");
        }
        where.push(stringComparison(column.sql, comparison.comparator, params.add(value)));
      }
    }
    const orderBy: string[] = [];
    const clauses = checkOrderByCount(search.order_by);
    for (const clause of clauses.length ? clauses : ['creation_time DESC']) {
      const order = parseOrderBy(clause);
      const column = EXPERIMENT_ATTRIBUTES[order.key];
      if (order.type !== 'attribute' || !column) {
        throw invalidParameter(
          `Invalid order_by clause '${clause}': experiments are ordered by name, experiment_id, creation_time or last_update_time.`
        );
      }
      orderBy.push(`${column.sql} ${order.ascending ? 'asc' : 'desc'}`);
    }
    orderBy.push('e.experiment_id asc');
    return this.db.withClaims(user, async tx => {
      const rows = await searchExperiments(tx, {
        where,
        orderBy,
        params: params.values,
        limit: limit + 1,
        offset
      });
      const { page, next_page_token } = pageOf(rows, limit, offset);
      const tags = await experimentTags(
        tx,
        page.map(row => row.experiment_id)
      );
      return {
        experiments: page.map(row => experimentJson(row, tags.get(row.experiment_id))),
        ...(next_page_token && { next_page_token })
      };
    });
  }

  async renameExperiment(
    user: TrackingUser,
    experimentId: string,
    newName: string
  ): Promise<void> {
    const name = checkExperimentName(newName);
    await this.db
      .withClaims(user, async tx => {
        const row = await writableExperiment(tx, experimentId);
        if (row.lifecycle_stage !== 'active') {
          throw invalidParameter('Cannot rename a non-active experiment.');
        }
        await updateExperiment(tx, experimentId, { name, now: Date.now() });
      })
      .catch(err => {
        throw translate(err, { experimentName: name });
      });
  }

  async setExperimentLifecycle(
    user: TrackingUser,
    experimentId: string,
    stage: LifecycleStage
  ): Promise<void> {
    await this.db
      .withClaims(user, async tx => {
        const row = await writableExperiment(tx, experimentId);
        if (row.lifecycle_stage === stage) {
          throw invalidParameter(
            stage === 'deleted'
              ? `Cannot delete an already deleted experiment: ${experimentId}.`
              : `Cannot restore an active experiment: ${experimentId}.`
          );
        }
        await updateExperiment(tx, experimentId, {
          lifecycle_stage: stage,
          now: Date.now()
        });
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async setExperimentTag(
    user: TrackingUser,
    experimentId: string,
    tag: MlflowTag
  ): Promise<void> {
    checkExperimentTag(tag);
    await this.db
      .withClaims(user, async tx => {
        const row = await writableExperiment(tx, experimentId);
        if (tag.key === PROJECT_TAG && tag.value !== row.project_id) {
          throw invalidParameter(
            `${PROJECT_TAG} names the project an experiment belongs to, which cannot change.`
          );
        }
        await upsertExperimentTags(tx, row, [tag]);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async deleteExperimentTag(
    user: TrackingUser,
    experimentId: string,
    key: string
  ): Promise<void> {
    await this.db
      .withClaims(user, async tx => {
        await writableExperiment(tx, experimentId);
        if (key === PROJECT_TAG) {
          throw invalidParameter(
            `${PROJECT_TAG} names the project an experiment belongs to: it stays.`
          );
        }
        if ((await deleteExperimentTag(tx, experimentId, key)) === 0) {
          throw doesNotExist(
            `No tag with name: ${key} in experiment with id ${experimentId}`
          );
        }
      })
      .catch(err => {
        throw translate(err);
      });
  }

  // Runs

  async createRun(user: TrackingUser, input: NewRun): Promise<MlflowRun> {
    const tags = lastTagPerKey((input.tags ?? []).map(checkTag));
    const name = checkRunName(
      input.run_name ||
        tags.find(tag => tag.key === RUN_NAME_TAG)?.value ||
        generateRunName()
    );
    const startTime = input.start_time ?? Date.now();
    if (!Number.isSafeInteger(startTime) || startTime < 0) {
      throw invalidParameter(
        `Invalid start_time ${startTime}: milliseconds since the epoch.`
      );
    }
    const { run, projectId } = await this.db
      .withClaims(user, async tx => {
        const experiment = await writableExperiment(tx, input.experiment_id);
        if (experiment.lifecycle_stage !== 'active') {
          throw invalidParameter(
            `The experiment ${experiment.experiment_id} must be in the 'active' state. Current state is ${experiment.lifecycle_stage}.`
          );
        }
        const row = await insertRun(tx, {
          id: randomUUID().replace(/-/g, ''),
          experiment_id: experiment.experiment_id,
          project_id: experiment.project_id,
          name,
          user_id: input.user_id || user.email || user.sub,
          status: 'RUNNING',
          start_time: startTime
        });
        await upsertRunTags(
          tx,
          row,
          lastTagPerKey([...tags, { key: RUN_NAME_TAG, value: name }])
        );
        return {
          run: runJson(row, (await runContents(tx, [row.id])).get(row.id)),
          projectId: row.project_id
        };
      })
      .catch(err => {
        throw translate(err);
      });
    this.events.publish({
      type: 'run.started',
      payload: {
        runId: run.info.run_id,
        projectId,
        experimentId: run.info.experiment_id,
        name: run.info.run_name,
        timestamp: Date.now()
      },
      resource: { table: 'runs', id: run.info.run_id }
    });
    return run;
  }

  async getRun(user: TrackingUser, runId: string): Promise<MlflowRun> {
    return this.db.withClaims(user, async tx => {
      const row = await runOrFail(tx, runId);
      return runJson(row, (await runContents(tx, [row.id])).get(row.id));
    });
  }

  async updateRun(
    user: TrackingUser,
    runId: string,
    update: RunUpdate
  ): Promise<MlflowRunInfo> {
    if (update.status && !RUN_STATUSES.has(update.status)) {
      throw invalidParameter(
        `Invalid run status '${update.status}': use ${[...RUN_STATUSES].join(', ')}.`
      );
    }
    if (update.run_name !== undefined) {
      checkRunName(update.run_name);
    }
    const { before, after } = await this.db
      .withClaims(user, async tx => {
        const current = await writableRun(tx, runId);
        const updated = await updateRun(tx, runId, {
          status: update.status,
          end_time: update.end_time,
          name: update.run_name || undefined
        });
        const tags: MlflowTag[] = [];
        if (update.run_name) {
          tags.push({ key: RUN_NAME_TAG, value: update.run_name });
        }
        if (update.error && update.status === 'FAILED') {
          tags.push({ key: ERROR_TAG, value: update.error.slice(0, 5000) });
        }
        await upsertRunTags(tx, current, tags);
        return { before: current, after: updated! };
      })
      .catch(err => {
        throw translate(err);
      });
    if (
      TERMINAL_RUN_STATUSES.has(after.status) &&
      after.status !== before.status
    ) {
      this.events.publish({
        type: 'run.finished',
        payload: {
          runId,
          status: after.status as 'FINISHED' | 'FAILED' | 'KILLED',
          ...(update.error && after.status === 'FAILED'
            ? { error: update.error }
            : {}),
          timestamp: Date.now()
        },
        resource: { table: 'runs', id: runId }
      });
    }
    return runInfoJson(after);
  }

  async setRunLifecycle(
    user: TrackingUser,
    runId: string,
    stage: LifecycleStage
  ): Promise<void> {
    await this.db
      .withClaims(user, async tx => {
        await writableRun(tx, runId, { anyStage: true });
        await updateRun(tx, runId, {
          lifecycle_stage: stage,
          deleted_time: stage === 'deleted' ? Date.now() : null
        });
      })
      .catch(err => {
        throw translate(err);
      });
  }

  /**
   * Metrics append, params are written once (another value for a logged key
   * refuses the whole batch), tags: the last write wins. All or nothing.
   */
  async logBatch(
    user: TrackingUser,
    runId: string,
    batch: RunBatch
  ): Promise<void> {
    const metrics = batch.metrics ?? [];
    const rawParams = batch.params ?? [];
    const rawTags = batch.tags ?? [];
    checkBatchLimits(metrics.length, rawParams.length, rawTags.length);
    metrics.forEach(checkMetric);
    const params = uniqueParams(rawParams.map(checkParam));
    const tags = lastTagPerKey(rawTags.map(checkTag));
    await this.db
      .withClaims(user, async tx => {
        const run = await writableRun(tx, runId);
        const conflicts = await insertParams(tx, run, params);
        if (conflicts.length > 0) {
          throw invalidParameter(
            `Changing param values is not allowed. Params were already logged='${JSON.stringify(conflicts)}' for run ID='${runId}'. A param is written once: log the new value under another key, or in a new run.`
          );
        }
        await insertMetrics(tx, run, metrics);
        await upsertRunTags(tx, run, tags);
        const newName = tags.find(tag => tag.key === RUN_NAME_TAG)?.value;
        if (newName !== undefined) {
          await updateRun(tx, runId, { name: checkRunName(newName) });
        }
      })
      .catch(err => {
        throw translate(err);
      });
    this.publishMetrics(runId, metrics);
  }

  /**
   * `runs/log-model`: MLflow keeps what `log_model` saved (the MLmodel as
   * JSON) in the run's `mlflow.log-model.history` tag, a list that grows.
   */
  async logModel(
    user: TrackingUser,
    runId: string,
    modelJson: string
  ): Promise<void> {
    let model: unknown;
    try {
      model = JSON.parse(modelJson);
    } catch {
      model = undefined;
    }
    if (
      typeof model !== 'object' ||
      model === null ||
      Array.isArray(model) ||
      typeof (model as { artifact_path?: unknown }).artifact_path !== 'string'
    ) {
      throw invalidParameter(
        "model_json must be the MLmodel as a JSON object with its 'artifact_path'."
      );
    }
    await this.db
      .withClaims(user, async tx => {
        const run = await writableRun(tx, runId);
        const tags = (await runContents(tx, [runId])).get(runId)?.data.tags ?? [];
        const previous = tags.find(tag => tag.key === MODEL_HISTORY_TAG)?.value;
        let history: unknown[] = [];
        try {
          history = previous ? JSON.parse(previous) : [];
        } catch {
          history = [];
        }
        const value = JSON.stringify([...(Array.isArray(history) ? history : []), model]);
        await upsertRunTags(tx, run, [
          checkTag({ key: MODEL_HISTORY_TAG, value })
        ]);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async deleteTag(
    user: TrackingUser,
    runId: string,
    key: string
  ): Promise<void> {
    await this.db
      .withClaims(user, async tx => {
        await writableRun(tx, runId);
        if ((await deleteRunTag(tx, runId, key)) === 0) {
          throw doesNotExist(
            `No tag with name: ${key} in run with id ${runId}`
          );
        }
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async logInputs(
    user: TrackingUser,
    runId: string,
    datasets: MlflowDatasetInput[]
  ): Promise<void> {
    checkDatasetInputs(datasets);
    await this.db
      .withClaims(user, async tx => {
        const run = await writableRun(tx, runId);
        await insertInputs(tx, run, datasets);
      })
      .catch(err => {
        throw translate(err);
      });
  }

  async getMetricHistory(
    user: TrackingUser,
    input: {
      run_id: string;
      metric_key: string;
      max_results?: number;
      page_token?: string;
    }
  ): Promise<{ metrics: MlflowMetric[]; next_page_token?: string }> {
    checkKey('Metric', input.metric_key);
    // Without max_results MLflow answers every value at once; with it, pages.
    const limit =
      input.max_results === undefined
        ? undefined
        : checkMaxResults(input.max_results, HISTORY_LIMIT, HISTORY_LIMIT);
    const offset = decodePageToken(input.page_token);
    return this.db.withClaims(user, async tx => {
      await runOrFail(tx, input.run_id);
      const rows = await metricHistory(tx, input.run_id, input.metric_key, {
        limit: limit === undefined ? 'all' : limit + 1,
        offset
      });
      if (limit === undefined) {
        return { metrics: rows };
      }
      const { page, next_page_token } = pageOf(rows, limit, offset);
      return { metrics: page, ...(next_page_token && { next_page_token }) };
    });
  }

  async searchRuns(
    user: TrackingUser,
    search: RunSearch
  ): Promise<{ runs: MlflowRun[]; next_page_token?: string }> {
    const limit = checkMaxResults(
      search.max_results,
      SEARCH_DEFAULT,
      SEARCH_LIMIT
    );
    const offset = decodePageToken(search.page_token);
    const experimentIds = search.experiment_ids.filter(isExperimentId);
    if (experimentIds.length === 0) {
      return { runs: [] };
    }
    const params = new SqlParams();
    const where = [
      `r.experiment_id = any(${params.add(experimentIds)}::bigint[])`,
      lifecycleCondition('r', search.run_view_type)
    ];
    for (const comparison of parseFilter(search.filter)) {
      where.push(runCondition(comparison, params));
    }
    const joins: string[] = [];
    const orderBy: string[] = [];
    for (const clause of checkOrderByCount(search.order_by)) {
      const order = parseOrderBy(clause);
      const direction = order.ascending ? 'asc' : 'desc';
      if (order.type === 'attribute') {
        const column = RUN_ATTRIBUTES[order.key];
        if (!column) {
          throw invalidParameter(
            `Invalid order_by clause '${clause}': runs are ordered by metrics.<key>, params.<key>, tags.<key> or attributes ${Object.keys(RUN_ATTRIBUTES).join(', ')}.`
          );
        }
        orderBy.push(`${column.sql} ${direction} nulls last`);
        continue;
      }
      const table = { metric: 'run_latest_metrics', param: 'run_params', tag: 'run_tags' }[
        order.type as 'metric' | 'param' | 'tag'
      ];
      if (!table) {
        throw invalidParameter(
          `Invalid order_by clause '${clause}': runs are ordered by metrics, params, tags or attributes.`
        );
      }
      const alias = `o${joins.length}`;
      joins.push(
        `left join public.${table} ${alias} on ${alias}.run_id = r.id and ${alias}.key = ${params.add(order.key)}`
      );
      orderBy.push(`${alias}.value ${direction} nulls last`);
    }
    orderBy.push('r.start_time desc', 'r.id asc');
    return this.db.withClaims(user, async tx => {
      const rows = await searchRuns(tx, {
        joins,
        where,
        orderBy,
        params: params.values,
        limit: limit + 1,
        offset
      });
      const { page, next_page_token } = pageOf(rows, limit, offset);
      const contents = await runContents(
        tx,
        page.map(row => row.id)
      );
      return {
        runs: page.map(row => runJson(row, contents.get(row.id))),
        ...(next_page_token && { next_page_token })
      };
    });
  }

  /** A run the user can read, with its project (for artifacts and the registry). */
  async readableRun(user: TrackingUser, runId: string): Promise<RunRow> {
    return this.db.withClaims(user, tx => runOrFail(tx, runId));
  }

  private publishMetrics(runId: string, metrics: MlflowMetric[]): void {
    for (const metric of metrics) {
      this.events.publish({
        type: 'run.metric',
        payload: {
          runId,
          key: metric.key,
          value: metric.value,
          step: metric.step,
          timestamp: metric.timestamp
        },
        resource: { table: 'runs', id: runId }
      });
    }
  }
}

const RUN_STATUSES: ReadonlySet<RunStatus> = new Set([
  'RUNNING',
  'SCHEDULED',
  'FINISHED',
  'FAILED',
  'KILLED'
]);

const EXPERIMENT_ATTRIBUTES: Record<string, { sql: string; numeric: boolean }> = {
  name: { sql: 'e.name', numeric: false },
  experiment_id: { sql: 'e.experiment_id', numeric: true },
  creation_time: { sql: 'e.creation_time', numeric: true },
  last_update_time: { sql: 'e.last_update_time', numeric: true }
};

const RUN_ATTRIBUTES: Record<string, { sql: string; numeric: boolean }> = {
  run_id: { sql: 'r.id', numeric: false },
  run_name: { sql: 'r.name', numeric: false },
  status: { sql: 'r.status', numeric: false },
  user_id: { sql: 'r.user_id', numeric: false },
  artifact_uri: { sql: 'r.artifact_uri', numeric: false },
  lifecycle_stage: { sql: 'r.lifecycle_stage', numeric: false },
  start_time: { sql: 'r.start_time', numeric: true },
  end_time: { sql: 'r.end_time', numeric: true },
  created: { sql: 'r.start_time', numeric: true }
};

/** MLflow's `runName` and `Created` spellings of the same attributes. */
RUN_ATTRIBUTES.runName = RUN_ATTRIBUTES.run_name;
RUN_ATTRIBUTES.Created = RUN_ATTRIBUTES.created;

function runCondition(
  comparison: ReturnType<typeof parseFilter>[number],
  params: SqlParams
): string {
  const { type, key, comparator, value } = comparison;
  if (type === 'metric') {
    if (!NUMERIC_COMPARATORS.has(comparator) || typeof value !== 'number') {
      unsupported(comparison, '=, !=, <, <=, > or >= with a number');
    }
    return existsRow('public.run_latest_metrics m', [
      'm.run_id = r.id',
      `m.key = ${params.add(key)}`,
      numericComparison('m.value', comparator, params.add(value))
    ]);
  }
  if (type === 'param' || type === 'tag') {
    const from = `public.${type === 'param' ? 'run_params' : 'run_tags'} x`;
    const has = ['x.run_id = r.id', `x.key = ${params.add(key)}`];
    if (comparator === 'IS NULL') {
      return `not ${existsRow(from, has)}`;
    }
    if (comparator === 'IS NOT NULL') {
      return existsRow(from, has);
    }
    if (!STRING_COMPARATORS.has(comparator) || typeof value !== 'string') {
      unsupported(comparison, "=, !=, LIKE, ILIKE with a quoted string, or IS [NOT] NULL");
    }
    return existsRow(from, [
      ...has,
      stringComparison('x.value', comparator, params.add(value))
    ]);
  }
  if (type === 'attribute') {
    const column = RUN_ATTRIBUTES[key];
    if (!column) {
      throw invalidParameter(
        `Invalid attribute key '${key}' specified. Valid keys are ${Object.keys(RUN_ATTRIBUTES).join(', ')}.`
      );
    }
    if (column.numeric) {
      if (!NUMERIC_COMPARATORS.has(comparator) || typeof value !== 'number') {
        unsupported(comparison, '=, !=, <, <=, > or >= with a number');
      }
      return numericComparison(column.sql, comparator, params.add(value));
    }
    if (comparator === 'IN' || comparator === 'NOT IN') {
      return stringComparison(column.sql, comparator, params.add(value));
    }
    if (!STRING_COMPARATORS.has(comparator) || typeof value !== 'string') {
      unsupported(comparison, "=, !=, LIKE, ILIKE with a quoted string, or IN ('…')");
    }
    return stringComparison(column.sql, comparator, params.add(value));
  }
  throw invalidParameter(
    `Invalid filter on ${describe(comparison)}: runs are searched by metrics, params, tags and attributes.`
  );
}

function lifecycleCondition(alias: string, view: ViewType | undefined): string {
  switch (view ?? 'ACTIVE_ONLY') {
    case 'ACTIVE_ONLY':
      return `${alias}.lifecycle_stage = 'active'`;
    case 'DELETED_ONLY':
      return `${alias}.lifecycle_stage = 'deleted'`;
    default:
      return 'true';
  }
}

async function experimentOrFail(
  tx: Queryable,
  experimentId: string
): Promise<ExperimentRow> {
  const row = isExperimentId(experimentId)
    ? await findExperiment(tx, experimentId)
    : undefined;
  if (!row) {
    // MLflow's clients fall back to experiment 0, "Default", which Insighter does not have.
    throw doesNotExist(
      experimentId === '0'
        ? "No Experiment with id=0 exists: experiments belong to a project here, so there is no Default experiment. Use your project's, e.g. mlflow.set_experiment('<project slug>')."
        : `No Experiment with id=${experimentId} exists`
    );
  }
  return row;
}

async function writableExperiment(
  tx: Queryable,
  experimentId: string
): Promise<ExperimentRow> {
  const row = await experimentOrFail(tx, experimentId);
  if (!row.writable) {
    throw readOnly('experiment');
  }
  return row;
}

async function runOrFail(tx: Queryable, runId: string): Promise<RunRow> {
  const row = isRunId(runId) ? await findRun(tx, runId) : undefined;
  if (!row) {
    throw doesNotExist(`Run with id=${runId} not found`);
  }
  return row;
}

/** A run the user may log to: writable, and active unless `anyStage`. */
async function writableRun(
  tx: Queryable,
  runId: string,
  options: { anyStage?: boolean } = {}
): Promise<RunRow> {
  const row = await runOrFail(tx, runId);
  if (!row.writable) {
    throw readOnly('run');
  }
  if (!options.anyStage && row.lifecycle_stage !== 'active') {
    throw invalidParameter(
      `The run ${runId} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`
    );
  }
  return row;
}

