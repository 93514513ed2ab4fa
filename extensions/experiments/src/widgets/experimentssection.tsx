import type { IInsighterBus } from '@insighter/core';
import type { IProject, IStudioContext } from '@insighter/projects';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import type { TrackingApi } from '../api';
import { CommandIDs } from '../commands';
import { CompareModel } from '../compare';
import { RunDetailModel } from '../rundetail';
import { RunsModel } from '../runs';
import { TrainFormModel } from '../trainform';
import { CompareRuns, RunDetail } from './rundetail';
import { RunsTable } from './runstable';
import { TrainForm } from './trainform';

export interface IExperimentsSectionOptions {
  context: IStudioContext;
  api: TrackingApi;
  bus: IInsighterBus;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * The Studio's Experiments section: the training form, the project's runs,
 * and below them the open run's detail or the comparison of picked runs.
 * It owns its models; the views only render them.
 */
export class ExperimentsSection extends ReactWidget {
  readonly form: TrainFormModel;
  readonly runs: RunsModel;
  private readonly _options: IExperimentsSectionOptions;
  private _detail: RunDetailModel | null = null;
  private _compare: CompareModel | null = null;

  constructor(options: IExperimentsSectionOptions) {
    super();
    this._options = options;
    this.addClass('jp-insighter-Experiments');
    const { api, bus, trans, context } = options;
    const project = context.project;
    this.form = new TrainFormModel({ api, bus, projectId: project.id, trans });
    this.runs = new RunsModel({
      api,
      bus,
      project: { id: project.id, slug: project.slug },
      trans
    });
    this.form.changed.connect(this.update, this);
    this.runs.changed.connect(this._onRunsChanged, this);
    context.projectChanged.connect(this._onProjectChanged, this);
    void this.form.load();
    void this.runs.refresh();
  }

  get detail(): RunDetailModel | null {
    return this._detail;
  }

  get compare(): CompareModel | null {
    return this._compare;
  }

  /** Opens a run's detail below the table (closing a comparison). */
  openRun(runId: string, jobId?: string | null): RunDetailModel {
    this._closeCompare();
    if (this._detail?.runId !== runId) {
      this._detail?.dispose();
      const { api, bus, trans } = this._options;
      this._detail = new RunDetailModel({
        api,
        bus,
        runId,
        jobId: jobId ?? this.runs.row(runId)?.job?.id ?? null,
        trans
      });
      this._detail.changed.connect(this.update, this);
      void this._detail.load();
    }
    this.update();
    return this._detail;
  }

  /** Compares the picked runs (two or more). */
  openCompare(): void {
    const rows = this.runs.picked
      .map(id => this.runs.row(id))
      .filter((row): row is NonNullable<typeof row> => Boolean(row));
    if (rows.length < 2) {
      return;
    }
    this._closeDetail();
    if (!this._compare) {
      const { api, bus } = this._options;
      this._compare = new CompareModel({ api, bus });
      this._compare.changed.connect(this.update, this);
    }
    this._compare.setRuns(rows);
    this.update();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.context.projectChanged.disconnect(
      this._onProjectChanged,
      this
    );
    this._closeDetail();
    this._closeCompare();
    this.form.dispose();
    this.runs.dispose();
    super.dispose();
  }

  protected render(): React.ReactElement {
    const { trans, commands, context } = this._options;
    const detail = this._detail;
    const compare = this._compare;
    return (
      <div
        className="jp-insighter-Experiments-body"
        data-testid="insighter-studio-experiments"
      >
        <div className="jp-insighter-Experiments-toolbar">
          <h3>{trans.__('Train a model')}</h3>
          <span className="jp-insighter-Experiments-spacer" />
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() =>
              void commands.execute(CommandIDs.openMonitor, {
                id: context.project.id
              })
            }
          >
            {trans.__('Open Tool Monitor')}
          </button>
        </div>
        <TrainForm
          model={this.form}
          trans={trans}
          onStarted={job => {
            void this.runs.refresh();
            this.openRun(job.run_id, job.id);
          }}
        />
        <h3>{trans.__('Runs')}</h3>
        <RunsTable
          model={this.runs}
          trans={trans}
          openRunId={detail?.runId ?? null}
          onOpen={runId => this.openRun(runId)}
          onCompare={() => this.openCompare()}
        />
        {detail && (
          <RunDetail
            key={detail.runId}
            model={detail}
            row={this.runs.row(detail.runId)}
            trans={trans}
            onClose={() => {
              this._closeDetail();
              this.update();
            }}
          />
        )}
        {detail?.pending && (
          <p className="jp-insighter-Experiments-muted">
            {trans.__('The run starts when its job does.')}
          </p>
        )}
        {compare && (
          <CompareRuns
            model={compare}
            trans={trans}
            onClose={() => {
              this._closeCompare();
              this.update();
            }}
          />
        )}
      </div>
    );
  }

  private _closeDetail(): void {
    this._detail?.dispose();
    this._detail = null;
  }

  private _closeCompare(): void {
    this._compare?.dispose();
    this._compare = null;
  }

  private _onRunsChanged(): void {
    if (this._compare) {
      // Keep the compared rows current (status, final metrics).
      const rows = this._compare.runs.map(
        run => this.runs.row(run.runId) ?? run
      );
      if (rows.some((row, i) => row !== this._compare!.runs[i])) {
        this._compare.setRuns(rows);
      }
    }
    this.update();
  }

  private _onProjectChanged(_: IStudioContext, project: IProject): void {
    const current = this.runs.project;
    if (current.id !== project.id || current.slug !== project.slug) {
      this.runs.setProject({ id: project.id, slug: project.slug });
    }
  }
}
