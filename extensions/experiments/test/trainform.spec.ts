import { InsighterBus, SidecarError } from '@insighter/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILTIN_ALGORITHMS,
  checkParam,
  normalizeAlgorithms
} from '../src/algorithms';
import { readyDatasets, TrainFormModel } from '../src/trainform';
import type { IDatasetSummary, INewTrainJob } from '../src/tokens';
import { reconnect, settle } from './fakes';

const spec = (algorithm: string, name: string) =>
  BUILTIN_ALGORITHMS.find(a => a.id === algorithm)!.params.find(
    p => p.name === name
  )!;

describe('hyperparameter checks', () => {
  it("mirrors the jobs route's bounds per algorithm", () => {
    expect(checkParam(spec('xgboost', 'n_estimators'), '5000')).toEqual({
      ok: true,
      value: 5000
    });
    expect(checkParam(spec('xgboost', 'n_estimators'), '5001')).toEqual({
      ok: false,
      error: 'n_estimators must be between 1 and 5000.'
    });
    expect(checkParam(spec('xgboost', 'n_estimators'), '2.5')).toEqual({
      ok: false,
      error: 'n_estimators must be a whole number.'
    });
    expect(checkParam(spec('xgboost', 'learning_rate'), '0')).toEqual({
      ok: false,
      error: 'learning_rate must be greater than 0 and at most 1.'
    });
    expect(checkParam(spec('xgboost', 'learning_rate'), '1')).toEqual({
      ok: true,
      value: 1
    });
    expect(checkParam(spec('xgboost', 'reg_lambda'), '-1')).toEqual({
      ok: false,
      error: 'reg_lambda must be at least 0.'
    });
    expect(checkParam(spec('logistic_regression', 'C'), '0')).toEqual({
      ok: false,
      error: 'C must be greater than 0.'
    });
    expect(checkParam(spec('xgboost', 'test_size'), '1')).toEqual({
      ok: false,
      error: 'test_size must be greater than 0 and less than 1.'
    });
    expect(checkParam(spec('xgboost', 'max_depth'), '')).toEqual({
      ok: false,
      error: 'max_depth is required.'
    });
    // Random forest's max_depth may be "none".
    expect(checkParam(spec('random_forest', 'max_depth'), '')).toEqual({
      ok: true,
      value: null
    });
    expect(checkParam(spec('random_forest', 'max_depth'), '101').ok).toBe(
      false
    );
    expect(checkParam(spec('xgboost', 'subsample'), 'abc')).toEqual({
      ok: false,
      error: 'subsample must be a number.'
    });
  });

  it("has the same algorithms and bounds as the training package's table", () => {
    // The one table the jobs route and the training script check against.
    const table = JSON.parse(
      readFileSync(
        join(
          __dirname,
          '../../../server/python/insighter_train/algorithms.json'
        ),
        'utf8'
      )
    );
    const bounds = (algorithms: typeof BUILTIN_ALGORITHMS) =>
      algorithms.map(a => ({
        id: a.id,
        tasks: a.tasks,
        params: a.params
          .map(p => ({
            name: p.name,
            type: p.type,
            default: p.default,
            min: p.min,
            max: p.max,
            exclusiveMin: Boolean(p.exclusiveMin),
            exclusiveMax: Boolean(p.exclusiveMax),
            nullable: Boolean(p.nullable)
          }))
          .sort((x, y) => x.name.localeCompare(y.name))
      }));
    expect(bounds(normalizeAlgorithms(table))).toEqual(
      bounds(BUILTIN_ALGORITHMS)
    );
  });

  it("reads the server's description of the algorithms, keyed or listed", () => {
    const keyed = normalizeAlgorithms({
      xgboost: {
        params: {
          n_estimators: {
            default: 200,
            min: 1,
            max: 3000,
            description: 'Rounds.'
          },
          learning_rate: {
            type: 'float',
            default: 0.1,
            exclusiveMinimum: 0,
            max: 1
          }
        }
      },
      common: {
        test_size: {
          type: 'float',
          default: 0.25,
          exclusiveMinimum: 0,
          exclusiveMaximum: 1
        }
      }
    });
    expect(keyed).toHaveLength(1);
    expect(keyed[0]).toMatchObject({
      id: 'xgboost',
      label: 'XGBoost',
      tasks: ['classification', 'regression']
    });
    expect(keyed[0].params.map(p => [p.name, p.default])).toEqual([
      ['n_estimators', 200],
      ['learning_rate', 0.1],
      ['test_size', 0.25]
    ]);
    expect(checkParam(keyed[0].params[1], '0').ok).toBe(false);
    expect(checkParam(keyed[0].params[2], '1').ok).toBe(false);

    const listed = normalizeAlgorithms({
      algorithms: [
        {
          id: 'random_forest',
          tasks: ['classification'],
          params: [
            { name: 'max_depth', type: 'int', default: null, min: 1, max: 100 }
          ]
        }
      ]
    });
    expect(listed[0].params[0]).toMatchObject({
      name: 'max_depth',
      nullable: true,
      type: 'int'
    });
    expect(listed[0].tasks).toEqual(['classification']);
  });
});

