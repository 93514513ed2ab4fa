import {
  EventStream,
  eventStreamUrl,
  IInsighterBus,
  ISession,
  ISidecarClient,
  ISystemStatusModel
} from '@insighter/core';
import { manifest, studioLayout } from '@insighter/registry';
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import type { Contents } from '@jupyterlab/services';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import {
  addIcon,
  folderIcon,
  homeIcon,
  notebookIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import { CommandIDs, ExternalCommandIDs } from './commands';
import { ensureFolder, projectFolder } from './folders';
import { ProjectsModel } from './model';
import { NewProjectModel } from './newproject';
import { StudioSections } from './sections';
import { StudioModel } from './studiomodel';
import {
  INewProject,
  IProject,
  IProjectsModel,
  IStudioSections
} from './tokens';
import { DashboardView } from './widgets/dashboard';
import { NewProjectDialog } from './widgets/newprojectdialog';
import { NotebooksSection } from './widgets/notebookssection';
import { StudioView } from './widgets/studio';

export { CommandIDs } from './commands';
export { ensureFolder, projectFolder, PROJECTS_FOLDER } from './folders';
export * from './tokens';

/** The gettext domain of Insighter's strings. */
const DOMAIN = 'insighter';
const CATEGORY = 'Insighter';
/** The shell's sidebar highlights this view while a dashboard or Studio is current. */
const SIDEBAR_VIEW = 'projects';

const modelPlugin: JupyterFrontEndPlugin<IProjectsModel> = {
  id: '@insighter/projects:model',
  description:
    "Provides the signed-in person's projects and teams, listed from the sidecar and kept current by the bus's project events.",
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus],
  optional: [ISession],
  provides: IProjectsModel,
  activate: activateModel
};

function activateModel(
  _app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  session: ISession | null
): IProjectsModel {
  return new ProjectsModel({ client, bus, session });
}

const eventsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/projects:events',
  description:
    "Keeps the sidecar's event stream (/api/v1/events) open while someone is signed in and re-emits its events on the bus.",
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus],
  optional: [ISession],
  activate: activateEvents
};

function activateEvents(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  session: ISession | null
): void {
  if (!session) {
    return; // The stream serves signed-in people only: without accounts there is none.
  }
  const stream = new EventStream({
    bus,
    url: eventStreamUrl(
      client.baseUrl,
      app.serviceManager.serverSettings.token
    ),
    getToken: () => session.getAccessToken(),
    session
  });
  // Each time it opens, the stream says so on the bus (`events.reconnected`):
  // every model lists again what it may have missed.
  stream.stateChanged.connect((_, state) => {
    // For tests and styles: whether live events are flowing.
    document.body.dataset.insighterEventStream = state;
  });
}

const dashboardPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/projects:dashboard',
  description:
    'Adds the dashboard (greeting, system status, project grid) and "+ New Project", with their commands in the palette and launcher.',
  autoStart: true,
  requires: [IProjectsModel, IInsighterBus],
  optional: [
    ISession,
    ISystemStatusModel,
    ILayoutRestorer,
    ICommandPalette,
    ILauncher,
    ITranslator
  ],
  activate: activateDashboard
};

