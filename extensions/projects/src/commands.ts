/** Every user action on projects is one of these commands (palette, launcher, views). */
export namespace CommandIDs {
  /** The signed-in home: greeting, system status, the project grid. */
  export const openDashboard = 'insighter:open-dashboard';
  /** The "+ New Project" form. */
  export const newProject = 'insighter:new-project';
  /** A project's Studio, by `{id}` or `{slug}`. */
  export const openStudio = 'insighter:open-studio';
  /** A new notebook in a project's folder (`{slug}`), opened with a kernel. */
  export const newProjectNotebook = 'insighter:new-project-notebook';
  /** List projects and teams again. */
  export const refreshProjects = 'insighter:refresh-projects';
}

/** Commands of other plugins these views run. */
export namespace ExternalCommandIDs {
  export const newUntitled = 'docmanager:new-untitled';
  export const openDocument = 'docmanager:open';
  /** `@insighter/auth`: Settings → Teams. */
  export const openTeams = 'insighter:open-teams';
  /** `@insighter/shell`: Settings, which details the system status. */
  export const openSettings = 'insighter:open-settings';
  export const login = 'insighter:login';
  export const signup = 'insighter:signup';
}
