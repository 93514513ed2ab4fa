/**
 * @jest-environment jsdom
 */
import { InsighterBus } from '@insighter/core';
import * as React from 'react';
import { ReactWidget } from '@jupyterlab/ui-components';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { filterLiteral } from '../src/api';
import { aliasesByVersion, ModelsModel } from '../src/models';
import type { IModelVersion, IRegisteredModel } from '../src/tokens';
import { MetricChart } from '../src/widgets/chart';
import { reconnect, run, settle } from './fakes';

/** Renders a React element as JupyterLab does, and waits until it is on the page. */
async function rendered(element: React.ReactElement): Promise<HTMLElement> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  MessageLoop.sendMessage(widget, Widget.Msg.UpdateRequest);
  await widget.renderPromise;
  // React commits a tree it renders for the first time a moment later.
  await new Promise(resolve => setTimeout(resolve, 50));
  return widget.node;
}

describe('ModelsModel', () => {
  function setup() {
    const bus = new InsighterBus();
    const model: IRegisteredModel = {
      name: 'credit-risk-alpha',
      creation_timestamp: 1,
      aliases: [{ alias: 'champion', version: '1' }]
    };
    let versions: IModelVersion[] = [
      {
        name: 'credit-risk-alpha',
        version: '1',
        creation_timestamp: 10,
        run_id: 'r1',
        current_stage: 'None'
      }
    ];
    const calls: string[] = [];
    const api = {
      searchRegisteredModels: async (filter?: string) => {
        calls.push(`search ${filter}`);
        return [model, { name: 'someone-else', creation_timestamp: 1 }];
      },
      modelVersions: async () => versions,
      getRun: async (runId: string) =>
        run(runId, {
          metrics: { accuracy: 0.76, auc: 0.79 },
          dataset: 'german_credit'
        }),
      listAllArtifacts: async () => [
        { path: 'model/model.json', is_dir: false, file_size: 2048 },
        { path: 'model/MLmodel', is_dir: false, file_size: 300 }
      ],
      setAlias: async (name: string, alias: string, version: string) => {
        calls.push(`set ${name} ${alias} ${version}`);
        model.aliases = [{ alias, version }];
      },
      deleteAlias: async (name: string, alias: string) => {
        calls.push(`delete ${name} ${alias}`);
        model.aliases = [];
      },
      transitionStage: async (name: string, version: string, stage: string) => {
        calls.push(`stage ${name} ${version} ${stage}`);
        versions = versions.map(v =>
          v.version === version ? { ...v, current_stage: stage } : v
        );
        return versions[0];
      },
      artifactPath: () => '',
      download: async () => new Blob()
    };
    const models = new ModelsModel({
      api,
      bus,
      project: { id: 'p1', slug: 'credit-risk-alpha' }
    });
    return {
      bus,
      models,
      calls,
      setVersions: (v: IModelVersion[]) => (versions = v)
    };
  }

  it("lists the project's model with each version's run metrics, dataset input and aliases", async () => {
    const { models, calls } = setup();
    await models.refresh();
    expect(calls).toEqual(["search name = 'credit-risk-alpha'"]);
    expect(models.models.map(m => m.model.name)).toEqual(['credit-risk-alpha']);
    expect(models.models[0].versions[0]).toMatchObject({
      version: '1',
      runId: 'r1',
      metrics: { accuracy: 0.76, auc: 0.79 },
      dataset: { name: 'german_credit', version: '1', digest: 'abc123' },
      stage: 'None',
      aliases: ['champion']
    });
    await models.select('credit-risk-alpha', '1');
    expect(models.artifacts.map(a => a.path)).toEqual([
      'model/model.json',
      'model/MLmodel'
    ]);
  });

  it('sets and removes an alias, and lists again when a version is registered', async () => {
    const { bus, models, calls, setVersions } = setup();
    await models.refresh();
    expect(await models.removeAlias('credit-risk-alpha', 'champion')).toBe(
      true
    );
    expect(models.models[0].versions[0].aliases).toEqual([]);
    expect(await models.setAlias('credit-risk-alpha', ' champion ', '1')).toBe(
      true
    );
    expect(calls).toContain('set credit-risk-alpha champion 1');
    expect(models.models[0].versions[0].aliases).toEqual(['champion']);
    expect(await models.setStage('credit-risk-alpha', '1', 'Production')).toBe(
      true
    );
    expect(models.models[0].versions[0].stage).toBe('Production');

    setVersions([
      {
        name: 'credit-risk-alpha',
        version: '1',
        creation_timestamp: 10,
        run_id: 'r1'
      },
      {
        name: 'credit-risk-alpha',
        version: '2',
        creation_timestamp: 20,
        run_id: 'r2'
      }
    ]);
    bus.emit({
      type: 'model.version-registered',
      payload: {
        modelId: 'm',
        modelName: 'credit-risk-alpha',
        version: 2,
        runId: 'r2',
        projectId: 'p1',
        timestamp: 1
      }
    });
    await settle();
    expect(models.models[0].versions.map(v => v.version)).toEqual(['2', '1']);
  });

  it('lists again when the event stream reconnects: a version registered while it was down shows', async () => {
    const { bus, models, calls, setVersions } = setup();
    await models.refresh();
    setVersions([
      {
        name: 'credit-risk-alpha',
        version: '2',
        creation_timestamp: 20,
        run_id: 'r2'
      },
      {
        name: 'credit-risk-alpha',
        version: '1',
        creation_timestamp: 10,
        run_id: 'r1'
      }
    ]);
    calls.length = 0;
    reconnect(bus);
    await settle();
    expect(calls).toEqual(["search name = 'credit-risk-alpha'"]);
    expect(models.models[0].versions.map(v => v.version)).toEqual(['2', '1']);
  });

  it("quotes names in MLflow's filter syntax, a quote inside doubled", () => {
    expect(filterLiteral('credit-risk-alpha')).toBe("'credit-risk-alpha'");
    expect(filterLiteral("ada's model")).toBe("'ada''s model'");
  });

  it("merges aliases from the versions and from the model's list", () => {
    expect(
      aliasesByVersion(
        {
          name: 'm',
          creation_timestamp: 0,
          aliases: [{ alias: 'champion', version: '2' }]
        },
        [
          {
            name: 'm',
            version: '1',
            creation_timestamp: 0,
            aliases: ['baseline']
          },
          {
            name: 'm',
            version: '2',
            creation_timestamp: 0,
            aliases: ['champion']
          }
        ]
      )
    ).toEqual(
      new Map([
        ['1', ['baseline']],
        ['2', ['champion']]
      ])
    );
  });
});

