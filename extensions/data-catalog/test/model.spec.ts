import { InsighterBus, type IDatasetSelected } from '@insighter/core';
import { DatasetDetailModel } from '../src/detailmodel';
import { DataCatalogModel } from '../src/model';
import type { IDataset } from '../src/tokens';
import {
  ADA,
  column,
  dataset,
  file,
  GRACE,
  OTHER_PROJECT,
  PROJECT,
  refusal,
  SessionStub,
  settle,
  SidecarStub,
  until,
  UploaderStub
} from './support';

const TEAM_ID = '11111111-1111-4111-8111-111111111111';

describe('DataCatalogModel', () => {
  let sidecar: SidecarStub;
  let bus: InsighterBus;
  let session: SessionStub;
  let uploader: UploaderStub;
  let catalog: DataCatalogModel;
  let credit: IDataset;
  let churn: IDataset;

  beforeEach(() => {
    sidecar = new SidecarStub();
    bus = new InsighterBus();
    session = new SessionStub();
    session.signIn(ADA);
    uploader = new UploaderStub();
    credit = dataset({ name: 'german_credit.csv' });
    churn = dataset({ name: 'churn.csv', project_id: OTHER_PROJECT });
    sidecar
      .on('GET api/v1/datasets', () => ({ datasets: [credit, churn] }))
      .on(`GET api/v1/datasets?project_id=${PROJECT}`, () => ({
        datasets: [credit]
      }))
      .on(`GET api/v1/datasets/${credit.id}`, () => ({
        ...credit,
        columns: [column()]
      }));
    catalog = new DataCatalogModel({
      client: sidecar,
      bus,
      session: session.asSession(),
      upload: uploader.upload,
      projects: {
        find: id =>
          id === OTHER_PROJECT ? ({ team_id: TEAM_ID } as never) : undefined,
        teamMembers: async () => [
          {
            user_id: 'u-grace',
            email: GRACE.email,
            full_name: 'Grace Hopper',
            role: 'member' as const
          }
        ]
      }
    });
  });

  afterEach(() => {
    catalog.dispose();
    bus.dispose();
  });

  it('lists nothing until a view asks, then one project or everything readable', async () => {
    await settle();
    expect(sidecar.calls).toEqual([]);
    expect(catalog.statusOf(PROJECT)).toBe('idle');

    const listing = catalog.refresh(PROJECT);
    expect(catalog.statusOf(PROJECT)).toBe('loading');
    await listing;
    expect(catalog.statusOf(PROJECT)).toBe('ready');
    expect(catalog.statusOf(OTHER_PROJECT)).toBe('idle');
    expect(catalog.datasetsOf(PROJECT).map(d => d.name)).toEqual([
      'german_credit.csv'
    ]);

    await catalog.refresh();
    // Everything readable is listed: each project's listing is too.
    expect(catalog.statusOf(OTHER_PROJECT)).toBe('ready');
    expect(catalog.datasets.map(d => d.name)).toEqual([
      'churn.csv',
      'german_credit.csv'
    ]);
    expect(sidecar.calls).toEqual([
      `GET api/v1/datasets?project_id=${PROJECT}`,
      'GET api/v1/datasets'
    ]);
  });

  it('shares one request between views asking at once', async () => {
    await Promise.all([catalog.refresh(), catalog.refresh()]);
    expect(sidecar.calls).toEqual(['GET api/v1/datasets']);
  });

  it("says why a listing failed, and replaces a project's datasets on the next one", async () => {
    await catalog.refresh();
    sidecar.on(`GET api/v1/datasets?project_id=${PROJECT}`, () => {
      throw refusal(403, 'forbidden', 'You are not a member of this project.');
    });
    await catalog.refresh(PROJECT);
    expect(catalog.statusOf(PROJECT)).toBe('error');
    expect(catalog.errorOf(PROJECT)).toBe(
      'You are not a member of this project.'
    );

    sidecar.on(`GET api/v1/datasets?project_id=${PROJECT}`, () => ({
      datasets: []
    }));
    await catalog.refresh(PROJECT);
    expect(catalog.datasetsOf(PROJECT)).toEqual([]);
    // Another project's datasets are not touched by this project's listing.
    expect(catalog.datasetsOf(OTHER_PROJECT).map(d => d.id)).toEqual([
      churn.id
    ]);
  });

  it('reads a dataset again when the bus says it was uploaded or changed, and drops it when deleted', async () => {
    await catalog.refresh();
    const renamed = { ...credit, name: 'credit.csv', version: 2 };
    sidecar.on(`GET api/v1/datasets/${credit.id}`, () => renamed);
    bus.emit({
      type: 'dataset.updated',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: 'credit.csv',
        timestamp: 1
      }
    });
    await until(
      catalog.changed,
      () => catalog.find(credit.id)?.name === 'credit.csv'
    );

    // One version deleted: the dataset is read again.
    sidecar.on(`GET api/v1/datasets/${credit.id}`, () => ({
      ...renamed,
      version: 1
    }));
    bus.emit({
      type: 'dataset.deleted',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: 'credit.csv',
        version: 2,
        timestamp: 2
      }
    });
    await until(catalog.changed, () => catalog.find(credit.id)?.version === 1);

    bus.emit({
      type: 'dataset.deleted',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: 'credit.csv',
        timestamp: 3
      }
    });
    expect(catalog.find(credit.id)).toBeUndefined();
  });

  it('drops a dataset the bus announced but this person can no longer read', async () => {
    await catalog.refresh();
    sidecar.on(`GET api/v1/datasets/${churn.id}`, () => {
      throw refusal(404, 'not_found', 'Dataset not found.');
    });
    bus.emit({
      type: 'dataset.uploaded',
      payload: {
        datasetId: churn.id,
        projectId: OTHER_PROJECT,
        name: churn.name,
        version: 2,
        sizeBytes: 10,
        rowCount: 1,
        timestamp: 1
      }
    });
    await until(catalog.changed, () => !catalog.find(churn.id));
  });

  it("drops a deleted project's datasets", async () => {
    await catalog.refresh();
    bus.emit({
      type: 'project.deleted',
      payload: { projectId: OTHER_PROJECT, name: 'x', slug: 'x', timestamp: 1 }
    });
    expect(catalog.datasets.map(d => d.id)).toEqual([credit.id]);
  });

  it('tracks an upload from progress to the Ready dataset in the list', async () => {
    await catalog.refresh(PROJECT);
    const done = catalog.upload({
      projectId: PROJECT,
      file: file('churn.csv', 4000)
    });
    const [running] = uploader.started;
    expect(running.options.projectId).toBe(PROJECT);
    expect(catalog.uploadsOf(PROJECT)).toEqual([
      expect.objectContaining({
        fileName: 'churn.csv',
        state: 'uploading',
        loaded: 0,
        total: 4000
      })
    ]);
    expect(catalog.uploadsOf(OTHER_PROJECT)).toEqual([]);

    running.progress(1000);
    expect(catalog.uploads[0]).toMatchObject({
      loaded: 1000,
      state: 'uploading'
    });
    // All bytes sent: the sidecar checks and profiles them.
    running.progress(4000);
    expect(catalog.uploads[0].state).toBe('processing');

    const ready = dataset({ name: 'churn.csv' });
    running.succeed(ready);
    await expect(done).resolves.toEqual(ready);
    expect(catalog.uploads).toEqual([]);
    expect(
      catalog
        .datasetsOf(PROJECT)
        .map(d => d.name)
        .sort()
    ).toEqual(['churn.csv', 'german_credit.csv']);
  });

  it("keeps a refused upload with the sidecar's reason until dismissed, and lists nothing for it", async () => {
    await catalog.refresh(PROJECT);
    const done = catalog.upload({
      projectId: PROJECT,
      file: file('photo.csv')
    });
    uploader.started[0].fail(
      refusal(
        422,
        'invalid_file',
        'This file is binary, not CSV text: it has a NUL byte at offset 12.'
      )
    );
    await expect(done).rejects.toMatchObject({ code: 'invalid_file' });
    expect(catalog.uploads).toEqual([
      expect.objectContaining({
        state: 'failed',
        error:
          'This file is binary, not CSV text: it has a NUL byte at offset 12.'
      })
    ]);
    expect(catalog.datasetsOf(PROJECT)).toHaveLength(1);

    catalog.dismissUpload(catalog.uploads[0].id);
    expect(catalog.uploads).toEqual([]);
  });

  it('cancels an upload: aborted, gone from the list at once, no message', async () => {
    const done = catalog.upload({
      projectId: PROJECT,
      file: file('big.csv', 10_000)
    });
    uploader.started[0].progress(2000);
    catalog.cancelUpload(catalog.uploads[0].id);
    expect(uploader.started[0].aborted).toBe(true);
    expect(catalog.uploads).toEqual([]);
    await expect(done).rejects.toMatchObject({ name: 'AbortError' });
    await settle();
    expect(catalog.uploads).toEqual([]);
  });

  it('renames and deletes through the sidecar, and the list follows', async () => {
    await catalog.refresh();
    sidecar.on(`PATCH api/v1/datasets/${credit.id}`, init => ({
      ...credit,
      ...(init.json as object)
    }));
    await catalog.update(credit.id, { name: 'credit.csv' });
    expect(catalog.find(credit.id)?.name).toBe('credit.csv');

    sidecar.on(`PATCH api/v1/datasets/${credit.id}`, () => {
      throw refusal(
        409,
        'conflict',
        'A dataset named "churn.csv" exists in this project.'
      );
    });
    await expect(
      catalog.update(credit.id, { name: 'churn.csv' })
    ).rejects.toThrow('A dataset named "churn.csv" exists in this project.');

    sidecar.on(`DELETE api/v1/datasets/${credit.id}`, () => undefined);
    await catalog.remove(credit.id);
    expect(catalog.find(credit.id)).toBeUndefined();
  });

  it('announces the selection on the bus, once per change, and clears it when the dataset goes', async () => {
    await catalog.refresh();
    const heard: IDatasetSelected[] = [];
    bus.datasetSelected.connect((_, event) => heard.push(event));
    catalog.select(credit);
    catalog.select(credit);
    expect(heard.map(e => e.dataset)).toEqual([
      { datasetId: credit.id, projectId: PROJECT, name: 'german_credit.csv' }
    ]);
    expect(catalog.selected?.datasetId).toBe(credit.id);

    bus.emit({
      type: 'dataset.deleted',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: credit.name,
        timestamp: 1
      }
    });
    expect(catalog.selected).toBeNull();
    expect(heard.map(e => e.dataset)).toEqual([
      expect.objectContaining({ datasetId: credit.id }),
      null
    ]);
  });

  it('names owners: "You", a teammate by name, nobody it cannot know', async () => {
    expect(catalog.ownerName(credit)).toBe('You');
    const teammates = { owner_id: 'u-grace', project_id: OTHER_PROJECT };
    expect(catalog.ownerName(teammates)).toBeNull();
    await until(catalog.changed, () => catalog.ownerName(teammates) !== null);
    expect(catalog.ownerName(teammates)).toBe('Grace Hopper');
    expect(
      catalog.ownerName({ owner_id: 'u-x', project_id: PROJECT })
    ).toBeNull();
  });

  it('forgets everything on sign-out, cancels uploads, and lists everything again for whoever signs in', async () => {
    await catalog.refresh();
    catalog
      .upload({ projectId: PROJECT, file: file('a.csv') })
      .catch(() => undefined);
    session.signOut();
    expect(catalog.datasets).toEqual([]);
    expect(catalog.uploads).toEqual([]);
    expect(uploader.started[0].aborted).toBe(true);
    expect(catalog.statusOf(null)).toBe('idle');

    sidecar.calls.length = 0;
    session.signIn(GRACE);
    await until(catalog.changed, () => catalog.statusOf(null) === 'ready');
    expect(sidecar.calls).toEqual(['GET api/v1/datasets']);
  });

  it('lists again what it listed when the event stream reconnects, after a listing still on its way', async () => {
    await catalog.refresh(PROJECT);
    expect(catalog.datasetsOf(null).map(d => d.id)).toEqual([credit.id]);
    // While the stream was down, a script uploaded another dataset.
    const script = dataset({ name: 'script.csv' });
    let answer!: (value: unknown) => void;
    sidecar.on(
      `GET api/v1/datasets?project_id=${PROJECT}`,
      () => new Promise(resolve => (answer = resolve))
    );
    const onItsWay = catalog.refresh(PROJECT);
    sidecar.calls.length = 0;
    bus.emit({
      type: 'events.reconnected',
      payload: { downMs: 5000, timestamp: 1 }
    });
    await settle();
    // The listing on its way was asked before the stream came back: one more follows.
    expect(sidecar.calls).toEqual([]);
    sidecar.on(`GET api/v1/datasets?project_id=${PROJECT}`, () => ({
      datasets: [credit, script]
    }));
    answer({ datasets: [credit] });
    await onItsWay;
    await until(catalog.changed, () => catalog.find(script.id) !== undefined);
    expect(sidecar.calls).toEqual([
      `GET api/v1/datasets?project_id=${PROJECT}`
    ]);
    // Listings nobody made are not made.
    expect(catalog.statusOf(OTHER_PROJECT)).toBe('idle');

    // Signed out: nothing to list.
    session.signOut();
    sidecar.calls.length = 0;
    bus.emit({
      type: 'events.reconnected',
      payload: { downMs: 5000, timestamp: 2 }
    });
    await settle();
    expect(sidecar.calls).toEqual([]);
  });

  it('reads a dataset with its columns, keeping the profiler statistics a view needs', async () => {
    sidecar.on(`GET api/v1/datasets/${credit.id}`, () => ({
      ...credit,
      columns: [
        {
          ...column({ name: 'Class', type: 'VARCHAR', mean: null }),
          top_values: null,
          histogram: null
        }
      ]
    }));
    const read = await catalog.fetch(credit.id);
    expect(read.columns?.[0]).toMatchObject({
      name: 'Class',
      top_values: [],
      histogram: []
    });
    // A past version is read but not listed in place of the latest.
    const older = dataset({ id: credit.id, version: 1 });
    sidecar.on(`GET api/v1/datasets/${credit.id}?version=1`, () => ({
      ...older,
      versions: [...older.versions, { ...older.versions[0], version: 2 }]
    }));
    await catalog.fetch(credit.id, 1);
    expect(catalog.find(credit.id)?.name).toBe('german_credit.csv');
  });
});

