import { IInsighterBus, ISession, ISidecarClient } from '@insighter/core';
import { IProjectsModel, IStudioSections } from '@insighter/projects';
import { manifest } from '@insighter/registry';
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { refreshIcon, spreadsheetIcon } from '@jupyterlab/ui-components';
import { CommandIDs } from './commands';
import { DatasetDetailModel, DEFAULT_PREVIEW_ROWS } from './detailmodel';
import { DataCatalogModel } from './model';
import { notebookPlugin } from './notebook';
import { IDataCatalog } from './tokens';
import { uploadDataset } from './upload';
import { DatasetDetailView } from './widgets/detail';
import { DataView } from './widgets/dataview';
import { DataSection } from './widgets/section';

export { CommandIDs, ExternalCommandIDs } from './commands';
export * from './tokens';

/** The gettext domain of Insighter's strings. */
const DOMAIN = 'insighter';
const CATEGORY = 'Insighter';
/** The registry's id of this tool: its Studio section, sidebar item and view. */
const TOOL_ID = 'data';

const plugin: JupyterFrontEndPlugin<IDataCatalog> = {
  id: '@insighter/data-catalog:plugin',
  description:
    "Adds the data catalog: the Data view, each project's Data section with drag-and-drop upload, and the dataset detail with statistics, preview and versions.",
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus],
  optional: [
    ISession,
    IProjectsModel,
    IStudioSections,
    ILayoutRestorer,
    ICommandPalette,
    ISettingRegistry,
    ITranslator
  ],
  provides: IDataCatalog,
  activate: activateDataCatalog
};