describe('TrainFormModel', () => {
  const datasets: IDatasetSummary[] = [
    { id: 'd1', name: 'german_credit', version: 1, status: 'ready' },
    { id: 'd2', name: 'german_credit', version: 2, status: 'ready' },
    { id: 'd3', name: 'broken', version: 1, status: 'failed' }
  ];

  function setup(
    createJob: (
      job: INewTrainJob
    ) => Promise<{ id: string; run_id: string; status: 'queued' }>
  ) {
    const bus = new InsighterBus();
    const sent: INewTrainJob[] = [];
    const api = {
      algorithms: async () => {
        throw new SidecarError({
          kind: 'response',
          status: 404,
          code: 'not_found',
          message: 'No route.'
        });
      },
      listDatasets: async () => datasets,
      getDataset: async (id: string) => ({
        ...datasets.find(d => d.id === id)!,
        columns: [
          { name: 'duration', type: 'integer' },
          { name: 'Class', type: 'string' }
        ]
      }),
      createJob: async (job: INewTrainJob) => {
        sent.push(job);
        return createJob(job);
      }
    };
    const form = new TrainFormModel({ api, bus, projectId: 'p1' });
    return { form, sent, bus };
  }

  it('offers the newest ready version of each dataset and its columns as targets', async () => {
    expect(readyDatasets(datasets).map(d => d.id)).toEqual(['d2']);
    const { form } = setup(async () => ({
      id: 'j1',
      run_id: 'r1',
      status: 'queued'
    }));
    await form.load();
    await settle();
    expect(form.datasetId).toBe('d2');
    expect(form.columns.map(c => c.name)).toEqual(['duration', 'Class']);
    expect(form.target).toBe('Class');
    // The built-in table stands in for the missing algorithms route.
    expect(form.algorithms.map(a => a.id)).toEqual([
      'xgboost',
      'logistic_regression',
      'random_forest'
    ]);
  });

  it('sends the job with typed parameters, and refuses to while a field is wrong', async () => {
    const { form, sent } = setup(async () => ({
      id: 'j1',
      run_id: 'r1',
      status: 'queued'
    }));
    await form.load();
    await settle();
    form.setParam('max_depth', '25');
    expect(await form.submit()).toBeNull();
    expect(form.errors.max_depth).toBe('max_depth must be between 1 and 20.');
    expect(sent).toHaveLength(0);
    form.setParam('max_depth', '4');
    const job = await form.submit();
    expect(job).toEqual({ id: 'j1', run_id: 'r1', status: 'queued' });
    expect(sent[0]).toEqual({
      kind: 'train',
      project_id: 'p1',
      dataset_id: 'd2',
      dataset_version: 2,
      target: 'Class',
      algorithm: 'xgboost',
      params: {
        n_estimators: 100,
        max_depth: 4,
        learning_rate: 0.3,
        subsample: 1,
        colsample_bytree: 1,
        min_child_weight: 1,
        reg_lambda: 1,
        test_size: 0.2,
        random_state: 42
      }
    });
  });

  it("shows the server's refusal next to the form and on the fields it names", async () => {
    const { form } = setup(async () => {
      throw new SidecarError({
        kind: 'response',
        status: 400,
        code: 'invalid_target',
        message: 'Column "Klass" is not in german_credit.',
        details: [{ path: ['target'], message: 'Unknown column.' }]
      });
    });
    await form.load();
    await settle();
    expect(await form.submit()).toBeNull();
    expect(form.serverError).toBe('Column "Klass" is not in german_credit.');
    expect(form.errors.target).toBe('Unknown column.');
    form.target = 'duration';
    expect(form.errors.target).toBeUndefined();
    expect(form.serverError).toBeNull();
  });

  it('lists the datasets again when one of the project is uploaded', async () => {
    const { form, bus } = setup(async () => ({
      id: 'j1',
      run_id: 'r1',
      status: 'queued'
    }));
    await form.load();
    await settle();
    datasets.push({ id: 'd4', name: 'adult', version: 1, status: 'ready' });
    bus.emit({
      type: 'dataset.uploaded',
      payload: {
        datasetId: 'd4',
        projectId: 'p1',
        name: 'adult',
        version: 1,
        sizeBytes: 1,
        rowCount: 1,
        timestamp: 1
      }
    });
    await settle();
    expect(form.datasets.map(d => d.name)).toEqual(['adult', 'german_credit']);
    datasets.pop();
  });

  it('lists the datasets again when the event stream reconnects: one uploaded while it was down can be chosen', async () => {
    const { form, bus } = setup(async () => ({
      id: 'j1',
      run_id: 'r1',
      status: 'queued'
    }));
    await form.load();
    await settle();
    datasets.push({ id: 'd5', name: 'bank', version: 1, status: 'ready' });
    reconnect(bus);
    await settle();
    expect(form.datasets.map(d => d.name)).toEqual(['bank', 'german_credit']);
    datasets.pop();
  });
});
