import type { ISidecarClient } from '@insighter/core';
import type { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import type { IOutboxList, IOutboxMail, IOutboxSummary } from './types';

export interface IOutboxModelOptions {
  client: Pick<ISidecarClient, 'request'>;
  /** Seconds between checks for new mail while someone looks; 0 turns it off. */
  pollInterval?: number;
}

/** How many mails the list shows (the sidecar allows up to 200). */
const LIST_LIMIT = 50;

/**
 * The embedded mailbox (`/api/v1/outbox`): the list, newest first, and the
 * mail opened. Polls while the outbox is on screen, so a mail sent from
 * another tab shows up without a click; stops when the page is hidden.
 */
export class OutboxModel implements IDisposable {
  private readonly _client: Pick<ISidecarClient, 'request'>;
  private readonly _poll: Poll;
  private _messages: IOutboxSummary[] = [];
  private _selected: IOutboxMail | null = null;
  private _error: string | null = null;
  private _loading = false;
  private _loaded = false;
  private _pollInterval: number;
  private _active = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IOutboxModelOptions) {
    this._client = options.client;
    this._pollInterval = Math.max(0, options.pollInterval ?? 5);
    this._poll = new Poll({
      factory: () => this._list(),
      frequency: this._frequency(),
      standby: () => !this._active || this._pollInterval === 0 || 'when-hidden',
      name: '@insighter/auth:outbox',
      auto: false
    });
  }

  get messages(): readonly IOutboxSummary[] {
    return this._messages;
  }

  /** The mail opened, with its bodies; `null` when none is. */
  get selected(): IOutboxMail | null {
    return this._selected;
  }

  /** Why the last request failed; `null` after a successful one. */
  get error(): string | null {
    return this._error;
  }

  get loading(): boolean {
    return this._loading;
  }

  /** True once the list has been fetched at least once. */
  get loaded(): boolean {
    return this._loaded;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Someone looks at the outbox: list now and keep it fresh. */
  activate(): void {
    this._active = true;
    void this._poll.start();
    void this.refresh();
  }

  /** Nobody looks: stop asking. */
  deactivate(): void {
    this._active = false;
  }

  /** Seconds between checks; 0 stops polling (the list refreshes on demand). */
  set pollInterval(seconds: number) {
    this._pollInterval = Math.max(0, seconds);
    this._poll.frequency = this._frequency();
  }

  get pollInterval(): number {
    return this._pollInterval;
  }

  async refresh(): Promise<void> {
    await this._list();
  }

  /** Fetch one mail with its bodies and show it. */
  async open(id: string): Promise<void> {
    try {
      this._selected = await this._client.request<IOutboxMail>(
        `api/v1/outbox/${encodeURIComponent(id)}`
      );
      this._error = null;
    } catch (reason) {
      this._error = messageOf(reason);
    }
    this._emit();
  }

  /** Back to the list. */
  close(): void {
    if (this._selected) {
      this._selected = null;
      this._emit();
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _list(): Promise<void> {
    this._loading = true;
    this._emit();
    try {
      const answer = await this._client.request<IOutboxList>(
        `api/v1/outbox?limit=${LIST_LIMIT}`
      );
      this._messages = newestFirst(answer.messages ?? []);
      this._error = null;
      this._loaded = true;
    } catch (reason) {
      this._error = messageOf(reason);
    } finally {
      this._loading = false;
    }
    this._emit();
  }

  private _frequency(): IPoll.Frequency {
    const interval = Math.max(1, this._pollInterval) * 1000;
    return { interval, backoff: true, max: interval * 6 };
  }

  private _emit(): void {
    if (!this.isDisposed) {
      this._changed.emit();
    }
  }
}

/** The sidecar sorts already; sorting again keeps the promise if it ever does not. */
function newestFirst(messages: IOutboxSummary[]): IOutboxSummary[] {
  return [...messages].sort((a, b) => b.created_at.localeCompare(a.created_at));
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
