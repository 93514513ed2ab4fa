import {
  IInsighterBus,
  InsighterBus,
  ISession,
  ISidecarClient,
  ISystemStatusModel,
  SidecarClient
} from '@insighter/core';
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { manifest, type ToolRegistry } from '@insighter/registry';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { notebookIcon, refreshIcon } from '@jupyterlab/ui-components';
import { CommandIDs, ExternalCommandIDs, VIEW_REPLACEMENTS } from './commands';
import { insighterIcon } from './icons';
import {
  addLauncherCards,
  HOME_VIEW,
  navigation,
  SETTINGS_VIEW,
  ViewName
} from './navigation';
import { NotebooksModel } from './notebooksmodel';
import {
  announceStatusChanges,
  IStatusPollTiming,
  SystemStatusModel
} from './statusmodel';
import { statusTitle } from './statustext';
import { ViewManager } from './viewmanager';
import { ComingSoonView } from './widgets/comingsoon';
import { NotebooksView } from './widgets/notebooksview';
import { guardView } from './widgets/sessiongate';
import { SettingsView } from './widgets/settingsview';
import { Sidebar } from './widgets/sidebar';
import { StatusItem } from './widgets/statusitem';
import type { InsighterView } from './widgets/view';

export { CommandIDs } from './commands';
export { INotebookEntry, NotebooksModel } from './notebooksmodel';

/** The gettext domain of Insighter's strings. */
const DOMAIN = 'insighter';
const PALETTE_CATEGORY = 'Insighter';
/** Tools whose global view the shell itself provides, whatever their status. */
const SHELL_TOOL_VIEWS: readonly string[] = ['notebooks'];
/** Above the file browser (100): Insighter's navigation comes first. */
const SIDEBAR_RANK = 50;

const busPlugin: JupyterFrontEndPlugin<IInsighterBus> = {
  id: '@insighter/shell:bus',
  description: 'Provides the signal bus Insighter tools share events on.',
  autoStart: true,
  provides: IInsighterBus,
  activate: activateBus
};

function activateBus(_app: JupyterFrontEnd): IInsighterBus {
  return new InsighterBus();
}

const clientPlugin: JupyterFrontEndPlugin<ISidecarClient> = {
  id: '@insighter/shell:client',
  description:
    'Provides the client for the Insighter sidecar behind the Jupyter server.',
  autoStart: true,
  provides: ISidecarClient,
  activate: activateClient
};

function activateClient(app: JupyterFrontEnd): ISidecarClient {
  return new SidecarClient({
    serverSettings: app.serviceManager.serverSettings
  });
}

const statusPlugin: JupyterFrontEndPlugin<ISystemStatusModel> = {
  id: '@insighter/shell:status',
  description:
    'Polls the Insighter system status, shows it in the status bar and announces changes on the bus.',
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus],
  optional: [ISettingRegistry, IStatusBar, ICommandPalette, ITranslator],
  provides: ISystemStatusModel,
  activate: activateStatus
};

function activateStatus(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  settingRegistry: ISettingRegistry | null,
  statusBar: IStatusBar | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): ISystemStatusModel {
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const model = new SystemStatusModel({ client, trans });

  announceStatusChanges(model, bus);

  app.commands.addCommand(CommandIDs.refreshStatus, {
    label: trans.__('Check Insighter Status Now'),
    caption: trans.__('Ask the Insighter service for its status now'),
    icon: args => (args.isPalette ? undefined : refreshIcon),
    execute: () => model.refresh()
  });
  palette?.addItem({
    command: CommandIDs.refreshStatus,
    category: PALETTE_CATEGORY
  });

  if (settingRegistry) {
    settingRegistry
      .load(statusPlugin.id)
      .then(settings => {
        const apply = () =>
          model.configure({
            interval: settings.get('pollInterval').composite as number,
            retryInterval: settings.get('retryInterval').composite as number,
            maxRetryInterval: settings.get('maxRetryInterval')
              .composite as number
          } satisfies IStatusPollTiming);
        apply();
        settings.changed.connect(apply);
      })
      .catch(reason => {
        // Without its schema the indicator still works, on the default timing.
        console.warn(`${statusPlugin.id}: settings not loaded`, reason);
      });
  }

  if (statusBar) {
    const item = new StatusItem(model, trans, () => {
      if (app.commands.hasCommand(CommandIDs.openSettings)) {
        void app.commands.execute(CommandIDs.openSettings);
      } else {
        void showDialog({
          title: trans.__('Insighter status'),
          body: statusTitle(model, trans)
        });
      }
    });
    statusBar.registerStatusItem(statusPlugin.id, {
      item,
      align: 'left',
      rank: 100
    });
  }

  return model;
}

/**
 * The plugin of the navigation for a tool manifest: its sidebar tools become
 * nav items between Projects and Settings, its launcher tools launcher cards.
 */
export function createSidebarPlugin(
  registry: ToolRegistry
): JupyterFrontEndPlugin<void> {
  function activateNavigation(
    app: JupyterFrontEnd,
    ...services: SidebarServices
  ): void {
    activateSidebar(registry, app, ...services);
  }
  return {
    id: '@insighter/shell:sidebar',
    description:
      "Adds Insighter's navigation to the left area, its views to the main area, and their commands to the palette and launcher.",
    autoStart: true,
    requires: [ISystemStatusModel, ISidecarClient],
    optional: [
      ILayoutRestorer,
      ICommandPalette,
      ILauncher,
      ILabShell,
      ITranslator,
      ISession
    ],
    activate: activateNavigation
  };
}

