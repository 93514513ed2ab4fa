import type { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import type { LabIcon } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';

export interface ISingleViewOptions<T extends Widget> {
  shell: JupyterFrontEnd.IShell;
  /** The tab's DOM id, stable for tests and layout restoration. */
  id: string;
  /** The tracker namespace, for layout restoration. */
  namespace: string;
  label: string;
  caption?: string;
  icon: LabIcon;
  /** Builds the content the first time the view opens (and after it was closed). */
  create: () => T;
}

/**
 * A main-area view that exists at most once: opening it again brings it
 * forward. The tracker lets the layout restorer reopen it after a reload.
 */
export class SingleView<T extends Widget> {
  readonly tracker: WidgetTracker<MainAreaWidget<T>>;

  constructor(private readonly _options: ISingleViewOptions<T>) {
    this.tracker = new WidgetTracker({ namespace: _options.namespace });
  }

  get widget(): MainAreaWidget<T> | null {
    return this.tracker.currentWidget ?? this.tracker.find(() => true) ?? null;
  }

  get isOpen(): boolean {
    return this.widget?.isAttached ?? false;
  }

  /** Open (or bring forward) the view; `activate: false` opens it in the background. */
  open(activate = true): MainAreaWidget<T> {
    let widget = this.widget;
    if (!widget || widget.isDisposed) {
      widget = this._create();
    }
    if (!widget.isAttached) {
      this._options.shell.add(widget, 'main', { activate });
    }
    if (activate) {
      this._options.shell.activateById(widget.id);
    }
    return widget;
  }

  /** Close the view if it is open. */
  close(): void {
    this.widget?.dispose();
  }

  private _create(): MainAreaWidget<T> {
    const options = this._options;
    const widget = new MainAreaWidget({ content: options.create() });
    widget.id = options.id;
    widget.title.label = options.label;
    widget.title.caption = options.caption ?? options.label;
    widget.title.icon = options.icon;
    widget.title.closable = true;
    void this.tracker.add(widget);
    return widget;
  }
}