function activateDataCatalog(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  session: ISession | null,
  projects: IProjectsModel | null,
  sections: IStudioSections | null,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  settingRegistry: ISettingRegistry | null,
  translator: ITranslator | null
): IDataCatalog {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const tool = manifest.tools.find(t => t.id === TOOL_ID);
  const catalog = new DataCatalogModel({
    client,
    bus,
    session,
    projects,
    you: trans.__('You'),
    upload: options =>
      uploadDataset({
        ...options,
        baseUrl: client.baseUrl,
        // Asked at upload time: the provider is set once someone signs in.
        accessToken: () => client.accessTokenProvider?.() ?? null,
        serverSettings: app.serviceManager.serverSettings
      })
  });
  let previewRows = DEFAULT_PREVIEW_ROWS;
  const signedIn = () => !session || session.isLoggedIn;

  sections?.register({
    toolId: TOOL_ID,
    create: context => new DataSection({ context, catalog, commands, trans })
  });

  // The Data view: one tab, named after the registry's tool.
  const viewTracker = new WidgetTracker<MainAreaWidget<DataView>>({
    namespace: 'insighter-data'
  });
  const openData = (): MainAreaWidget<DataView> => {
    let widget = viewTracker.find(() => true);
    if (!widget) {
      widget = new MainAreaWidget({
        content: new DataView({ catalog, projects, session, commands, trans })
      });
      widget.id = 'jp-insighter-data';
      widget.title.label = trans.__(tool?.label ?? 'Data');
      widget.title.caption = tool ? trans.__(tool.description) : '';
      widget.title.icon = spreadsheetIcon;
      widget.title.closable = true;
      // The shell's sidebar highlights Data while this tab is current.
      widget.node.dataset.insighterView = TOOL_ID;
      void viewTracker.add(widget);
    }
    if (!widget.isAttached) {
      shell.add(widget, 'main');
    }
    shell.activateById(widget.id);
    return widget;
  };

  // One detail tab per dataset.
  const detailTracker = new WidgetTracker<MainAreaWidget<DatasetDetailView>>({
    namespace: 'insighter-dataset'
  });
  const selectShown = (widget: MainAreaWidget<DatasetDetailView> | null) => {
    const dataset = widget?.content.model.dataset;
    if (dataset) {
      catalog.select(dataset);
    }
  };
  const createDetail = (
    datasetId: string,
    restoring: boolean
  ): MainAreaWidget<DatasetDetailView> => {
    const model = new DatasetDetailModel({
      catalog,
      bus,
      datasetId,
      previewRows
    });
    const widget = new MainAreaWidget({
      content: new DatasetDetailView({
        model,
        catalog,
        projects,
        commands,
        trans
      })
    });
    widget.id = `jp-insighter-dataset-${datasetId}`;
    widget.title.label = catalog.find(datasetId)?.name ?? trans.__('Dataset');
    widget.title.caption = trans.__('Dataset');
    widget.title.icon = spreadsheetIcon;
    widget.title.closable = true;
    widget.node.dataset.insighterView = TOOL_ID;
    model.changed.connect(() => {
      if (model.dataset) {
        widget.title.label = model.dataset.name;
      }
    });
    widget.disposed.connect(() => model.dispose());
    void model.load().then(() => {
      // A tab left in the layout for a dataset this person cannot read
      // (deleted since, or someone else's workspace) is not brought back.
      if (restoring && model.status === 'missing') {
        widget.dispose();
      } else if (detailTracker.currentWidget === widget) {
        selectShown(widget);
      }
    });
    void detailTracker.add(widget);
    return widget;
  };

  commands.addCommand(CommandIDs.openData, {
    label: args =>
      args.isPalette
        ? trans.__('Open %1', trans.__(tool?.label ?? 'Data'))
        : trans.__(tool?.label ?? 'Data'),
    caption: tool ? trans.__(tool.description) : '',
    icon: args => (args.isPalette ? undefined : spreadsheetIcon),
    execute: () => openData()
  });
  commands.addCommand(CommandIDs.openDataset, {
    label: args =>
      typeof args.name === 'string'
        ? trans.__('Open Dataset %1', args.name)
        : trans.__('Open Dataset'),
    caption: trans.__("A dataset's schema, statistics, preview and versions"),
    icon: args => (args.isPalette ? undefined : spreadsheetIcon),
    execute: args => {
      const datasetId = args.datasetId;
      if (typeof datasetId !== 'string' || !datasetId) {
        throw new Error(`${CommandIDs.openDataset} needs {datasetId}.`);
      }
      const widget =
        detailTracker.find(w => w.content.model.datasetId === datasetId) ??
        createDetail(datasetId, args.restoring === true);
      if (!widget.isAttached) {
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
      const listed = catalog.find(datasetId);
      if (listed) {
        catalog.select(listed);
      }
      return widget;
    }
  });
  commands.addCommand(CommandIDs.deleteDataset, {
    label: args =>
      typeof args.version === 'number'
        ? trans.__('Delete Dataset Version')
        : trans.__('Delete Dataset'),
    isEnabled: signedIn,
    execute: async args => {
      const datasetId = String(args.datasetId ?? '');
      const version =
        typeof args.version === 'number' ? args.version : undefined;
      const dataset =
        catalog.find(datasetId) ??
        detailTracker.find(w => w.content.model.datasetId === datasetId)
          ?.content.model.dataset;
      const name = dataset?.name ?? datasetId;
      const result = await showDialog({
        title:
          version === undefined
            ? trans.__('Delete dataset "%1"?', name)
            : trans.__('Delete version %1 of "%2"?', version, name),
        body:
          version === undefined
            ? trans.__(
                'Every version and its stored file will be deleted. Notebooks that load it will no longer find it. This cannot be undone.'
              )
            : trans.__(
                'This version and its stored file will be deleted; the other versions stay. This cannot be undone.'
              ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: trans.__('Delete') })
        ]
      });
      if (!result.button.accept) {
        return false;
      }
      try {
        if (version === undefined) {
          await catalog.remove(datasetId);
          detailTracker.forEach(widget => {
            if (widget.content.model.datasetId === datasetId) {
              widget.dispose();
            }
          });
        } else {
          const detail = detailTracker.find(
            w => w.content.model.datasetId === datasetId
          );
          await (detail
            ? detail.content.model.removeVersion(version)
            : catalog.removeVersion(datasetId, version));
        }
      } catch (reason) {
        Notification.error(
          trans.__(
            '"%1" could not be deleted: %2',
            name,
            reason instanceof Error ? reason.message : String(reason)
          ),
          { autoClose: false }
        );
        return false;
      }
      return true;
    }
  });
  commands.addCommand(CommandIDs.refreshDatasets, {
    label: trans.__('Refresh Dataset List'),
    icon: args => (args.isPalette ? undefined : refreshIcon),
    isEnabled: signedIn,
    execute: args =>
      catalog.refresh(
        typeof args.projectId === 'string' ? args.projectId : null
      )
  });

  detailTracker.currentChanged.connect((_, widget) => selectShown(widget));
  session?.changed.connect((_, change) => {
    commands.notifyCommandChanged(CommandIDs.deleteDataset);
    commands.notifyCommandChanged(CommandIDs.refreshDatasets);
    // What the previous person saw is not for whoever comes next.
    if (change.reason === 'signed-out') {
      detailTracker.forEach(widget => widget.dispose());
    }
  });

  if (restorer) {
    void restorer.restore(viewTracker, {
      command: CommandIDs.openData,
      name: () => 'data'
    });
    void restorer.restore(detailTracker, {
      command: CommandIDs.openDataset,
      args: widget => ({
        datasetId: widget.content.model.datasetId,
        restoring: true
      }),
      name: widget => widget.content.model.datasetId
    });
  }
  for (const command of [CommandIDs.openData, CommandIDs.refreshDatasets]) {
    palette?.addItem({ command, category: CATEGORY });
  }

  settingRegistry
    ?.load(plugin.id)
    .then(settings => {
      const apply = () => {
        previewRows = settings.get('previewRows').composite as number;
        detailTracker.forEach(widget => {
          widget.content.model.previewRows = previewRows;
        });
      };
      apply();
      settings.changed.connect(apply);
    })
    .catch(reason => {
      // Without its schema the catalog still works, with the default preview.
      console.warn(`${plugin.id}: settings not loaded`, reason);
    });

  return catalog;
}

/**
 * Every plugin of the package, for `registerPlugins` / the extension loader.
 * "Open in notebook" (`insighter:open-dataset-in-notebook`) comes from the
 * notebook plugin in `src/notebook.ts`, listed here beside this one.
 */
const plugins: JupyterFrontEndPlugin<unknown>[] = [plugin, notebookPlugin];

export default plugins;
