import type { ISession, ISystemStatusModel } from '@insighter/core';
import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs, ExternalCommandIDs } from '../commands';
import { activityOf } from '../model';
import type { IProject, IProjectsModel } from '../tokens';

/** The class of the dashboard's content (its tab's id is `jp-insighter-dashboard`). */
export const DASHBOARD_CLASS = 'jp-insighter-ProjectsDashboard';

export interface IDashboardViewOptions {
  projects: IProjectsModel;
  session: ISession | null;
  /** The shell's live status; the dashboard shows it and never polls itself. */
  status: ISystemStatusModel | null;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * The signed-in home: the greeting, the system status, and the project grid
 * (or, with no project yet, the way to create the first one). Renders the
 * projects, session and status models; every action is a command.
 */
export class DashboardView extends ReactWidget {
  private readonly _options: IDashboardViewOptions;

  constructor(options: IDashboardViewOptions) {
    super();
    this._options = options;
    this.addClass(DASHBOARD_CLASS);
    options.projects.changed.connect(this._onChange, this);
    options.session?.changed.connect(this._onChange, this);
    options.status?.changed.connect(this._onChange, this);
    void options.session?.ready.then(() => this._onChange());
    this._onChange();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    const { projects, session, status } = this._options;
    projects.changed.disconnect(this._onChange, this);
    session?.changed.disconnect(this._onChange, this);
    status?.changed.disconnect(this._onChange, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    return <Dashboard {...this._options} />;
  }

  private _onChange(): void {
    if (this.isDisposed) {
      return;
    }
    // For tests and styles: what the view shows, on the node itself.
    this.node.dataset.state = this._options.projects.status;
    this.update();
  }
}

function Dashboard(props: IDashboardViewOptions): React.ReactElement {
  const { projects, session, commands, trans } = props;
  const user = session ? session.user : null;
  if (session && !user) {
    return (
      <div className="jp-insighter-ProjectsDashboard-body">
        <SignedOut {...props} />
      </div>
    );
  }
  return (
    <div
      className="jp-insighter-ProjectsDashboard-body"
      data-testid="insighter-dashboard"
    >
      <header className="jp-insighter-ProjectsDashboard-header">
        <div>
          {user && (
            <h2
              className="jp-insighter-ProjectsDashboard-welcome"
              data-testid="insighter-welcome"
            >
              {trans.__('Welcome back, %1', user.firstName)}
            </h2>
          )}
          {user && (
            <p className="jp-insighter-Projects-muted">
              {trans.__('Signed in as %1', user.email)}
            </p>
          )}
        </div>
        <StatusSummary {...props} />
      </header>
      <div className="jp-insighter-ProjectsDashboard-toolbar">
        <h3 className="jp-insighter-ProjectsDashboard-title">
          {trans.__('Projects')}
        </h3>
        {projects.status === 'ready' && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            data-testid="insighter-new-project"
            onClick={() => void commands.execute(CommandIDs.newProject)}
          >
            {trans.__('+ New Project')}
          </button>
        )}
      </div>
      <Projects {...props} />
    </div>
  );
}

function SignedOut({ commands, trans }: IDashboardViewOptions) {
  return (
    <div
      className="jp-insighter-ProjectsEmpty"
      data-testid="insighter-signin-prompt"
    >
      <p>{trans.__('Log in to see your projects.')}</p>
      <button
        type="button"
        className="jp-mod-styled jp-mod-accept"
        onClick={() => void commands.execute(ExternalCommandIDs.login)}
      >
        {trans.__('Log in')}
      </button>
    </div>
  );
}

/** OPTIMAL / DEGRADED / DOWN and, when not optimal, what is failing. */
function StatusSummary({ status, commands, trans }: IDashboardViewOptions) {
  if (!status) {
    return null;
  }
  const state = status.state;
  const label = state === 'UNKNOWN' ? trans.__('Checking…') : state;
  const canOpen = commands.hasCommand(ExternalCommandIDs.openSettings);
  return (
    <button
      type="button"
      className="jp-insighter-StatusSummary"
      data-state={state}
      data-testid="insighter-dashboard-status"
      title={canOpen ? trans.__('Open Settings for details') : undefined}
      disabled={!canOpen}
      onClick={() => void commands.execute(ExternalCommandIDs.openSettings)}
    >
      <span className="jp-insighter-StatusSummary-label">
        <span className="jp-insighter-StatusSummary-dot" aria-hidden="true" />
        {trans.__('System status')}:{' '}
        <strong data-testid="insighter-dashboard-status-state">{label}</strong>
      </span>
      <span className="jp-insighter-StatusSummary-message">
        {status.message}
      </span>
    </button>
  );
}

function Projects(props: IDashboardViewOptions): React.ReactElement {
  const { projects, commands, trans } = props;
  switch (projects.status) {
    case 'signed-out':
    case 'loading':
      return (
        <p className="jp-insighter-Projects-muted">
          {trans.__('Loading projects…')}
        </p>
      );
    case 'error':
      return (
        <div
          className="jp-insighter-Projects-message jp-mod-error"
          role="alert"
        >
          <p data-testid="insighter-projects-error">
            {trans.__(
              'Your projects could not be listed: %1',
              projects.error ?? ''
            )}
          </p>
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => void commands.execute(CommandIDs.refreshProjects)}
          >
            {trans.__('Try again')}
          </button>
        </div>
      );
    case 'ready':
      break;
  }
  if (projects.projects.length === 0) {
    return (
      <div
        className="jp-insighter-ProjectsEmpty"
        data-testid="insighter-empty-state"
      >
        <h3>{trans.__('No projects yet')}</h3>
        <p>
          {trans.__(
            'A project keeps your datasets, notebooks, experiments and models together, for you alone or for your team.'
          )}
        </p>
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept"
          data-testid="insighter-create-first-project"
          onClick={() => void commands.execute(CommandIDs.newProject)}
        >
          {trans.__('Create Your First Project')}
        </button>
      </div>
    );
  }
  return (
    <ul className="jp-insighter-ProjectGrid" aria-label={trans.__('Projects')}>
      {projects.projects.map(project => (
        <li key={project.id}>
          <ProjectCard project={project} {...props} />
        </li>
      ))}
    </ul>
  );
}

