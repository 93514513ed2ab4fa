import type { StudioLayoutSection, ToolEntry } from '@insighter/registry';
import { Time } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import * as React from 'react';
import { projectFolder } from '../folders';
import type { StudioModel } from '../studiomodel';
import type { IStudioSections } from '../tokens';

export const STUDIO_CLASS = 'jp-insighter-Studio';

export interface IStudioViewOptions {
  model: StudioModel;
  sections: IStudioSections;
  /** The registry's Studio layout: sections in order, each with its tools. */
  layout: readonly StudioLayoutSection[];
  trans: TranslationBundle;
}

/**
 * One project's Studio: a header with the project's facts, a navigation of
 * the registry's sections and tools, and the selected tool's own widget
 * (created when first shown; a tool without a registered widget says it is
 * coming). Nothing is shown of a project that could not be read.
 */
export class StudioView extends Panel {
  private readonly _options: IStudioViewOptions;
  private readonly _header: StudioHeader;
  private readonly _nav: StudioNav;
  private readonly _body = new Panel();
  private readonly _widgets = new Map<string, Widget>();
  private _current: string;

  constructor(options: IStudioViewOptions) {
    super();
    this._options = options;
    this.addClass(STUDIO_CLASS);
    const tools = options.layout.flatMap(section => section.tools);
    // Open on the first tool that is built, else on the first tool.
    this._current =
      (tools.find(tool => options.sections.get(tool.id)) ?? tools[0])?.id ?? '';
    this._header = new StudioHeader(options.model, options.trans);
    this._nav = new StudioNav(this, options.layout, options.trans);
    this._body.addClass('jp-insighter-Studio-body');
    const main = new Panel();
    main.addClass('jp-insighter-Studio-main');
    main.addWidget(this._nav);
    main.addWidget(this._body);
    this.addWidget(this._header);
    this.addWidget(main);
    options.model.changed.connect(this._sync, this);
    options.sections.changed.connect(this._onSectionsChanged, this);
    this._sync();
  }

  get model(): StudioModel {
    return this._options.model;
  }

  /** The id of the tool shown. */
  get currentTool(): string {
    return this._current;
  }

  /** Shows a tool's section. */
  select(toolId: string): void {
    if (!this._tool(toolId)) {
      throw new Error(`No tool "${toolId}" in the Studio.`);
    }
    this._current = toolId;
    this._sync();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.model.changed.disconnect(this._sync, this);
    this._options.sections.changed.disconnect(this._onSectionsChanged, this);
    super.dispose();
  }

  private _tool(toolId: string): ToolEntry | undefined {
    for (const section of this._options.layout) {
      const tool = section.tools.find(t => t.id === toolId);
      if (tool) {
        return tool;
      }
    }
    return undefined;
  }

  private _sync(): void {
    if (this.isDisposed) {
      return;
    }
    const ready = this.model.status === 'ready';
    this.node.dataset.state = this.model.status;
    if (!ready) {
      // The project is gone or unreadable: its tools go with it.
      this._disposeSections();
    } else if (this._current && !this._widgets.has(this._current)) {
      this._widgets.set(this._current, this._create(this._current));
    }
    for (const [toolId, widget] of this._widgets) {
      widget.setHidden(toolId !== this._current);
      if (!widget.parent) {
        this._body.addWidget(widget);
      }
    }
    this._body.setHidden(!ready);
    this._nav.setHidden(!ready);
    this._nav.update();
  }

  private _create(toolId: string): Widget {
    const tool = this._tool(toolId)!;
    const factory = this._options.sections.get(toolId);
    const widget = factory
      ? factory.create(this.model)
      : new ComingSoonSection(tool, this._options.trans);
    widget.addClass('jp-insighter-Studio-section');
    widget.node.dataset.tool = toolId;
    return widget;
  }

  private _onSectionsChanged(_: IStudioSections, toolId: string): void {
    // A tool's extension came (or went): rebuild its section when next shown.
    const widget = this._widgets.get(toolId);
    if (widget) {
      this._widgets.delete(toolId);
      widget.dispose();
    }
    this._sync();
  }

  private _disposeSections(): void {
    for (const widget of this._widgets.values()) {
      widget.dispose();
    }
    this._widgets.clear();
  }
}

/** The project's facts: name, sharing, slug and folder, owner, creation. */
class StudioHeader extends ReactWidget {
  constructor(
    private readonly _model: StudioModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-insighter-Studio-header');
    _model.changed.connect(this.update, this);
  }

