import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import type { LogBuffer } from '../logs';

/** Lines drawn at most: the newest; the search reaches all that are held. */
const RENDERED_LINES = 2000;

export interface ILogViewProps {
  buffer: LogBuffer;
  trans: TranslationBundle;
  /** Keep the newest line in view as lines arrive. */
  follow: boolean;
  onFollowChange: (follow: boolean) => void;
  /** Shown under the lines, e.g. "The job ended." or a read error. */
  footer?: string | null;
  emptyText?: string;
}

/**
 * A job's log: a search box that narrows the lines, a follow toggle, the
 * lines (stderr marked). Scrolling up stops following; scrolling back to the
 * end resumes it.
 */
export class LogView extends React.Component<ILogViewProps> {
  private readonly _scroller = React.createRef<HTMLDivElement>();
  private _programmatic = false;

  componentDidMount(): void {
    this._scrollToEnd();
  }

  componentDidUpdate(): void {
    this._scrollToEnd();
  }

  render(): React.ReactElement {
    const { buffer, trans, follow, footer } = this.props;
    const visible = buffer.visible;
    const shown = visible.slice(-RENDERED_LINES);
    return (
      <div className="jp-insighter-LogView">
        <div className="jp-insighter-LogView-toolbar">
          <input
            type="search"
            className="jp-insighter-monitor-log-search jp-mod-styled"
            placeholder={trans.__('Search the log')}
            aria-label={trans.__('Search the log')}
            value={buffer.search}
            onChange={event => {
              buffer.search = event.currentTarget.value;
            }}
          />
          <label className="jp-insighter-LogView-follow">
            <input
              type="checkbox"
              className="jp-insighter-monitor-follow"
              checked={follow}
              onChange={event =>
                this.props.onFollowChange(event.currentTarget.checked)
              }
            />
            {trans.__('Follow')}
          </label>
          <span
            className="jp-insighter-Experiments-muted"
            data-testid="insighter-log-count"
          >
            {buffer.search
              ? trans.__('%1 of %2 lines', visible.length, buffer.lines.length)
              : trans._n('%1 line', '%1 lines', buffer.lines.length)}
          </span>
        </div>
        <div
          className="jp-insighter-LogView-lines"
          ref={this._scroller}
          onScroll={this._onScroll}
          role="log"
          aria-live="off"
        >
          {visible.length > shown.length && (
            <div className="jp-insighter-Experiments-muted">
              {trans.__(
                '%1 earlier lines not shown',
                visible.length - shown.length
              )}
            </div>
          )}
          {shown.map(line => (
            <div
              key={line.n}
              className="jp-insighter-monitor-log-line"
              data-n={line.n}
              data-stream={line.stream}
            >
              {line.text}
            </div>
          ))}
          {buffer.lines.length === 0 && (
            <div className="jp-insighter-Experiments-muted">
              {this.props.emptyText ?? trans.__('No log lines yet.')}
            </div>
          )}
        </div>
        {footer && <div className="jp-insighter-LogView-footer">{footer}</div>}
      </div>
    );
  }

  private _scrollToEnd(): void {
    const node = this._scroller.current;
    if (node && this.props.follow) {
      this._programmatic = true;
      node.scrollTop = node.scrollHeight;
    }
  }

  private _onScroll = (): void => {
    const node = this._scroller.current;
    if (!node) {
      return;
    }
    if (this._programmatic) {
      this._programmatic = false;
      return;
    }
    const atEnd = node.scrollHeight - node.scrollTop - node.clientHeight < 8;
    if (atEnd !== this.props.follow) {
      this.props.onFollowChange(atEnd);
    }
  };
}
