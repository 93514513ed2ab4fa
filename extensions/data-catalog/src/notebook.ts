import type { IDatasetRef } from '@insighter/core';
import { ISidecarClient } from '@insighter/core';
import {
  ensureFolder,
  IProject,
  IProjectsModel,
  projectFolder
} from '@insighter/projects';
import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { Contents } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { UUID } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { ExternalCommandIDs } from './commands';

/** Where new project notebooks take their kernel from: the Studio's Notebooks setting. */
const NOTEBOOKS_SETTINGS = '@insighter/projects:notebooks';
const DEFAULT_KERNEL = 'python3';

/** Commands of JupyterLab's own plugins this one runs. */
const OPEN_DOCUMENT = 'docmanager:open';
const RUN_CELL = 'notebook:run-cell';

/**
 * The first cell of a dataset's notebook: the `insighter` package (in every
 * Insighter Lab kernel) loads it as the signed-in person, no path or secret
 * pasted. The notebook is in the project's folder, so the name is looked up
 * in that project. A JSON string is a valid Python string literal.
 */
export function loadCellSource(datasetName: string): string {
  return [
    'import insighter',
    '',
    `df = insighter.datasets.load(${JSON.stringify(datasetName)})`,
    'print(df.shape)',
    'df.head()'
  ].join('\n');
}

/** The notebook (nbformat 4.5) with the load cell first and an empty one after it. */
export function datasetNotebook(
  datasetName: string,
  kernelName: string
): Record<string, unknown> {
  const code = (source: string) => ({
    id: UUID.uuid4(),
    cell_type: 'code',
    execution_count: null,
    metadata: {},
    outputs: [],
    source
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: kernelName,
        display_name: 'Python 3',
        language: 'python'
      },
      language_info: { name: 'python' }
    },
    cells: [code(loadCellSource(datasetName)), code('')]
  };
}

/**
 * A file name from the dataset's name (a dropped file's name by default):
 * without its data extension, with only what file systems and URLs take.
 */
export function notebookBaseName(datasetName: string): string {
  const cleaned = datasetName
    .replace(/\.(csv|tsv|txt|parquet|pq)$/i, '')
    .replace(/[\\/:*?"<>|#%\u0000-\u001f\u007f]+/g, '_')
    .replace(/^[.\s]+|\s+$/g, '')
    .slice(0, 100);
  return cleaned || 'dataset';
}

/** `<base>.ipynb`, else `<base>-2.ipynb`, `-3`, … whichever is not in `taken`. */
export function uniqueNotebookName(
  base: string,
  taken: ReadonlySet<string>
): string {
  let name = `${base}.ipynb`;
  for (let n = 2; taken.has(name); n++) {
    name = `${base}-${n}.ipynb`;
  }
  return name;
}

/**
 * Writes the dataset's notebook into `folder` (made if missing) under a name
 * no file there has; resolves with its path. The folder is listed rather
 * than probed name by name: a probe that misses is a 404 the browser logs.
 */
export async function createDatasetNotebook(
  contents: Pick<Contents.IManager, 'get' | 'save'>,
  folder: string,
  datasetName: string,
  kernelName: string
): Promise<string> {
  await ensureFolder(contents, folder);
  const listing = await contents.get(folder, { content: true });
  const taken = new Set<string>(
    ((listing.content as Contents.IModel[] | null) ?? []).map(f => f.name)
  );
  const name = uniqueNotebookName(notebookBaseName(datasetName), taken);
  const path = `${folder}/${name}`;
  await contents.save(path, {
    type: 'notebook',
    format: 'json',
    content: datasetNotebook(datasetName, kernelName)
  });
  return path;
}

/** What a document widget opened by `docmanager:open` offers once it is a notebook. */
interface IOpenedNotebook {
  id: string;
  context: { ready: Promise<void> };
  sessionContext: { ready: Promise<void> };
}

export interface IOpenInNotebookOptions {
  /** The project a dataset belongs to (its slug names the folder). */
  project: (projectId: string) => Promise<Pick<IProject, 'slug'>>;
  /** The kernelspec to start, read when the command runs. */
  kernelName: () => string;
  trans: TranslationBundle;
}

/**
 * Adds `insighter:open-dataset-in-notebook` (`{datasetId, projectId, name}`):
 * a notebook in the project's folder whose first cell loads the dataset,
 * opened with a Python kernel, with that cell run. Resolves with the opened
 * notebook's path.
 */
export function registerOpenInNotebook(
  app: Pick<JupyterFrontEnd, 'commands' | 'serviceManager'>,
  options: IOpenInNotebookOptions
): IDisposable {
  const { commands } = app;
  const { trans } = options;
  return commands.addCommand(ExternalCommandIDs.openInNotebook, {
    label: trans.__('Open in Notebook'),
    caption: trans.__(
      "A notebook in the project's folder whose first cell loads the dataset into pandas"
    ),
    isEnabled: args =>
      typeof args.projectId === 'string' &&
      typeof args.name === 'string' &&
      commands.hasCommand(OPEN_DOCUMENT),
    execute: async args => {
      const ref = args as unknown as IDatasetRef;
      try {
        const project = await options.project(ref.projectId);
        const path = await createDatasetNotebook(
          app.serviceManager.contents,
          projectFolder(project.slug),
          ref.name,
          options.kernelName()
        );
        const widget = (await commands.execute(OPEN_DOCUMENT, {
          path,
          factory: 'Notebook',
          kernel: { name: options.kernelName() }
        })) as IOpenedNotebook;
        await widget.context.ready;
        await widget.sessionContext.ready;
        // A new notebook's active cell is its first: the load cell.
        await commands.execute(RUN_CELL, {
          semanticWidget: widget.id,
          activate: true
        });
        return path;
      } catch (reason) {
        Notification.error(
          trans.__(
            'No notebook could be opened for dataset "%1": %2',
            ref.name,
            reason instanceof Error ? reason.message : String(reason)
          ),
          { autoClose: false }
        );
        throw reason;
      }
    }
  });
}

export const notebookPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/data-catalog:notebook',
  description:
    '"Open in notebook": a notebook in the project\'s folder whose first cell loads the dataset with the insighter Python package, opened with a kernel and run.',
  autoStart: true,
  requires: [ISidecarClient],
  optional: [IProjectsModel, ISettingRegistry, ITranslator],
  activate: activateNotebook
};

function activateNotebook(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  projects: IProjectsModel | null,
  settingRegistry: ISettingRegistry | null,
  translator: ITranslator | null
): void {
  const trans = (translator ?? nullTranslator).load('insighter');
  let kernelName = DEFAULT_KERNEL;
  registerOpenInNotebook(app, {
    trans,
    kernelName: () => kernelName,
    project: async projectId =>
      projects?.find(projectId) ??
      (projects
        ? projects.fetch(projectId)
        : client.request<IProject>(
            `api/v1/projects/${encodeURIComponent(projectId)}`
          ))
  });
  settingRegistry
    ?.load(NOTEBOOKS_SETTINGS)
    .then(settings => {
      const apply = () => {
        kernelName = settings.get('kernelName').composite as string;
      };
      apply();
      settings.changed.connect(apply);
    })
    .catch(() => {
      // Without the Studio's Notebooks plugin: the default kernel.
    });
}