  dispose(): void {
    this._model.changed.disconnect(this.update, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    const model = this._model;
    const trans = this._trans;
    const project = model.currentProject;
    switch (model.status) {
      case 'loading':
        return (
          <p className="jp-insighter-Projects-muted">
            {trans.__('Opening the project…')}
          </p>
        );
      case 'signed-out':
        return (
          <p
            className="jp-insighter-Projects-muted"
            data-testid="insighter-studio-message"
          >
            {trans.__('Log in to open this project.')}
          </p>
        );
      case 'missing':
        return (
          <p
            className="jp-insighter-Projects-message jp-mod-error"
            data-testid="insighter-studio-message"
          >
            {trans.__(
              'This project does not exist any more, or it is no longer shared with you.'
            )}
          </p>
        );
      case 'error':
        return (
          <p
            className="jp-insighter-Projects-message jp-mod-error"
            data-testid="insighter-studio-message"
          >
            {trans.__('The project could not be opened: %1', model.error ?? '')}
          </p>
        );
    }
    if (!project) {
      return <></>;
    }
    const team = model.teamName;
    return (
      <div data-testid="insighter-studio-header">
        <h2
          className="jp-insighter-Studio-name"
          data-testid="insighter-studio-name"
        >
          {project.name}
        </h2>
        {project.description && (
          <p className="jp-insighter-Studio-description">
            {project.description}
          </p>
        )}
        <dl className="jp-insighter-Studio-facts">
          <div>
            <dt>{trans.__('Visibility')}</dt>
            <dd data-testid="insighter-studio-visibility">
              {project.visibility === 'team'
                ? team
                  ? trans.__('Team · %1', team)
                  : trans.__('Team')
                : trans.__('Private')}
            </dd>
          </div>
          <div>
            <dt>{trans.__('Slug')}</dt>
            <dd>
              <code data-testid="insighter-studio-slug">{project.slug}</code>
            </dd>
          </div>
          <div>
            <dt>{trans.__('Folder')}</dt>
            <dd>
              <code data-testid="insighter-studio-folder">
                {projectFolder(project.slug)}/
              </code>
            </dd>
          </div>
          {model.owner && (
            <div>
              <dt>{trans.__('Owner')}</dt>
              <dd data-testid="insighter-studio-owner">{model.owner}</dd>
            </div>
          )}
          <div>
            <dt>{trans.__('Created')}</dt>
            <dd
              data-testid="insighter-studio-created"
              title={Time.format(project.created_at)}
            >
              {new Date(project.created_at).toLocaleDateString(undefined, {
                dateStyle: 'medium'
              })}
            </dd>
          </div>
        </dl>
      </div>
    );
  }
}

/** The registry's sections, each with its tools, as tabs. */
class StudioNav extends ReactWidget {
  constructor(
    private readonly _studio: StudioView,
    private readonly _sections: readonly StudioLayoutSection[],
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-insighter-Studio-nav');
  }

  protected render(): React.ReactElement {
    const current = this._studio.currentTool;
    return (
      <nav aria-label={this._trans.__('Project tools')}>
        {this._sections.map(section => (
          <div key={section.id} className="jp-insighter-Studio-navSection">
            <h3 className="jp-insighter-Studio-navTitle">
              {this._trans.__(section.label)}
            </h3>
            <div role="tablist" aria-orientation="vertical">
              {section.tools.map(tool => (
                <button
                  key={tool.id}
                  type="button"
                  role="tab"
                  aria-selected={tool.id === current}
                  className="jp-insighter-Studio-tab"
                  title={this._trans.__(tool.description)}
                  data-testid={`insighter-studio-tab-${tool.id}`}
                  onClick={() => this._studio.select(tool.id)}
                >
                  {this._trans.__(tool.label)}
                </button>
              ))}
            </div>
          </div>
        ))}
      </nav>
    );
  }
}

/** What a tool that is not built yet shows: plainly that it is coming, and nothing made up. */
class ComingSoonSection extends ReactWidget {
  constructor(
    private readonly _tool: ToolEntry,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-insighter-ComingSoon');
  }

  protected render(): React.ReactElement {
    const trans = this._trans;
    return (
      <div data-testid="insighter-studio-coming-soon">
        <h3>{trans.__('Coming soon: %1', trans.__(this._tool.label))}</h3>
        <p className="jp-insighter-Projects-muted">
          {trans.__(this._tool.description)}
        </p>
      </div>
    );
  }
}
