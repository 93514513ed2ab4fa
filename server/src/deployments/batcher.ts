import type { Row } from './predict-input';

/**
 * Micro-batching in front of one scoring worker. Requests that arrive while
 * the worker is busy (or within the same turn of the event loop) go to it as
 * one batch: scikit-learn and XGBoost take about as long for 30 rows as for
 * one, so under load a batch answers many requests for the price of one.
 * When idle, a request is sent at once — no timer adds latency.
 *
 * A batch the model refuses (e.g. an unknown category in one request, with
 * an encoder that rejects those) is sent again request by request, so only
 * the request at fault fails.
 */
export class BatchRefusedError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

interface Pending {
  rows: Row[];
  resolve(predictions: unknown[]): void;
  reject(err: unknown): void;
}

export interface BatcherOptions {
  /** Requests are joined until a batch holds this many rows (a larger request goes alone). */
  maxRows: number;
  /** Batches sent before the previous answered (1: the worker predicts one at a time anyway). */
  maxInFlight: number;
}

export class MicroBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly send: (rows: Row[]) => Promise<unknown[]>,
    private readonly options: BatcherOptions
  ) {}

  /** This request's predictions, one per row. */
  submit(rows: Row[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.schedule();
    });
  }

  /** Requests waiting or being answered. */
  get load(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves once every submitted request was answered. */
  idle(): Promise<void> {
    if (this.load === 0) {
      return Promise.resolve();
    }
    return new Promise(resolve => this.idleWaiters.push(resolve));
  }

  /** Fails every waiting request (e.g. the worker is gone). */
  failWaiting(err: unknown): void {
    const waiting = this.queue;
    this.queue = [];
    waiting.forEach(p => p.reject(err));
    this.checkIdle();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) {
      return;
    }
    this.scheduled = true;
    // Requests parsed in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch: Pending[] = [];
      let rows = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0];
        if (batch.length > 0 && rows + next.rows.length > this.options.maxRows) {
          break;
        }
        batch.push(this.queue.shift() as Pending);
        rows += next.rows.length;
      }
      this.inFlight++;
      this.run(batch, rows).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) {
          this.flush();
        }
        this.checkIdle();
      });
    }
  }

  private async run(batch: Pending[], rowCount: number): Promise<void> {
    const rows = batch.length === 1 ? batch[0].rows : batch.flatMap(p => p.rows);
    let predictions: unknown[];
    try {
      predictions = await this.send(rows);
    } catch (err) {
      if (err instanceof BatchRefusedError && batch.length > 1) {
        for (const pending of batch) {
          await this.send(pending.rows).then(pending.resolve, pending.reject);
        }
        return;
      }
      batch.forEach(p => p.reject(err));
      return;
    }
    if (!Array.isArray(predictions) || predictions.length !== rowCount) {
      const err = new Error(
        `The model answered ${Array.isArray(predictions) ? predictions.length : 'no'} predictions for ${rowCount} rows.`
      );
      batch.forEach(p => p.reject(err));
      return;
    }
    let offset = 0;
    for (const pending of batch) {
      const n = pending.rows.length;
      pending.resolve(batch.length === 1 ? predictions : predictions.slice(offset, offset + n));
      offset += n;
    }
  }

  private checkIdle(): void {
    if (this.load === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach(wake => wake());
    }
  }
}
