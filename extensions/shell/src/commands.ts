import { manifest, sidebarTools } from '@insighter/registry';
import type { ViewName } from './navigation';

/** Every user action of the shell is one of these commands. */
export namespace CommandIDs {
  export const openProjects = 'insighter:open-projects';
  /** The tools' commands come from the manifest (`tools.json`); these are the bundled ones. */
  export const openData = 'insighter:open-data';
  export const openNotebooks = 'insighter:open-notebooks';
  export const openModels = 'insighter:open-models';
  export const openWorkflow = 'insighter:open-workflow';
  export const openSettings = 'insighter:open-settings';
  /** Opens the view named by the `view` argument; layout restoration uses it. */
  export const openView = 'insighter:open-view';
  export const showSidebar = 'insighter:show-sidebar';
  export const newNotebook = 'insighter:new-notebook';
  export const refreshNotebooks = 'insighter:refresh-notebooks';
  export const refreshStatus = 'insighter:refresh-status';
}

/**
 * The command that opens each view of the bundled manifest's sidebar: the
 * shell's own for Projects and Settings, each tool's `command` otherwise.
 */
export const OPEN_VIEW_COMMANDS: Readonly<Record<ViewName, string>> =
  Object.fromEntries([
    ['projects', CommandIDs.openProjects],
    ...sidebarTools(manifest).map(tool => [tool.id, tool.command]),
    ['settings', CommandIDs.openSettings]
  ]);

/**
 * Views a tool takes over when it is installed: the shell runs the tool's
 * command instead of opening its own stand-in.
 */
export const VIEW_REPLACEMENTS: Readonly<Partial<Record<ViewName, string>>> = {
  projects: 'insighter:open-dashboard'
};

/** Commands of other JupyterLab plugins the shell runs. */
export namespace ExternalCommandIDs {
  export const createNotebook = 'notebook:create-new';
  export const openDocument = 'docmanager:open';
  /** Account commands of `@insighter/auth`. */
  export const login = 'insighter:login';
  export const signup = 'insighter:signup';
  export const logout = 'insighter:logout';
  export const openProfile = 'insighter:open-profile';
  export const openTeams = 'insighter:open-teams';
}
