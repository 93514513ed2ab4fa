/**
 * @jest-environment jsdom
 */
import { InsighterBus } from '@insighter/core';
import type { IProject, IStudioContext } from '@insighter/projects';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { MessageLoop } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { CommandIDs, ExternalCommandIDs } from '../src/commands';
import { DatasetDetailModel } from '../src/detailmodel';
import { DataCatalogModel } from '../src/model';
import type { IDataset } from '../src/tokens';
import { DatasetDetailView } from '../src/widgets/detail';
import { DataSection } from '../src/widgets/section';
import {
  ADA,
  column,
  dataset,
  file,
  PROJECT,
  refusal,
  SessionStub,
  SidecarStub,
  UploaderStub
} from './support';

const trans = nullTranslator.load('insighter');

/** React renders in a later frame: resolves once the DOM shows what `predicate` looks for. */
async function shows(predicate: () => boolean): Promise<void> {
  MessageLoop.flush();
  while (!predicate()) {
    await new Promise(resolve => setTimeout(resolve, 5));
    MessageLoop.flush();
  }
}

function studioContext(): IStudioContext {
  const project = {
    id: PROJECT,
    slug: 'credit-risk-alpha',
    name: 'Credit Risk Alpha'
  } as IProject;
  return {
    project,
    folder: 'projects/credit-risk-alpha',
    projectChanged: new Signal<IStudioContext, IProject>({} as IStudioContext)
  };
}

/** Drops files on an element as a browser does (jsdom has no DataTransfer). */
function drop(target: Element, files: File[]): void {
  for (const type of ['dragenter', 'dragover', 'drop']) {
    const event = new Event(type, { bubbles: true, cancelable: true });
    Object.defineProperty(event, 'dataTransfer', {
      value: { files, dropEffect: 'none' }
    });
    target.dispatchEvent(event);
  }
}

describe("the Studio's Data section", () => {
  let sidecar: SidecarStub;
  let bus: InsighterBus;
  let uploader: UploaderStub;
  let catalog: DataCatalogModel;
  let commands: CommandRegistry;
  let section: DataSection;
  let credit: IDataset;
  const opened: unknown[] = [];

  beforeEach(() => {
    credit = dataset({ name: 'german_credit.csv' });
    sidecar = new SidecarStub().on(
      `GET api/v1/datasets?project_id=${PROJECT}`,
      () => ({ datasets: [credit] })
    );
    bus = new InsighterBus();
    const session = new SessionStub();
    session.signIn(ADA);
    uploader = new UploaderStub();
    catalog = new DataCatalogModel({
      client: sidecar,
      bus,
      session: session.asSession(),
      upload: uploader.upload
    });
    commands = new CommandRegistry();
    opened.length = 0;
    commands.addCommand(CommandIDs.openDataset, {
      execute: args => {
        opened.push(args);
      }
    });
    section = new DataSection({
      context: studioContext(),
      catalog,
      commands,
      trans
    });
    Widget.attach(section, document.body);
  });

  afterEach(() => {
    section.dispose();
    catalog.dispose();
    bus.dispose();
  });

  const rows = () =>
    [...section.node.querySelectorAll('.jp-insighter-dataset-row')].map(
      row => row as HTMLElement
    );

  it("lists the project's datasets with their facts, and opens one on click", async () => {
    await shows(() => rows().length === 1);
    const [row] = rows();
    expect(row.dataset).toMatchObject({
      name: 'german_credit.csv',
      status: 'ready',
      rowCount: '1000',
      columnCount: '62',
      version: '1'
    });
    const cells = [...row.querySelectorAll('td')].map(td => td.textContent);
    expect(cells.slice(0, 8)).toEqual([
      'german_credit.csv',
      'CSV',
      '128 KB',
      '1,000',
      '62',
      'Ready',
      'v1',
      'You'
    ]);
    row.click();
    expect(opened).toEqual([{ datasetId: credit.id }]);
  });

  it('uploads dropped files into the project, with a progress bar and Cancel', async () => {
    await shows(() => rows().length === 1);
    const zone = section.node.querySelector(
      '[data-testid="insighter-dataset-dropzone"]'
    )!;
    drop(zone, [file('churn.csv', 4000)]);
    expect(uploader.started.map(u => u.options.projectId)).toEqual([PROJECT]);
    uploader.started[0].progress(1000);
    const upload = () =>
      section.node.querySelector('.jp-insighter-upload') as HTMLElement | null;
    await shows(() => upload()?.textContent?.includes('25%') ?? false);
    expect(upload()?.dataset.state).toBe('uploading');
    expect(
      upload()
        ?.querySelector('[role="progressbar"]')
        ?.getAttribute('aria-valuenow')
    ).toBe('25');

    (
      upload()!.querySelector(
        '[data-testid="insighter-upload-cancel"]'
      ) as HTMLButtonElement
    ).click();
    expect(uploader.started[0].aborted).toBe(true);
    await shows(() => upload() === null);
    expect(rows()).toHaveLength(1);
  });

  it("shows the sidecar's reason for a refused file, and no row for it", async () => {
    await shows(() => rows().length === 1);
    drop(
      section.node.querySelector('[data-testid="insighter-dataset-dropzone"]')!,
      [file('photo.csv')]
    );
    uploader.started[0].fail(
      refusal(422, 'invalid_file', 'This file is binary, not CSV text.')
    );
    const alert = () =>
      section.node.querySelector('.jp-insighter-upload [role="alert"]');
    await shows(() => alert() !== null);
    expect(alert()?.textContent).toBe('This file is binary, not CSV text.');
    expect(rows()).toHaveLength(1);
  });
});