describe('DatasetDetailModel', () => {
  let sidecar: SidecarStub;
  let bus: InsighterBus;
  let catalog: DataCatalogModel;
  let detail: DatasetDetailModel;
  let credit: IDataset;

  beforeEach(() => {
    sidecar = new SidecarStub();
    bus = new InsighterBus();
    credit = dataset({ name: 'german_credit.csv', version: 2 });
    sidecar
      .on(`GET api/v1/datasets/${credit.id}`, () => ({
        ...credit,
        columns: [column()]
      }))
      .on(`GET api/v1/datasets/${credit.id}?version=1`, () => ({
        ...credit,
        version: 1,
        row_count: 500
      }))
      .on(`GET api/v1/datasets/${credit.id}/preview?limit=20`, () => ({
        columns: ['Amount'],
        rows: [[1169], [5951]]
      }))
      .on(
        `GET api/v1/datasets/${credit.id}/preview?version=1&limit=20`,
        () => ({
          columns: [{ name: 'Amount' }],
          rows: [[1]]
        })
      );
    catalog = new DataCatalogModel({
      client: sidecar,
      bus,
      upload: new UploaderStub().upload
    });
    detail = new DatasetDetailModel({
      catalog,
      bus,
      datasetId: credit.id,
      previewRows: 20
    });
  });

  afterEach(() => {
    detail.dispose();
    catalog.dispose();
    bus.dispose();
  });

  it('reads the latest version with its columns, then its first rows', async () => {
    expect(detail.status).toBe('loading');
    await detail.load();
    expect(detail.status).toBe('ready');
    expect(detail.dataset?.columns?.map(c => c.name)).toEqual(['Amount']);
    expect(detail.latestVersion).toBe(2);
    expect(detail.preview).toEqual({
      columns: ['Amount'],
      rows: [[1169], [5951]]
    });
  });

  it('switches to an earlier version and back to the latest', async () => {
    await detail.load();
    await detail.showVersion(1);
    expect(detail.version).toBe(1);
    expect(detail.dataset?.row_count).toBe(500);
    expect(detail.preview).toEqual({ columns: ['Amount'], rows: [[1]] });
    await detail.showVersion(2);
    expect(detail.version).toBeNull();
    expect(detail.dataset?.version).toBe(2);
  });

  it('says the preview failed without hiding the statistics', async () => {
    sidecar.on(`GET api/v1/datasets/${credit.id}/preview?limit=20`, () => {
      throw refusal(409, 'not_ready', 'The dataset is still being checked.');
    });
    await detail.load();
    expect(detail.status).toBe('ready');
    expect(detail.previewError).toBe('The dataset is still being checked.');
  });

  it('is missing once deleted, or when it cannot be read', async () => {
    await detail.load();
    bus.emit({
      type: 'dataset.deleted',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: credit.name,
        timestamp: 1
      }
    });
    expect(detail.status).toBe('missing');

    const other = new DatasetDetailModel({ catalog, bus, datasetId: 'nope' });
    await other.load();
    expect(other.status).toBe('missing');
    other.dispose();
  });

  it('follows a rename announced on the bus', async () => {
    await detail.load();
    sidecar.on(`GET api/v1/datasets/${credit.id}`, () => ({
      ...credit,
      name: 'credit.csv'
    }));
    bus.emit({
      type: 'dataset.updated',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: 'credit.csv',
        timestamp: 1
      }
    });
    await until(detail.changed, () => detail.dataset?.name === 'credit.csv');
  });

  it('reads the dataset again when the event stream reconnects, unless it is gone', async () => {
    await detail.load();
    sidecar.on(`GET api/v1/datasets/${credit.id}`, () => ({
      ...credit,
      version: 3,
      columns: [column()]
    }));
    bus.emit({
      type: 'events.reconnected',
      payload: { downMs: 5000, timestamp: 1 }
    });
    await until(detail.changed, () => detail.dataset?.version === 3);

    bus.emit({
      type: 'dataset.deleted',
      payload: {
        datasetId: credit.id,
        projectId: PROJECT,
        name: credit.name,
        timestamp: 2
      }
    });
    const calls = sidecar.calls.length;
    bus.emit({
      type: 'events.reconnected',
      payload: { downMs: 5000, timestamp: 3 }
    });
    await settle();
    expect(sidecar.calls.length).toBe(calls);
  });
});