function activateDashboard(
  app: JupyterFrontEnd,
  projects: IProjectsModel,
  bus: IInsighterBus,
  session: ISession | null,
  status: ISystemStatusModel | null,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  launcher: ILauncher | null,
  translator: ITranslator | null
): void {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const contents = app.serviceManager.contents;
  const tracker = new WidgetTracker<MainAreaWidget<DashboardView>>({
    namespace: 'insighter-dashboard'
  });
  const signedIn = () => !session || session.isLoggedIn;

  const openDashboard = (): MainAreaWidget<DashboardView> => {
    let widget = tracker.find(() => true);
    if (!widget) {
      widget = new MainAreaWidget({
        content: new DashboardView({
          projects,
          session,
          status,
          commands,
          trans
        })
      });
      widget.id = 'jp-insighter-dashboard';
      widget.title.label = trans.__('Dashboard');
      widget.title.caption = trans.__('Insighter: your projects');
      widget.title.icon = homeIcon;
      widget.title.closable = true;
      widget.node.dataset.insighterView = SIDEBAR_VIEW;
      void tracker.add(widget);
    }
    if (!widget.isAttached) {
      shell.add(widget, 'main');
    }
    shell.activateById(widget.id);
    return widget;
  };

  /** Creates the project, its folder, and tells the other tools. */
  const createProject = async (input: INewProject): Promise<IProject> => {
    const project = await projects.create(input);
    try {
      await ensureFolder(contents, projectFolder(project.slug));
    } catch (reason) {
      // The project exists; its Notebooks section tries the folder again.
      Notification.warning(
        trans.__(
          'Project "%1" was created, but its folder %2 could not be: %3',
          project.name,
          projectFolder(project.slug),
          reason instanceof Error ? reason.message : String(reason)
        ),
        { autoClose: false }
      );
    }
    bus.emit({
      type: 'project.created',
      payload: {
        projectId: project.id,
        name: project.name,
        slug: project.slug,
        visibility: project.visibility,
        timestamp: Date.now()
      }
    });
    return project;
  };

  commands.addCommand(CommandIDs.openDashboard, {
    label: args =>
      args.isPalette
        ? trans.__('Open Insighter Dashboard')
        : trans.__('Dashboard'),
    caption: trans.__('Your projects, and the status of Insighter'),
    icon: args => (args.isPalette ? undefined : homeIcon),
    execute: () => {
      if (projects.status === 'ready' || projects.status === 'error') {
        // Counts and activity move without events (e.g. a teammate's run): list again.
        void projects.refresh();
      }
      return openDashboard();
    }
  });
  commands.addCommand(CommandIDs.newProject, {
    label: trans.__('New Project'),
    caption: trans.__('Create a project, private or shared with a team'),
    icon: args => (args.isPalette ? undefined : addIcon),
    isEnabled: signedIn,
    execute: async () => {
      const form = new NewProjectModel({
        projects,
        trans,
        submit: createProject
      });
      const project = await NewProjectDialog.open({
        model: form,
        commands,
        trans
      });
      if (project) {
        await commands.execute(CommandIDs.openStudio, { id: project.id });
      }
      return project;
    }
  });
  commands.addCommand(CommandIDs.refreshProjects, {
    label: trans.__('Refresh Project List'),
    icon: args => (args.isPalette ? undefined : refreshIcon),
    isEnabled: signedIn,
    execute: () => projects.refresh()
  });

  session?.changed.connect((_, change) => {
    for (const id of [CommandIDs.newProject, CommandIDs.refreshProjects]) {
      commands.notifyCommandChanged(id);
    }
    // What the previous person saw is not for whoever comes next.
    if (change.reason === 'signed-out') {
      tracker.forEach(widget => widget.dispose());
    }
  });

  if (restorer) {
    void restorer.restore(tracker, {
      command: CommandIDs.openDashboard,
      name: () => 'dashboard'
    });
  }
  for (const command of [
    CommandIDs.openDashboard,
    CommandIDs.newProject,
    CommandIDs.refreshProjects
  ]) {
    palette?.addItem({ command, category: CATEGORY });
  }
  launcher?.add({
    command: CommandIDs.newProject,
    category: CATEGORY,
    rank: -1
  });
}

const studioPlugin: JupyterFrontEndPlugin<IStudioSections> = {
  id: '@insighter/projects:studio',
  description:
    "Adds each project's Studio: its facts and the registry's tool sections, restored on reload.",
  autoStart: true,
  requires: [IProjectsModel, IInsighterBus],
  optional: [ISession, ILayoutRestorer, ITranslator],
  provides: IStudioSections,
  activate: activateStudio
};

