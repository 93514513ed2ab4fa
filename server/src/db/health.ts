import type { HealthCheck } from '../services/status';
import type { Database } from './types';

/** The status bar's database light: a round trip, with which backend answered. */
export function databaseHealthCheck(db: Database & { description?: string }): HealthCheck {
  return {
    name: 'database',
    async check() {
      try {
        await db.ping();
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return {
          state: 'down',
          backend: db.backend,
          detail: `The database does not answer: ${reason}`
        };
      }
      return {
        state: 'ok',
        backend: db.backend,
        detail: db.description ?? `Connected (${db.backend}).`
      };
    }
  };
}
