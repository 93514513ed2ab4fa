import { IInsighterBus, ISession, ISidecarClient } from '@insighter/core';
import { IProjectsModel, IStudioSections } from '@insighter/projects';
import { manifest } from '@insighter/registry';
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { buildIcon, LabIcon, runIcon } from '@jupyterlab/ui-components';
import { TrackingApi } from './api';
import { CommandIDs } from './commands';
import { ModelsModel } from './models';
import { CurrentProject, openStudioTool } from './studio';
import { ExperimentsSection } from './widgets/experimentssection';
import { ModelsPanel } from './widgets/modelspanel';

export {
  BUILTIN_ALGORITHMS,
  checkParam,
  normalizeAlgorithms
} from './algorithms';
export { filterLiteral, TrackingApi } from './api';
export { CommandIDs, ExternalCommandIDs } from './commands';
export { CompareModel, comparableMetrics, paramDiff } from './compare';
export { filterLines, JobLogFollower, LogBuffer } from './logs';
export { IMetricPoint, isCurveKey, mergePoints, RunMetrics } from './metrics';
export { ModelsModel } from './models';
export { RunDetailModel } from './rundetail';
export {
  algorithmLabel,
  filterRows,
  IRunRow,
  runRows,
  RunsModel,
  sortRows
} from './runs';
export { CurrentProject, openStudioTool } from './studio';
export { TrainFormModel } from './trainform';
export * from './tokens';
export { MetricChart, formatValue } from './widgets/chart';
export { formatBytes, formatDuration } from './widgets/format';
export { LogView } from './widgets/logview';
export { ErrorMessage } from './widgets/message';
export { statusLabel } from './widgets/runstable';

/** The gettext domain of Insighter's strings. */
const DOMAIN = 'insighter';
const CATEGORY = 'Insighter';

function toolOf(id: string) {
  const tool = manifest.tools.find(t => t.id === id);
  return {
    label: tool?.label ?? id,
    description: tool?.description ?? '',
    icon: tool ? LabIcon.resolve({ icon: tool.icon }) : undefined
  };
}

const experimentsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/experiments:plugin',
  description:
    "Adds the Studio's Experiments section (training form, runs, run detail, comparison) and insighter:open-experiments.",
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus, IStudioSections],
  optional: [ICommandPalette, ITranslator],
  activate: activateExperiments
};

function activateExperiments(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  sections: IStudioSections,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): void {
  const { commands } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const api = new TrackingApi({
    client,
    serverSettings: app.serviceManager.serverSettings
  });
  const current = new CurrentProject(bus);
  const tool = toolOf('experiments');
  const open = new Map<string, ExperimentsSection>();
  /** A run asked for before its project's section was built. */
  const pendingRuns = new Map<string, string>();

  sections.register({
    toolId: 'experiments',
    create: context => {
      const section = new ExperimentsSection({
        context,
        api,
        bus,
        commands,
        trans
      });
      const projectId = context.project.id;
      open.set(projectId, section);
      section.disposed.connect(() => {
        if (open.get(projectId) === section) {
          open.delete(projectId);
        }
      });
      const runId = pendingRuns.get(projectId);
      if (runId) {
        pendingRuns.delete(projectId);
        section.openRun(runId);
      }
      return section;
    }
  });

  commands.addCommand(CommandIDs.openExperiments, {
    label: args =>
      args.isPalette
        ? trans.__('Open %1', trans.__(tool.label))
        : trans.__(tool.label),
    caption: trans.__(tool.description),
    icon: args => (args.isPalette ? undefined : (tool.icon ?? runIcon)),
    execute: async args => {
      const runId = typeof args.runId === 'string' ? args.runId : null;
      const { projectId } = await openStudioTool(
        commands,
        args,
        'experiments',
        current,
        trans.__('Open a project first: its Studio has the Experiments.')
      );
      const section = open.get(projectId);
      if (runId) {
        if (section) {
          section.openRun(runId);
        } else {
          pendingRuns.set(projectId, runId);
        }
      }
      return section ?? null;
    }
  });
  palette?.addItem({ command: CommandIDs.openExperiments, category: CATEGORY });
}

const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/experiments:models',
  description:
    "Adds the Models view (registered models, versions, aliases) with insighter:open-models, and the Studio section of a project's model.",
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus, IStudioSections],
  optional: [
    ISession,
    IProjectsModel,
    ILayoutRestorer,
    ICommandPalette,
    ITranslator
  ],
  activate: activateModels
};

function activateModels(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  sections: IStudioSections,
  session: ISession | null,
  projects: IProjectsModel | null,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): void {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const api = new TrackingApi({
    client,
    serverSettings: app.serviceManager.serverSettings
  });
  const tool = toolOf('models');
  const icon = tool.icon ?? buildIcon;
  const tracker = new WidgetTracker<MainAreaWidget<ModelsPanel>>({
    namespace: 'insighter-models'
  });

  sections.register({
    toolId: 'models',
    create: context => {
      const model = new ModelsModel({
        api,
        bus,
        project: { id: context.project.id, slug: context.project.slug },
        trans
      });
      context.projectChanged.connect((_, project) => {
        if (model.project?.slug !== project.slug) {
          model.setProject({ id: project.id, slug: project.slug });
        }
      });
      return new ModelsPanel(model, trans);
    }
  });

  const openView = (): MainAreaWidget<ModelsPanel> => {
    let widget = tracker.find(() => true);
    if (!widget) {
      const model = new ModelsModel({ api, bus, trans });
      // A project's model is named after its slug: name the project beside it.
      const projectName = (modelName: string) =>
        projects?.find(modelName)?.name ?? null;
      widget = new MainAreaWidget({
        content: new ModelsPanel(model, trans, projectName)
      });
      widget.id = 'jp-insighter-view-models';
      widget.addClass('jp-insighter-ViewPanel');
      widget.title.label = trans.__(tool.label);
      widget.title.caption = trans.__(tool.description);
      widget.title.icon = icon;
      widget.title.closable = true;
      // The shell's sidebar highlights Models while this is current.
      widget.node.dataset.insighterView = 'models';
      void tracker.add(widget);
    }
    if (!widget.isAttached) {
      shell.add(widget, 'main');
    }
    shell.activateById(widget.id);
    return widget;
  };

  commands.addCommand(CommandIDs.openModels, {
    label: args =>
      args.isPalette
        ? trans.__('Open %1', trans.__(tool.label))
        : trans.__(tool.label),
    caption: trans.__(tool.description),
    icon: args => (args.isPalette ? undefined : icon),
    execute: () => {
      const widget = openView();
      if (!session || session.isLoggedIn) {
        void widget.content.model.refresh();
      }
      return widget;
    }
  });

  session?.changed.connect((_, change) => {
    if (change.reason === 'signed-out') {
      // What the previous person saw is not for whoever comes next.
      tracker.forEach(widget => widget.dispose());
    } else if (change.reason === 'signed-in' || change.reason === 'restored') {
      tracker.forEach(widget => void widget.content.model.refresh());
    }
  });

  if (restorer) {
    void restorer.restore(tracker, {
      command: CommandIDs.openModels,
      name: () => 'models'
    });
  }
  palette?.addItem({ command: CommandIDs.openModels, category: CATEGORY });
}

/** Every plugin of the package, for `registerPlugins` / the extension loader. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [
  experimentsPlugin,
  modelsPlugin
];

export default plugins;