function activateStudio(
  app: JupyterFrontEnd,
  projects: IProjectsModel,
  bus: IInsighterBus,
  session: ISession | null,
  restorer: ILayoutRestorer | null,
  translator: ITranslator | null
): IStudioSections {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const sections = new StudioSections();
  const layout = studioLayout(manifest);
  const tracker = new WidgetTracker<MainAreaWidget<StudioView>>({
    namespace: 'insighter-studio'
  });

  const announce = (widget: MainAreaWidget<StudioView> | null) => {
    const project = widget?.content.model.currentProject;
    if (project) {
      bus.emit({
        type: 'project.selected',
        payload: {
          project: {
            projectId: project.id,
            name: project.name,
            slug: project.slug
          },
          timestamp: Date.now()
        }
      });
    }
  };

  const createStudio = (
    projectId: string,
    restoring: boolean
  ): MainAreaWidget<StudioView> => {
    const model = new StudioModel({ projectId, projects, session, trans });
    const widget = new MainAreaWidget({
      content: new StudioView({ model, sections, layout, trans })
    });
    widget.id = `jp-insighter-studio-${projectId}`;
    widget.title.label = projects.find(projectId)?.name ?? trans.__('Project');
    widget.title.caption = trans.__('Project Studio');
    widget.title.icon = folderIcon;
    widget.title.closable = true;
    widget.node.dataset.insighterView = SIDEBAR_VIEW;
    widget.node.dataset.projectId = projectId;
    let announced = false;
    model.changed.connect(() => {
      const project = model.currentProject;
      if (project) {
        widget.title.label = project.name;
        if (!announced && tracker.currentWidget === widget) {
          announced = true;
          announce(widget);
        }
      }
    });
    widget.disposed.connect(() => model.dispose());
    void model.load().then(() => {
      // A Studio left in the layout for a project this person cannot read
      // (deleted since, or the workspace is shared with someone else) is
      // not brought back.
      if (restoring && model.status === 'missing') {
        widget.dispose();
      }
    });
    void tracker.add(widget);
    return widget;
  };

  /** The project's id from `{id}` or, listing the projects if needed, `{slug}`. */
  const projectIdOf = async (args: {
    id?: unknown;
    slug?: unknown;
  }): Promise<string> => {
    if (typeof args.id === 'string' && args.id) {
      return args.id;
    }
    if (typeof args.slug !== 'string' || !args.slug) {
      throw new Error(`${CommandIDs.openStudio} needs {id} or {slug}.`);
    }
    let project = projects.find(args.slug);
    if (!project) {
      await session?.ready;
      await projects.refresh();
      project = projects.find(args.slug);
    }
    if (!project) {
      throw new Error(`No project "${args.slug}" is shared with you.`);
    }
    return project.id;
  };

  commands.addCommand(CommandIDs.openStudio, {
    label: args =>
      typeof args.name === 'string'
        ? trans.__('Open Studio of %1', args.name)
        : trans.__('Open Project Studio'),
    caption: trans.__(
      "A project's tools: data, notebooks, experiments, models"
    ),
    icon: args => (args.isPalette ? undefined : folderIcon),
    execute: async args => {
      const projectId = await projectIdOf(args);
      const widget =
        tracker.find(w => w.content.model.projectId === projectId) ??
        createStudio(projectId, args.restoring === true);
      if (!widget.isAttached) {
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
      return widget;
    }
  });

  tracker.currentChanged.connect((_, widget) => announce(widget));
  session?.changed.connect((_, change) => {
    if (change.reason === 'signed-out') {
      tracker.forEach(widget => widget.dispose());
    }
  });

  if (restorer) {
    void restorer.restore(tracker, {
      command: CommandIDs.openStudio,
      args: widget => ({
        id: widget.content.model.projectId,
        restoring: true
      }),
      name: widget => widget.content.model.projectId
    });
  }
  // Not in the palette: it needs a project ({id} or {slug}); cards open it.
  return sections;
}

const notebooksPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/projects:notebooks',
  description:
    "Adds the Studio's Notebooks section: notebooks in projects/<slug>/, created and opened with a kernel.",
  autoStart: true,
  requires: [IStudioSections],
  optional: [ISettingRegistry, ITranslator],
  activate: activateNotebooks
};

function activateNotebooks(
  app: JupyterFrontEnd,
  sections: IStudioSections,
  settingRegistry: ISettingRegistry | null,
  translator: ITranslator | null
): void {
  const { commands } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const contents = app.serviceManager.contents;
  let kernelName = 'python3';

  sections.register({
    toolId: 'notebooks',
    create: context =>
      new NotebooksSection({ context, contents, commands, trans })
  });

  commands.addCommand(CommandIDs.newProjectNotebook, {
    label: trans.__('New Notebook in Project'),
    caption: trans.__("Create a notebook in the project's folder and open it"),
    icon: args => (args.isPalette ? undefined : notebookIcon),
    isEnabled: args =>
      typeof args.slug === 'string' &&
      commands.hasCommand(ExternalCommandIDs.newUntitled),
    execute: async args => {
      const folder = projectFolder(String(args.slug));
      await ensureFolder(contents, folder);
      const created = (await commands.execute(ExternalCommandIDs.newUntitled, {
        path: folder,
        type: 'notebook'
      })) as Contents.IModel;
      return commands.execute(ExternalCommandIDs.openDocument, {
        path: created.path,
        factory: 'Notebook',
        kernel: { name: kernelName }
      });
    }
  });

  settingRegistry
    ?.load(notebooksPlugin.id)
    .then(settings => {
      const apply = () => {
        kernelName = settings.get('kernelName').composite as string;
      };
      apply();
      settings.changed.connect(apply);
    })
    .catch(reason => {
      // Without its schema the section still works, with the default kernel.
      console.warn(`${notebooksPlugin.id}: settings not loaded`, reason);
    });
}

/** Every plugin of the package, for `registerPlugins` / the extension loader. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [
  modelPlugin,
  eventsPlugin,
  dashboardPlugin,
  studioPlugin,
  notebooksPlugin
];

export default plugins;
