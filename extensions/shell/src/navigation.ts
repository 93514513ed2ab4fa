import type { TranslationBundle } from '@jupyterlab/translation';
import {
  buildIcon,
  folderIcon,
  LabIcon,
  notebookIcon,
  runningIcon,
  settingsIcon,
  spreadsheetIcon
} from '@jupyterlab/ui-components';

/** The shell's views, in the order the sidebar lists them. */
export const VIEW_NAMES = [
  'projects',
  'data',
  'notebooks',
  'models',
  'workflow',
  'settings'
] as const;

export type ViewName = (typeof VIEW_NAMES)[number];

export function isViewName(value: unknown): value is ViewName {
  return (VIEW_NAMES as readonly unknown[]).includes(value);
}

export interface IViewInfo {
  name: ViewName;
  label: string;
  /** One line for tooltips and launcher captions. */
  caption: string;
  icon: LabIcon;
}

/** Labels and icons of every view, in the user's language. */
export function viewInfos(
  trans: TranslationBundle
): Record<ViewName, IViewInfo> {
  return {
    projects: {
      name: 'projects',
      label: trans.__('Projects'),
      caption: trans.__('Your projects and team workspaces'),
      icon: folderIcon
    },
    data: {
      name: 'data',
      label: trans.__('Data'),
      caption: trans.__('Datasets: upload, schema and statistics'),
      icon: spreadsheetIcon
    },
    notebooks: {
      name: 'notebooks',
      label: trans.__('Notebooks'),
      caption: trans.__('Create and open notebooks'),
      icon: notebookIcon
    },
    models: {
      name: 'models',
      label: trans.__('Models'),
      caption: trans.__('Registered model versions and deployments'),
      icon: buildIcon
    },
    workflow: {
      name: 'workflow',
      label: trans.__('Workflow'),
      caption: trans.__('Training runs and their live metrics'),
      icon: runningIcon
    },
    settings: {
      name: 'settings',
      label: trans.__('Settings'),
      caption: trans.__('System status and version'),
      icon: settingsIcon
    }
  };
}
