import path from 'node:path';
import type { MigrationSource } from './migrations';

// Resolves to server/src from both src/db (ts-jest) and lib/db (built): the
// SQL files ship in src/, which the package publishes alongside lib/.
const SERVER_SRC = path.resolve(__dirname, '..', '..', 'src');
const REPO_ROOT = path.resolve(SERVER_SRC, '..', '..');

/**
 * What every database gets, in order:
 * 1. `bootstrap`: roles, the auth/storage/extensions schemas, auth.users and
 *    auth.uid() & co. — what a Supabase project already has (embedded only);
 * 2. `auth`: embedded auth's own tables (refresh tokens, outbox), any
 *    `*.sql` in server/src/auth/sql (embedded only);
 * 3. `app`: supabase/migrations, the schema Supabase's CLI applies too.
 */
export function defaultMigrationSources(): MigrationSource[] {
  return [
    {
      name: 'bootstrap',
      dir: path.join(SERVER_SRC, 'db', 'bootstrap'),
      embeddedOnly: true
    },
    {
      name: 'auth',
      dir: path.join(SERVER_SRC, 'auth', 'sql'),
      embeddedOnly: true,
      optional: true
    },
    {
      name: 'app',
      dir: path.join(REPO_ROOT, 'supabase', 'migrations'),
      embeddedOnly: false
    }
  ];
}
