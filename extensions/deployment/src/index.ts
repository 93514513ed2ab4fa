import { IInsighterBus, ISidecarClient } from '@insighter/core';
import {
  CurrentProject,
  openStudioTool,
  TrackingApi
} from '@insighter/experiments';
import { IStudioSections } from '@insighter/projects';
import { manifest } from '@insighter/registry';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { launchIcon, LabIcon } from '@jupyterlab/ui-components';
import { DeploymentsApi } from './api';
import { DeploymentModel } from './model';
import { CommandIDs } from './tokens';
import { DeploymentSection } from './widgets/section';

export { curlExample, DeploymentsApi } from './api';
export { ms, statusLabel } from './format';
export { DeploymentModel } from './model';
export * from './tokens';
export { DeploymentSection, DeploymentView } from './widgets/section';

/** The gettext domain of Insighter's strings. */
const DOMAIN = 'insighter';
const CATEGORY = 'Insighter';

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/deployment:plugin',
  description:
    "Adds the Studio's Deployment section (deploy a model version, endpoint URL and curl example, API keys, request metrics) and insighter:open-deployments.",
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus, IStudioSections],
  optional: [ICommandPalette, ITranslator],
  activate: activateDeployment
};

function activateDeployment(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  sections: IStudioSections,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): void {
  const { commands } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const api = new DeploymentsApi(client);
  const tracking = new TrackingApi({
    client,
    serverSettings: app.serviceManager.serverSettings
  });
  const current = new CurrentProject(bus);
  const tool = manifest.tools.find(t => t.id === 'deployments');
  const label = tool?.label ?? 'Deployments';
  const icon = tool ? LabIcon.resolve({ icon: tool.icon }) : launchIcon;
  const open = new Map<string, DeploymentSection>();

  sections.register({
    toolId: 'deployments',
    create: context => {
      const project = context.project;
      const model = new DeploymentModel({
        api,
        tracking,
        bus,
        project: { id: project.id, slug: project.slug },
        trans
      });
      context.projectChanged.connect((_, changed) => {
        if (model.project.slug !== changed.slug) {
          model.setProject({ id: changed.id, slug: changed.slug });
        }
      });
      const section = new DeploymentSection(model, trans);
      open.set(project.id, section);
      section.disposed.connect(() => {
        if (open.get(project.id) === section) {
          open.delete(project.id);
        }
      });
      return section;
    }
  });

  commands.addCommand(CommandIDs.openDeployments, {
    label: args =>
      args.isPalette ? trans.__('Open %1', trans.__(label)) : trans.__(label),
    caption: trans.__(tool?.description ?? ''),
    icon: args => (args.isPalette ? undefined : icon),
    execute: async args => {
      const { projectId } = await openStudioTool(
        commands,
        args,
        'deployments',
        current,
        trans.__('Open a project first: its Studio has the Deployment section.')
      );
      return open.get(projectId) ?? null;
    }
  });
  palette?.addItem({ command: CommandIDs.openDeployments, category: CATEGORY });
}

/** Every plugin of the package, for `registerPlugins` / the extension loader. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [plugin];

export default plugins;
