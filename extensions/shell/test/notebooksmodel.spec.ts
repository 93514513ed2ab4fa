import type { Contents } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { NotebooksModel } from '../src/notebooksmodel';

function item(path: string, type: Contents.ContentType): Contents.IModel {
  const name = path.split('/').pop() ?? path;
  return {
    name,
    path,
    type,
    writable: true,
    created: '2026-01-01T00:00:00Z',
    last_modified: '2026-01-02T00:00:00Z',
    mimetype: '',
    content: null,
    format: null
  };
}

/**
 * Stands in for Jupyter's contents manager: only the two members the model
 * uses (`get` and `fileChanged`), with a folder listing the test controls.
 */
class ContentsDouble {
  listing: Contents.IModel[] = [];
  failure: Error | null = null;
  gets: string[] = [];
  readonly fileChanged = new Signal<this, Contents.IChangedArgs>(this);

  async get(
    path: string,
    options?: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    this.gets.push(path);
    expect(options?.content).toBe(true);
    if (this.failure) {
      throw this.failure;
    }
    return { ...item(path, 'directory'), content: this.listing };
  }
}

describe('NotebooksModel', () => {
  let contents: ContentsDouble;
  let model: NotebooksModel;

  beforeEach(() => {
    contents = new ContentsDouble();
    model = new NotebooksModel(contents as unknown as Contents.IManager, '');
  });

  afterEach(() => model.dispose());

  it('lists only the notebooks of its folder, sorted by name', async () => {
    contents.listing = [
      item('zeta.ipynb', 'notebook'),
      item('data.csv', 'file'),
      item('alpha.ipynb', 'notebook'),
      item('results', 'directory')
    ];
    await model.refresh();
    expect(model.notebooks).toEqual([
      {
        name: 'alpha.ipynb',
        path: 'alpha.ipynb',
        lastModified: '2026-01-02T00:00:00Z'
      },
      {
        name: 'zeta.ipynb',
        path: 'zeta.ipynb',
        lastModified: '2026-01-02T00:00:00Z'
      }
    ]);
    expect(model.error).toBeNull();
    expect(model.loading).toBe(false);
    expect(contents.gets).toEqual(['']);
  });

  it('shares one request between concurrent refreshes', async () => {
    await Promise.all([model.refresh(), model.refresh(), model.refresh()]);
    expect(contents.gets).toHaveLength(1);
  });

  it('reports why listing failed and recovers on the next refresh', async () => {
    contents.failure = new Error('Forbidden');
    await model.refresh();
    expect(model.error).toBe('Forbidden');
    contents.failure = null;
    contents.listing = [item('a.ipynb', 'notebook')];
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.notebooks.map(n => n.name)).toEqual(['a.ipynb']);
  });

  it('lists again when a file in its folder changes, not for other folders', async () => {
    const changed = new Promise<void>(resolve => {
      model.changed.connect(() => {
        if (!model.loading) {
          resolve();
        }
      });
    });
    contents.fileChanged.emit({
      type: 'save',
      oldValue: null,
      newValue: { path: 'project/deep.ipynb' }
    });
    expect(contents.gets).toHaveLength(0);

    contents.listing = [item('Untitled.ipynb', 'notebook')];
    contents.fileChanged.emit({
      type: 'new',
      oldValue: null,
      newValue: { path: 'Untitled.ipynb' }
    });
    await changed;
    expect(contents.gets).toEqual(['']);
    expect(model.notebooks.map(n => n.name)).toEqual(['Untitled.ipynb']);
  });

  it('stops listening once disposed', () => {
    model.dispose();
    contents.fileChanged.emit({
      type: 'new',
      oldValue: null,
      newValue: { path: 'x.ipynb' }
    });
    expect(contents.gets).toHaveLength(0);
  });
});