function ProjectCard(
  props: IDashboardViewOptions & { project: IProject }
): React.ReactElement {
  const { project, projects, commands, trans } = props;
  const team = projects.teamName(project.team_id);
  const visibility =
    project.visibility === 'team'
      ? team
        ? trans.__('Team · %1', team)
        : trans.__('Team')
      : trans.__('Private');
  const activity = activityOf(project);
  return (
    <button
      type="button"
      className="jp-insighter-ProjectCard"
      data-testid="insighter-project-card"
      data-project-id={project.id}
      data-project-slug={project.slug}
      title={trans.__('Open the Studio of %1', project.name)}
      onClick={() =>
        void commands.execute(CommandIDs.openStudio, { id: project.id })
      }
    >
      <span className="jp-insighter-ProjectCard-head">
        <span
          className="jp-insighter-ProjectCard-name"
          data-testid="insighter-project-card-name"
        >
          {project.name}
        </span>
        <span
          className="jp-insighter-Projects-badge"
          data-visibility={project.visibility}
          data-testid="insighter-project-card-visibility"
        >
          {visibility}
        </span>
      </span>
      {project.description && (
        <span className="jp-insighter-ProjectCard-description">
          {project.description}
        </span>
      )}
      <span
        className="jp-insighter-ProjectCard-counts"
        data-testid="insighter-project-card-counts"
      >
        <Count
          value={project.dataset_count}
          label={trans._n('dataset', 'datasets', project.dataset_count)}
        />
        <Count
          value={project.run_count}
          label={trans._n('run', 'runs', project.run_count)}
        />
        <Count
          value={project.model_count}
          label={trans._n('model', 'models', project.model_count)}
        />
      </span>
      <span
        className="jp-insighter-ProjectCard-activity"
        data-testid="insighter-project-card-activity"
        title={Time.format(activity)}
      >
        {trans.__('Last activity %1', Time.formatHuman(activity))}
      </span>
    </button>
  );
}

function Count(props: { value: number; label: string }): React.ReactElement {
  return (
    <span className="jp-insighter-ProjectCard-count">
      <strong>{props.value}</strong> {props.label}
    </span>
  );
}
