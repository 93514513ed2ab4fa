import { IInsighterBus, ISidecarClient } from '@insighter/core';
import {
  CommandIDs,
  CurrentProject,
  openStudioTool,
  TrackingApi
} from '@insighter/experiments';
import { DeploymentsApi } from '@insighter/deployment';
import { IStudioSections } from '@insighter/projects';
import { manifest } from '@insighter/registry';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { MonitorModel } from './model';
import { MonitorPanel } from './widgets/monitor';

export { isLive, MonitorModel, STATS_INTERVAL_MS } from './model';
export { MonitorPanel } from './widgets/monitor';
export { DeploymentsMonitor, type IDeploymentTraffic } from './deployments';

/** The gettext domain of Insighter's strings. */
const DOMAIN = 'insighter';
const CATEGORY = 'Insighter';

const monitorPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/tool-monitor:plugin',
  description:
    "Adds the Studio's Tool Monitor section (jobs with live logs, curves, status and container resources; deployments with live request metrics) and insighter:open-monitor.",
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus, IStudioSections],
  optional: [ICommandPalette, ITranslator],
  activate: activateMonitor
};

function activateMonitor(
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
  const deploymentsApi = new DeploymentsApi(client);
  const current = new CurrentProject(bus);
  const tool = manifest.tools.find(t => t.id === 'monitor');
  const label = tool?.label ?? 'Tool Monitor';
  const open = new Map<string, MonitorPanel>();
  /** A job asked for before its project's section was built. */
  const pendingJobs = new Map<string, string>();

  sections.register({
    toolId: 'monitor',
    create: context => {
      const projectId = context.project.id;
      const model = new MonitorModel({
        api,
        bus,
        projectId,
        trans,
        deploymentsApi
      });
      const panel = new MonitorPanel(model, trans);
      open.set(projectId, panel);
      context.projectChanged.connect((_, project) =>
        model.setProject(project.id)
      );
      panel.disposed.connect(() => {
        if (open.get(projectId) === panel) {
          open.delete(projectId);
        }
      });
      const jobId = pendingJobs.get(projectId);
      if (jobId) {
        pendingJobs.delete(projectId);
        model.select(jobId);
      }
      return panel;
    }
  });

  commands.addCommand(CommandIDs.openMonitor, {
    label: args =>
      args.isPalette ? trans.__('Open %1', trans.__(label)) : trans.__(label),
    caption: trans.__(tool?.description ?? ''),
    icon: args =>
      args.isPalette || !tool
        ? undefined
        : LabIcon.resolve({ icon: tool.icon }),
    execute: async args => {
      const jobId = typeof args.jobId === 'string' ? args.jobId : null;
      const { projectId } = await openStudioTool(
        commands,
        args,
        'monitor',
        current,
        trans.__('Open a project first: its Studio has the Tool Monitor.')
      );
      const panel = open.get(projectId);
      if (jobId) {
        if (panel) {
          panel.model.select(jobId);
        } else {
          pendingJobs.set(projectId, jobId);
        }
      }
      return panel ?? null;
    }
  });
  palette?.addItem({ command: CommandIDs.openMonitor, category: CATEGORY });
}

/** Every plugin of the package, for `registerPlugins` / the extension loader. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [monitorPlugin];

export default plugins;
