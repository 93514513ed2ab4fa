import type { HealthCheck } from '../services/status';
import { errorMessage } from './errors';
import type { Database } from './types';

/** The status bar's database light: a round trip, with which backend answered. */
export function databaseHealthCheck(db: Database): HealthCheck {
  return {
    name: 'database',
    async check() {
      try {
        await db.ping();
      } catch (err) {
        return {
          state: 'down',
          backend: db.backend,
          detail: `The database does not answer: ${errorMessage(err)}`
        };
      }
      return {
        state: 'ok',
        backend: db.backend,
        detail: db.description
      };
    }
  };
}
