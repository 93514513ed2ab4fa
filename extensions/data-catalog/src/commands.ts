/** Every user action on datasets is one of these commands (palette, launcher, views). */
export namespace CommandIDs {
  /** The Data view: every dataset the person may read, by project (the registry's `data` tool). */
  export const openData = 'insighter:open-data';
  /** A dataset's detail (`{datasetId}`), which also selects it. */
  export const openDataset = 'insighter:open-dataset';
  /** Deletes a dataset (`{datasetId}`), or one of its versions (`{datasetId, version}`), after asking. */
  export const deleteDataset = 'insighter:delete-dataset';
  /** Lists the datasets again. */
  export const refreshDatasets = 'insighter:refresh-datasets';
}

/** Commands of other plugins these views run. */
export namespace ExternalCommandIDs {
  /**
   * A notebook in the project's folder whose first cell loads the dataset
   * (`{datasetId, projectId, name}`); `src/notebook.ts` adds it.
   */
  export const openInNotebook = 'insighter:open-dataset-in-notebook';
  export const login = 'insighter:login';
}