type SidebarServices = [
  statusModel: ISystemStatusModel,
  client: ISidecarClient,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  launcher: ILauncher | null,
  labShell: ILabShell | null,
  translator: ITranslator | null,
  session: ISession | null
];

const sidebarPlugin = createSidebarPlugin(manifest);

function activateSidebar(
  registry: ToolRegistry,
  app: JupyterFrontEnd,
  statusModel: ISystemStatusModel,
  client: ISidecarClient,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  launcher: ILauncher | null,
  labShell: ILabShell | null,
  translator: ITranslator | null,
  session: ISession | null
): void {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const nav = navigation(trans, registry);
  const infos = nav.infos;
  const notebooks = new NotebooksModel(app.serviceManager.contents, '');

  const projectsComingSoon = trans.__(
    'Projects arrive with project support: create a project, choose who sees it, and open its studio. Coming soon.'
  );

  const create = (name: ViewName): InsighterView => {
    const info = infos[name];
    switch (name) {
      case 'notebooks':
        return new NotebooksView(info, notebooks, commands, trans);
      case SETTINGS_VIEW:
        return new SettingsView(
          info,
          statusModel,
          commands,
          trans,
          client.baseUrl
        );
      case HOME_VIEW:
        return new ComingSoonView(info, projectsComingSoon);
      default:
        // A planned tool: said plainly, in the manifest's words.
        return new ComingSoonView(
          info,
          trans.__('Coming soon: %1. %2', info.label, info.caption)
        );
    }
  };
  const views = new ViewManager({
    shell,
    infos,
    create,
    // Settings stays open to all: it shows the system status and the way to log in.
    decorate: (name, widget) => {
      if (session && name !== 'settings') {
        guardView(widget, session, commands, trans);
      }
    }
  });

  // A tool that owns a view's place (e.g. `@insighter/projects`' dashboard
  // for Projects) registers its command; the shell's stand-in view is used
  // only while no such tool is installed.
  const openView = (name: ViewName) => {
    const replacement = VIEW_REPLACEMENTS[name];
    return replacement && commands.hasCommand(replacement)
      ? commands.execute(replacement)
      : views.open(name);
  };
  // The shell opens Projects, Settings, its own views of tools (Notebooks)
  // and a "coming soon" view of each planned tool; an available tool's own
  // extension registers the command of its view.
  const shellViews = Object.values(infos).filter(
    info =>
      !info.tool ||
      info.tool.status === 'planned' ||
      SHELL_TOOL_VIEWS.includes(info.name)
  );
  for (const info of shellViews) {
    commands.addCommand(info.command, {
      label: args =>
        args.isPalette ? trans.__('Open %1', info.label) : info.label,
      caption: info.caption,
      icon: args => (args.isPalette ? undefined : info.icon),
      execute: () => openView(info.name)
    });
  }
  commands.addCommand(CommandIDs.openView, {
    label: trans.__('Open Insighter View'),
    execute: args => {
      const view = args.view;
      if (typeof view !== 'string' || !shellViews.some(v => v.name === view)) {
        throw new Error(`No Insighter view named "${String(view)}".`);
      }
      return views.open(view);
    }
  });

  const sidebar = new Sidebar(nav.views, commands, trans, session);
  shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
  commands.addCommand(CommandIDs.showSidebar, {
    label: trans.__('Show Insighter Navigation'),
    icon: args => (args.isPalette ? undefined : insighterIcon),
    execute: () => shell.activateById(sidebar.id)
  });
  labShell?.currentChanged.connect((_, change) => {
    // Tools' own main-area widgets name the view they belong to on their node.
    const named = change.newValue?.node.dataset.insighterView;
    sidebar.activeView =
      views.viewOf(change.newValue) ??
      (named !== undefined && named in infos ? named : null);
  });

  commands.addCommand(CommandIDs.newNotebook, {
    label: trans.__('New Notebook'),
    caption: trans.__('Create a notebook and open it'),
    icon: args => (args.isPalette ? undefined : notebookIcon),
    isEnabled: () => commands.hasCommand(ExternalCommandIDs.createNotebook),
    execute: async () => {
      // With the server's default kernel, as a launcher card would pass it,
      // so one click gives a running notebook instead of a kernel dialog.
      const specs = app.serviceManager.kernelspecs;
      await specs.ready;
      const kernelName = specs.specs?.default;
      return commands.execute(ExternalCommandIDs.createNotebook, {
        cwd: notebooks.folder,
        ...(kernelName ? { kernelName } : {})
      });
    }
  });
  commands.addCommand(CommandIDs.refreshNotebooks, {
    label: trans.__('Refresh Notebook List'),
    icon: args => (args.isPalette ? undefined : refreshIcon),
    execute: () => notebooks.refresh()
  });

  if (restorer) {
    restorer.add(sidebar, 'insighter-sidebar');
    void restorer.restore(views.tracker, {
      command: CommandIDs.openView,
      args: widget => ({ view: widget.content.viewName }),
      name: widget => widget.content.viewName
    });
  }

  if (palette) {
    for (const command of [
      ...shellViews.map(info => info.command),
      CommandIDs.showSidebar,
      CommandIDs.newNotebook,
      CommandIDs.refreshNotebooks
    ]) {
      palette.addItem({ command, category: PALETTE_CATEGORY });
    }
  }

  if (launcher) {
    addLauncherCards(launcher, nav.launcher);
  }
}

/** Every plugin of the package, for `registerPlugins` / the extension loader. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [
  busPlugin,
  clientPlugin,
  statusPlugin,
  sidebarPlugin
];

export default plugins;