describe('the dataset detail', () => {
  let sidecar: SidecarStub;
  let bus: InsighterBus;
  let catalog: DataCatalogModel;
  let commands: CommandRegistry;
  let model: DatasetDetailModel;
  let view: DatasetDetailView;
  let credit: IDataset;

  beforeEach(async () => {
    credit = dataset({ name: 'german_credit.csv', version: 2 });
    sidecar = new SidecarStub()
      .on(`GET api/v1/datasets/${credit.id}`, () => ({
        ...credit,
        columns: [
          column(),
          column({
            name: 'Class',
            type: 'VARCHAR',
            mean: null,
            std: null,
            q25: null,
            q50: null,
            q75: null,
            min: 'Bad',
            max: 'Good',
            histogram: [],
            top_values: [
              { value: 'Good', count: 700 },
              { value: 'Bad', count: 300 }
            ]
          })
        ]
      }))
      .on(`GET api/v1/datasets/${credit.id}/preview?limit=50`, () => ({
        columns: ['Amount', 'Class'],
        rows: [
          [1169, 'Good'],
          [5951, null]
        ]
      }));
    bus = new InsighterBus();
    catalog = new DataCatalogModel({
      client: sidecar,
      bus,
      upload: new UploaderStub().upload
    });
    commands = new CommandRegistry();
    model = new DatasetDetailModel({ catalog, bus, datasetId: credit.id });
    view = new DatasetDetailView({
      model,
      catalog,
      projects: null,
      commands,
      trans
    });
    Widget.attach(view, document.body);
    await model.load();
    await shows(
      () => view.node.querySelector('.jp-insighter-preview') !== null
    );
  });

  afterEach(() => {
    view.dispose();
    model.dispose();
    catalog.dispose();
    bus.dispose();
  });

  const q = (selector: string) => view.node.querySelector(selector);

  it('shows the facts, a histogram per numeric column, top values per text column, and the first rows', () => {
    expect(view.node.dataset).toMatchObject({
      rowCount: '1000',
      columnCount: '62',
      status: 'ready',
      version: '2'
    });
    expect(q('[data-testid="insighter-dataset-name"]')?.textContent).toBe(
      'german_credit.csv'
    );
    expect(q('[data-testid="insighter-dataset-version"]')?.textContent).toBe(
      'v2 of 2'
    );
    const bars = view.node.querySelectorAll(
      '.jp-insighter-histogram[data-column="Amount"] rect'
    );
    expect(bars).toHaveLength(3);
    // The tallest bin fills the height; the others are scaled to it.
    expect(bars[0].getAttribute('height')).toBe('32');
    expect(bars[0].querySelector('title')?.textContent).toBe(
      '250 – 4,667: 805'
    );
    const top = [
      ...view.node.querySelectorAll(
        '.jp-insighter-top-values[data-column="Class"] li'
      )
    ].map(li => li.textContent);
    expect(top).toEqual(['Good700', 'Bad300']);
    expect(
      q('[data-column="Amount"][data-type="BIGINT"]')?.textContent
    ).toContain('3,271');
    const cells = [
      ...view.node.querySelectorAll('.jp-insighter-preview td')
    ].map(td => td.textContent);
    expect(cells).toEqual(['1169', 'Good', '5951', 'null']);
    expect(
      [...view.node.querySelectorAll('.jp-insighter-dataset-version')].map(
        row => (row as HTMLElement).dataset.version
      )
    ).toEqual(['2', '1']);
  });

  it('offers "Open in notebook" once its command exists, with the dataset it names', async () => {
    expect(q('[data-testid="insighter-dataset-open-notebook"]')).toBeNull();
    const ran: unknown[] = [];
    commands.addCommand(ExternalCommandIDs.openInNotebook, {
      execute: args => {
        ran.push(args);
      }
    });
    await shows(
      () => q('[data-testid="insighter-dataset-open-notebook"]') !== null
    );
    (
      q('[data-testid="insighter-dataset-open-notebook"]') as HTMLButtonElement
    ).click();
    expect(ran).toEqual([
      { datasetId: credit.id, projectId: PROJECT, name: 'german_credit.csv' }
    ]);
  });

  it("renames in place and shows the sidecar's refusal beside the name", async () => {
    sidecar.on(`PATCH api/v1/datasets/${credit.id}`, () => {
      throw refusal(
        409,
        'conflict',
        'A dataset named "churn.csv" exists in this project.'
      );
    });
    (
      q('[data-testid="insighter-dataset-rename"]') as HTMLButtonElement
    ).click();
    await shows(
      () => q('[data-testid="insighter-dataset-rename-input"]') !== null
    );
    const input = q(
      '[data-testid="insighter-dataset-rename-input"]'
    ) as HTMLInputElement;
    // React listens for the native setter's input event.
    Object.getOwnPropertyDescriptor(
      HTMLInputElement.prototype,
      'value'
    )!.set!.call(input, 'churn.csv');
    input.dispatchEvent(new Event('input', { bubbles: true }));
    (
      q('[data-testid="insighter-dataset-rename-save"]') as HTMLButtonElement
    ).click();
    await shows(
      () => q('[data-testid="insighter-dataset-rename-error"]') !== null
    );
    expect(
      q('[data-testid="insighter-dataset-rename-error"]')?.textContent
    ).toBe('A dataset named "churn.csv" exists in this project.');

    sidecar.on(`PATCH api/v1/datasets/${credit.id}`, init => ({
      ...credit,
      ...(init.json as object)
    }));
    Object.getOwnPropertyDescriptor(
      HTMLInputElement.prototype,
      'value'
    )!.set!.call(input, 'credit.csv');
    input.dispatchEvent(new Event('input', { bubbles: true }));
    (
      q('[data-testid="insighter-dataset-rename-save"]') as HTMLButtonElement
    ).click();
    await shows(
      () =>
        q('[data-testid="insighter-dataset-name"]')?.textContent ===
        'credit.csv'
    );
    expect(sidecar.calls).toContain(`PATCH api/v1/datasets/${credit.id}`);
  });

  it('says so when the dataset was deleted', async () => {
    bus.emit({
      type: 'dataset.deleted',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: credit.name,
        timestamp: 1
      }
    });
    await shows(() => q('[data-testid="insighter-dataset-message"]') !== null);
    expect(view.node.dataset.state).toBe('missing');
    expect(q('.jp-insighter-DatasetColumns')).toBeNull();
  });
});
