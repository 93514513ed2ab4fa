import {
  launcherTools,
  manifest,
  sidebarTools,
  type ToolEntry,
  type ToolRegistry
} from '@insighter/registry';
import type { ILauncher } from '@jupyterlab/launcher';
import {
  nullTranslator,
  type TranslationBundle
} from '@jupyterlab/translation';
import { folderIcon, LabIcon, settingsIcon } from '@jupyterlab/ui-components';
import { DisposableSet, type IDisposable } from '@lumino/disposable';
import { CommandIDs } from './commands';

/**
 * A view's name: `projects` (the home, first in the sidebar), `settings`
 * (last), or the id of a tool in the registry's manifest.
 */
export type ViewName = string;

/** The first nav item: the dashboard, or the shell's stand-in for it. */
export const HOME_VIEW = 'projects';
/** The last nav item: system status, account and version. */
export const SETTINGS_VIEW = 'settings';

/** The category of Insighter's launcher cards. */
export const LAUNCHER_CATEGORY = 'Insighter';

export interface IViewInfo {
  name: ViewName;
  label: string;
  /** One line for tooltips and launcher captions. */
  caption: string;
  icon: LabIcon;
  /** The command that opens the view (the sidebar, palette and launcher all run it). */
  command: string;
  /** The manifest entry of a tool's view; none for Projects and Settings. */
  tool?: ToolEntry;
}

/** What the shell shows, in order: nav items and launcher cards. */
export interface INavigation {
  /** Projects, the manifest's sidebar tools in order, Settings. */
  views: IViewInfo[];
  /** Projects, the manifest's launcher tools in order, Settings. */
  launcher: IViewInfo[];
  /** Every view above by name. */
  infos: Record<ViewName, IViewInfo>;
}

/**
 * The `LabIcon` a manifest names, e.g. `ui-components:spreadsheet`. An icon
 * not registered yet is a placeholder its extension replaces when it
 * registers the name.
 */
export function toolIcon(name: string): LabIcon {
  return LabIcon.resolve({ icon: name });
}

/** A tool's view, labelled from the manifest in the user's language. */
export function toolView(tool: ToolEntry, trans: TranslationBundle): IViewInfo {
  return {
    name: tool.id,
    label: trans.__(tool.label),
    caption: trans.__(tool.description),
    icon: toolIcon(tool.icon),
    command: tool.command,
    tool
  };
}

/** The sidebar's and launcher's views for a manifest (the bundled one by default). */
export function navigation(
  trans: TranslationBundle,
  registry: ToolRegistry = manifest
): INavigation {
  const home: IViewInfo = {
    name: HOME_VIEW,
    label: trans.__('Projects'),
    caption: trans.__('Your projects and team workspaces'),
    icon: folderIcon,
    command: CommandIDs.openProjects
  };
  const settings: IViewInfo = {
    name: SETTINGS_VIEW,
    label: trans.__('Settings'),
    caption: trans.__('System status and version'),
    icon: settingsIcon,
    command: CommandIDs.openSettings
  };
  const views = [
    home,
    ...sidebarTools(registry).map(tool => toolView(tool, trans)),
    settings
  ];
  const byName = new Map(views.map(view => [view.name, view]));
  const launcher = [
    home,
    ...launcherTools(registry).map(
      tool => byName.get(tool.id) ?? toolView(tool, trans)
    ),
    settings
  ];
  const infos: Record<ViewName, IViewInfo> = {};
  for (const view of [...views, ...launcher]) {
    infos[view.name] = view;
  }
  return { views, launcher, infos };
}

/** One launcher card per view, in order, in the "Insighter" category. */
export function addLauncherCards(
  launcher: ILauncher,
  views: readonly IViewInfo[]
): IDisposable {
  const cards = new DisposableSet();
  views.forEach((view, rank) => {
    cards.add(
      launcher.add({
        command: view.command,
        category: LAUNCHER_CATEGORY,
        rank
      })
    );
  });
  return cards;
}

/** The views of the bundled manifest's sidebar, in order. */
export const VIEW_NAMES: readonly ViewName[] = navigation(
  nullTranslator.load('insighter')
).views.map(view => view.name);

/** Whether `value` names a view of the bundled manifest's sidebar. */
export function isViewName(value: unknown): value is ViewName {
  return typeof value === 'string' && VIEW_NAMES.includes(value);
}

/** Labels and icons of every view of the bundled manifest, in the user's language. */
export function viewInfos(
  trans: TranslationBundle,
  registry: ToolRegistry = manifest
): Record<ViewName, IViewInfo> {
  return navigation(trans, registry).infos;
}
