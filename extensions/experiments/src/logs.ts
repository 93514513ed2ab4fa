import type { IInsighterBus, IRunLog } from '@insighter/core';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { TrackingApi } from './api';
import type { IJobLogLine } from './tokens';

/** Lines kept per job: enough for any training log, bounded for a runaway one. */
export const DEFAULT_MAX_LINES = 20_000;

/** Lines asked for per read; a full page means more are waiting. */
export const LOG_PAGE = 5000;

/** The lines whose text contains `query`, ignoring case; all of them for an empty query. */
export function filterLines(
  lines: readonly IJobLogLine[],
  query: string
): IJobLogLine[] {
  const needle = query.trim().toLowerCase();
  if (!needle) {
    return [...lines];
  }
  return lines.filter(line => line.text.toLowerCase().includes(needle));
}

/**
 * A job's log lines in order, each once (by its number `n`), the oldest
 * dropped past `maxLines`, with a search that narrows what is shown.
 */
export class LogBuffer {
  private _lines: IJobLogLine[] = [];
  private _search = '';
  private _visible: IJobLogLine[] | null = null;
  private _dropped = 0;
  private readonly _changed = new Signal<this, void>(this);

  constructor(readonly maxLines = DEFAULT_MAX_LINES) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get lines(): readonly IJobLogLine[] {
    return this._lines;
  }

  /** The highest line number held, or -1 before the first line. */
  get lastN(): number {
    return this._lines.length ? this._lines[this._lines.length - 1].n : -1;
  }

  /** How many old lines were let go to stay within `maxLines`. */
  get dropped(): number {
    return this._dropped;
  }

  get search(): string {
    return this._search;
  }

  set search(query: string) {
    if (query !== this._search) {
      this._search = query;
      this._visible = null;
      this._changed.emit();
    }
  }

  /** The lines the search lets through. */
  get visible(): readonly IJobLogLine[] {
    this._visible ??= filterLines(this._lines, this._search);
    return this._visible;
  }

  /** Adds lines not held yet (by number); returns how many were new. */
  append(lines: readonly IJobLogLine[]): number {
    const last = this.lastN;
    const fresh = lines
      .filter(line => line.n > last)
      .sort((a, b) => a.n - b.n)
      .filter((line, i, all) => i === 0 || line.n !== all[i - 1].n);
    if (fresh.length === 0) {
      return 0;
    }
    this._lines = this._lines.concat(fresh);
    const excess = this._lines.length - this.maxLines;
    if (excess > 0) {
      this._lines = this._lines.slice(excess);
      this._dropped += excess;
    }
    this._visible = null;
    this._changed.emit();
    return fresh.length;
  }

  clear(): void {
    this._lines = [];
    this._visible = null;
    this._dropped = 0;
    this._changed.emit();
  }
}

export interface IJobLogFollowerOptions {
  api: Pick<TrackingApi, 'jobLogs'>;
  bus: IInsighterBus;
  jobId: string;
  /** The run the job logs to: its `run.log` events say new lines are there. */
  runId: string;
  maxLines?: number;
}

/**
 * Keeps one job's log current: all lines read once, then, on every
 * `run.log` event of its run, the lines after the last one held. The event
 * says that lines were written; they are read from the job's log route
 * because only those carry their numbers: an event that crossed the first
 * read would otherwise show its lines twice. One read at a time; events that
 * arrive meanwhile are served by one more read.
 */
export class JobLogFollower implements IDisposable {
  readonly buffer: LogBuffer;
  readonly jobId: string;
  readonly runId: string;
  private readonly _api: IJobLogFollowerOptions['api'];
  private readonly _bus: IInsighterBus;
  private _done = false;
  private _error: string | null = null;
  private _reading: Promise<void> | null = null;
  private _again = false;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IJobLogFollowerOptions) {
    this.jobId = options.jobId;
    this.runId = options.runId;
    this._api = options.api;
    this._bus = options.bus;
    this.buffer = new LogBuffer(options.maxLines);
    this._bus.runLog.connect(this._onLog, this);
  }

  /** Fires when `done` or `error` changed (the buffer has its own signal). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The job's log is complete: no line will follow. */
  get done(): boolean {
    return this._done;
  }

  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Reads what is new now (page after page); resolves once the buffer holds it. */
  read(): Promise<void> {
    if (this._reading) {
      this._again = true;
      return this._reading;
    }
    const reading = this._readLoop().finally(() => {
      this._reading = null;
    });
    this._reading = reading;
    return reading;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.runLog.disconnect(this._onLog, this);
    Signal.clearData(this);
    Signal.clearData(this.buffer);
  }

  private async _readLoop(): Promise<void> {
    do {
      this._again = false;
      const since = this.buffer.lastN;
      try {
        // The route answers lines numbered `since` and after: the last one held comes again.
        const answer = await this._api.jobLogs(
          this.jobId,
          since >= 0 ? since : undefined,
          LOG_PAGE
        );
        if (this._isDisposed) {
          return;
        }
        this.buffer.append(answer.lines);
        if (answer.lines.length >= LOG_PAGE) {
          this._again = true;
        }
        const changed = this._error !== null || answer.done !== this._done;
        this._error = null;
        this._done = answer.done;
        if (changed) {
          this._changed.emit();
        }
      } catch (reason) {
        if (this._isDisposed) {
          return;
        }
        this._error = reason instanceof Error ? reason.message : String(reason);
        this._changed.emit();
        return;
      }
    } while (this._again && !this._isDisposed);
  }

  private _onLog(_: IInsighterBus, log: IRunLog): void {
    if (log.runId === this.runId) {
      void this.read();
    }
  }
}
