/** Every user action of this package is one of these commands (palette, sidebar, launcher, views). */
export namespace CommandIDs {
  /** A project's Experiments (`{id}` or `{slug}`; the open project without), optionally a run (`{runId}`). */
  export const openExperiments = 'insighter:open-experiments';
  /** The registered models and their versions: all mine, or a project's (`{id}`/`{slug}`). */
  export const openModels = 'insighter:open-models';
  /** `@insighter/tool-monitor`: a project's running and recent jobs (`{id}`/`{slug}`, `{jobId}`). */
  export const openMonitor = 'insighter:open-monitor';
  /** Points an alias at a model version: `{model, version, alias}`. */
  export const setModelAlias = 'insighter:set-model-alias';
}

/** Commands of other plugins these views run. */
export namespace ExternalCommandIDs {
  /** `@insighter/projects`: a project's Studio, by `{id}` or `{slug}`. */
  export const openStudio = 'insighter:open-studio';
}
