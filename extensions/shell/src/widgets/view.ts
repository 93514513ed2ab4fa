import { ReactWidget } from '@jupyterlab/ui-components';
import type { ViewName } from '../navigation';

/** The content of one of the shell's main-area views. */
export abstract class InsighterView extends ReactWidget {
  constructor(readonly viewName: ViewName) {
    super();
    this.addClass('jp-insighter-View');
    this.node.dataset.insighterView = viewName;
  }
}
