import type { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import type { IViewInfo, ViewName } from './navigation';
import type { InsighterView } from './widgets/view';

export type ViewWidget = MainAreaWidget<InsighterView>;

export interface IViewManagerOptions {
  shell: JupyterFrontEnd.IShell;
  infos: Readonly<Record<ViewName, IViewInfo>>;
  /** Builds the content of a view the first time it opens. */
  create: (name: ViewName) => InsighterView;
  /** Called once per new view panel, e.g. to hide it from signed-out people. */
  decorate?: (name: ViewName, widget: ViewWidget) => void;
}

/**
 * Opens each view at most once in the main area and brings it forward when
 * asked again. The tracker lets the layout restorer reopen views on reload.
 */
export class ViewManager {
  readonly tracker = new WidgetTracker<ViewWidget>({ namespace: 'insighter' });

  constructor(private readonly _options: IViewManagerOptions) {}

  /** The view whose tab is `widget`, if it is one of ours. */
  viewOf(widget: unknown): ViewName | null {
    return this.tracker.has(widget as ViewWidget)
      ? (widget as ViewWidget).content.viewName
      : null;
  }

  open(name: ViewName): ViewWidget {
    const existing = this.tracker.find(w => w.content.viewName === name);
    const widget = existing ?? this._create(name);
    if (!widget.isAttached) {
      this._options.shell.add(widget, 'main');
    }
    this._options.shell.activateById(widget.id);
    if (!existing) {
      this._focusWhenShown(widget);
    }
    return widget;
  }

  /**
   * In the browser a tab that is added and activated in the same turn does
   * not receive focus, so the shell's current widget (and the sidebar's
   * highlight) stays on the previous tab. Activating it again once it is on
   * screen does; a view the user left in the meantime is not pulled back.
   */
  private _focusWhenShown(widget: ViewWidget): void {
    void widget.revealed.then(() => {
      requestAnimationFrame(() => {
        if (
          !widget.isDisposed &&
          widget.isVisible &&
          !widget.node.contains(document.activeElement)
        ) {
          this._options.shell.activateById(widget.id);
        }
      });
    });
  }

  private _create(name: ViewName): ViewWidget {
    const info = this._options.infos[name];
    const widget = new MainAreaWidget({ content: this._options.create(name) });
    widget.id = `jp-insighter-view-${name}`;
    widget.addClass('jp-insighter-ViewPanel');
    widget.title.label = info.label;
    widget.title.caption = info.caption;
    widget.title.icon = info.icon;
    widget.title.closable = true;
    this._options.decorate?.(name, widget);
    void this.tracker.add(widget);
    return widget;
  }
}