describe('MetricChart', () => {
  it('draws one line per series and counts its points for the page', async () => {
    const points = (n: number) =>
      Array.from({ length: n }, (_, step) => ({
        step,
        value: 0.5 + step / 100,
        timestamp: step
      }));
    const one = await rendered(
      <MetricChart
        metric="validation_auc"
        series={[{ label: 'r1', id: 'r1', points: points(3) }]}
      />
    );
    const chart = one.querySelector('.jp-insighter-metric-chart')!;
    expect(chart.getAttribute('data-metric')).toBe('validation_auc');
    expect(chart.getAttribute('data-points')).toBe('3');
    expect(one.querySelectorAll('polyline')).toHaveLength(1);

    const two = await rendered(
      <MetricChart
        metric="validation_auc"
        series={[
          { label: 'r1', id: 'r1', points: points(5) },
          { label: 'r2', id: 'r2', points: points(1) }
        ]}
      />
    );
    expect(
      two
        .querySelector('.jp-insighter-metric-chart')!
        .getAttribute('data-points')
    ).toBe('6');
    expect(two.querySelectorAll('polyline')).toHaveLength(1);
    expect(two.querySelectorAll('circle')).toHaveLength(1);
    expect(
      [...two.querySelectorAll('.jp-insighter-metric-chart-legend li')].map(
        li => li.textContent
      )
    ).toEqual(['r1', 'r2']);
  });
});
