import type { QueryConfig } from 'pg';

/**
 * Names for the statements the embedded database runs again and again, so
 * Postgres parses and plans each once per session instead of on every
 * request: for a list under row-level security, planning was about a third
 * of the query's cost. Postgres keeps such plans correct itself — it plans
 * again when a table changes, and when the role a plan was made for
 * differs (RLS) — so a name only saves work.
 *
 * Bounded: a statement is named once it has come `admitAfter` times, at
 * most `limit` of them, so SQL put together per request (searches) cannot
 * fill the session with plans. Only for PGlite, the one session this
 * process owns: a PostgreSQL server may sit behind a pooler in transaction
 * mode, where a named statement is not there on the next connection.
 */
export class StatementCache {
  private readonly named = new Map<string, string>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly limit = 200,
    private readonly admitAfter = 3
  ) {}

  /** The query as `pg` takes it: with a name once it has earned one. */
  query(text: string, values?: unknown[]): QueryConfig {
    return { text, values, name: this.nameFor(text) };
  }

  private nameFor(text: string): string | undefined {
    const known = this.named.get(text);
    // A name needs the extended protocol: one statement only.
    if (known || this.named.size >= this.limit || text.includes(';')) {
      return known;
    }
    const count = (this.seen.get(text) ?? 0) + 1;
    if (count < this.admitAfter) {
      if (this.seen.size >= 10 * this.limit) {
        this.seen.clear();
      }
      this.seen.set(text, count);
      return undefined;
    }
    this.seen.delete(text);
    const name = `insighter_${this.named.size + 1}`;
    this.named.set(text, name);
    return name;
  }
}
