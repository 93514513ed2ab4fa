/**
 * @jest-environment jsdom
 */
import type { Contents } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import {
  createDatasetNotebook,
  datasetNotebook,
  loadCellSource,
  notebookBaseName,
  registerOpenInNotebook,
  uniqueNotebookName
} from '../src/notebook';

/**
 * "Open in notebook" against an in-memory contents manager and stand-ins for
 * JupyterLab's document commands; the whole path with a real kernel is the
 * UI test in ui-tests/tests/data-catalog.spec.ts, and the `insighter`
 * package itself is tested in extensions/app/test/kernel-datasets.spec.ts.
 */
class MemoryContents {
  readonly files = new Map<string, Partial<Contents.IModel>>();

  async get(path: string): Promise<Contents.IModel> {
    const prefix = `${path}/`;
    const content = [...this.files.entries()]
      .filter(
        ([p]) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/')
      )
      .map(([p, f]) => ({ ...f, name: p.slice(prefix.length), path: p }));
    return { path, type: 'directory', content } as unknown as Contents.IModel;
  }

  async save(
    path: string,
    options: Partial<Contents.IModel>
  ): Promise<Contents.IModel> {
    this.files.set(path, options);
    return { path, ...options } as Contents.IModel;
  }
}

describe('the dataset notebook', () => {
  it('loads the dataset by name in its first cell and shows its shape and head', () => {
    expect(loadCellSource('german_credit')).toBe(
      'import insighter\n\ndf = insighter.datasets.load("german_credit")\nprint(df.shape)\ndf.head()'
    );
    // Quotes and backslashes stay inside one valid Python string literal.
    expect(loadCellSource('a "b" \\ c')).toContain(
      'insighter.datasets.load("a \\"b\\" \\\\ c")'
    );
    const notebook = datasetNotebook('german_credit', 'python3') as any;
    expect(notebook.nbformat).toBe(4);
    expect(notebook.metadata.kernelspec.name).toBe('python3');
    expect(notebook.cells.map((c: any) => c.source)).toEqual([
      loadCellSource('german_credit'),
      ''
    ]);
    expect(new Set(notebook.cells.map((c: any) => c.id)).size).toBe(2);
  });

  it('is named after the dataset, uniquely, with what file names take', () => {
    expect(notebookBaseName('german_credit')).toBe('german_credit');
    expect(notebookBaseName('german_credit.csv')).toBe('german_credit');
    expect(notebookBaseName('events.PARQUET')).toBe('events');
    expect(notebookBaseName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(notebookBaseName('  ')).toBe('dataset');
    expect(uniqueNotebookName('sales', new Set())).toBe('sales.ipynb');
    expect(
      uniqueNotebookName('sales', new Set(['sales.ipynb', 'sales-2.ipynb']))
    ).toBe('sales-3.ipynb');
  });

  it("is written into the project's folder, made if missing, beside what is there", async () => {
    const contents = new MemoryContents();
    contents.files.set('projects/churn/german_credit.ipynb', {
      type: 'notebook'
    });
    const path = await createDatasetNotebook(
      contents as never,
      'projects/churn',
      'german_credit',
      'python3'
    );
    expect(path).toBe('projects/churn/german_credit-2.ipynb');
    expect(contents.files.get('projects')).toEqual({ type: 'directory' });
    expect(contents.files.get('projects/churn')).toEqual({
      type: 'directory'
    });
    const saved = contents.files.get(path)!;
    expect(saved.type).toBe('notebook');
    expect((saved.content as any).cells[0].source).toBe(
      loadCellSource('german_credit')
    );
  });
});

describe('insighter:open-dataset-in-notebook', () => {
  it('opens the notebook with the kernel, then runs its first cell', async () => {
    const commands = new CommandRegistry();
    const contents = new MemoryContents();
    const calls: [string, any][] = [];
    commands.addCommand('docmanager:open', {
      execute: args => {
        calls.push(['docmanager:open', args]);
        return {
          id: 'notebook-1',
          context: { ready: Promise.resolve() },
          sessionContext: { ready: Promise.resolve() }
        };
      }
    });
    commands.addCommand('notebook:run-cell', {
      execute: args => {
        calls.push(['notebook:run-cell', args]);
      }
    });
    registerOpenInNotebook(
      { commands, serviceManager: { contents } } as never,
      {
        trans: nullTranslator.load('insighter'),
        kernelName: () => 'python3',
        project: async id => {
          expect(id).toBe('p1');
          return { slug: 'credit-risk-alpha' };
        }
      }
    );
    const args = { datasetId: 'd1', projectId: 'p1', name: 'german_credit' };
    expect(commands.isEnabled('insighter:open-dataset-in-notebook', args)).toBe(
      true
    );
    const path = await commands.execute(
      'insighter:open-dataset-in-notebook',
      args
    );
    expect(path).toBe('projects/credit-risk-alpha/german_credit.ipynb');
    expect(calls).toEqual([
      [
        'docmanager:open',
        { path, factory: 'Notebook', kernel: { name: 'python3' } }
      ],
      ['notebook:run-cell', { semanticWidget: 'notebook-1', activate: true }]
    ]);
  });
});
