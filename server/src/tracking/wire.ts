import type { ExperimentRow } from './experiments-store';
import type { ModelRow, VersionRow } from './registry-store';
import type { RunContents, RunRow } from './runs-store';
import type {
  MlflowExperiment,
  MlflowModelVersion,
  MlflowRegisteredModel,
  MlflowRun,
  MlflowRunInfo,
  MlflowTag
} from './tracking-store';

/**
 * Rows as MLflow's JSON has them. Like MLflow's protobuf serialisation, empty
 * lists and unset fields are left out rather than sent empty.
 */
export function experimentJson(
  row: ExperimentRow,
  tags: MlflowTag[] | undefined
): MlflowExperiment {
  const experiment: MlflowExperiment = {
    experiment_id: row.experiment_id,
    name: row.name,
    artifact_location: row.artifact_location,
    lifecycle_stage: row.lifecycle_stage,
    last_update_time: row.last_update_time,
    creation_time: row.creation_time
  };
  if (tags?.length) {
    experiment.tags = tags;
  }
  return experiment;
}

export function runInfoJson(row: RunRow): MlflowRunInfo {
  const info: MlflowRunInfo = {
    run_id: row.id,
    run_uuid: row.id,
    run_name: row.name,
    experiment_id: row.experiment_id,
    user_id: row.user_id,
    status: row.status,
    start_time: row.start_time,
    artifact_uri: row.artifact_uri,
    lifecycle_stage: row.lifecycle_stage
  };
  if (row.end_time !== null) {
    info.end_time = row.end_time;
  }
  return info;
}

export function runJson(
  row: RunRow,
  contents: RunContents | undefined
): MlflowRun {
  const run: MlflowRun = {
    info: runInfoJson(row),
    data: contents?.data ?? {},
    inputs: {}
  };
  if (contents?.inputs.length) {
    run.inputs = { dataset_inputs: contents.inputs };
  }
  return run;
}

export function modelVersionJson(row: VersionRow): MlflowModelVersion {
  const version: MlflowModelVersion = {
    name: row.name,
    version: String(row.version),
    creation_timestamp: row.creation_timestamp,
    last_updated_timestamp: row.last_updated_timestamp,
    current_stage: row.current_stage,
    source: row.source,
    status: row.status
  };
  if (row.user_id) {
    version.user_id = row.user_id;
  }
  if (row.description) {
    version.description = row.description;
  }
  if (row.run_id) {
    version.run_id = row.run_id;
  }
  if (row.run_link) {
    version.run_link = row.run_link;
  }
  if (row.status_message) {
    version.status_message = row.status_message;
  }
  if (row.tags?.length) {
    version.tags = row.tags;
  }
  if (row.aliases?.length) {
    version.aliases = row.aliases;
  }
  return version;
}

export function registeredModelJson(
  row: ModelRow,
  details:
    | {
        tags: MlflowTag[];
        aliases: { alias: string; version: string }[];
        latest: VersionRow[];
      }
    | undefined
): MlflowRegisteredModel {
  const model: MlflowRegisteredModel = {
    name: row.name,
    creation_timestamp: row.creation_timestamp,
    last_updated_timestamp: row.last_updated_timestamp
  };
  if (row.description) {
    model.description = row.description;
  }
  if (details?.latest.length) {
    model.latest_versions = details.latest.map(modelVersionJson);
  }
  if (details?.tags.length) {
    model.tags = details.tags;
  }
  if (details?.aliases.length) {
    model.aliases = details.aliases;
  }
  return model;
}

/**
 * JSON text of an answer: non-finite numbers (metric values) as protobuf's
 * JSON mapping writes them, "NaN", "Infinity" and "-Infinity", where
 * `JSON.stringify` would write null.
 */
export function mlflowJsonText(body: unknown): string {
  return JSON.stringify(body, (_key, value) =>
    typeof value === 'number' && !Number.isFinite(value)
      ? Number.isNaN(value)
        ? 'NaN'
        : value > 0
          ? 'Infinity'
          : '-Infinity'
      : value
  );
}

/**
 * A number as protobuf's JSON mapping accepts it: a JSON number, or a
 * string holding one ("12", "NaN", "Infinity", "-Infinity").
 */
export function wireNumber(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'string' && value.trim() !== '') {
    if (value === 'NaN') {
      return NaN;
    }
    if (value === 'Infinity' || value === 'inf') {
      return Infinity;
    }
    if (value === '-Infinity' || value === '-inf') {
      return -Infinity;
    }
    const parsed = Number(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}
