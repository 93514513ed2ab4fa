import { loadJwtKeys } from '../../src/auth/keys';
import { createEmbeddedStorage } from '../../src/storage';
import { createTracking, type Tracking } from '../../src/tracking';
import {
  connectEvents,
  startProjectsTestServer,
  type ApiAnswer,
  type EventClient,
  type ProjectsTestServer,
  type SignedInUser
} from '../projects/harness';
import {
  silentLogger,
  type TestBackend,
  type TestDatabase
} from '../support/postgres';

/**
 * The sidecar with tracking as `startSidecar` wires it — projects, the
 * embedded Storage (artifacts), the built-in MLflow-compatible API and the
 * event stream — on a real port over a fresh migrated database (PGlite or
 * PostgreSQL 15), on top of the projects harness.
 */
export interface TrackingTestServer extends ProjectsTestServer {
  tracking: Tracking;
  /**
   * An MLflow call as `user`: GET sends `fields` as the query string, other
   * methods as a JSON body. `endpoint` is relative to /api/2.0/mlflow/.
   */
  mlflow(
    user: SignedInUser | null,
    method: string,
    endpoint: string,
    fields?: Record<string, unknown>
  ): Promise<ApiAnswer>;
  /** `/api/v1/events` as `user`. */
  events(user: SignedInUser): Promise<EventClient>;
  /** A project of `owner` (a team project when `teamId` is given): its id and slug. */
  project(
    owner: SignedInUser,
    name: string,
    teamId?: string
  ): Promise<{ id: string; slug: string }>;
}

/** Generous for tests: large enough for every artifact they upload. */
const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;

export async function startTrackingTestServer(
  backend: TestBackend = 'pglite',
  /** A database opened by the caller instead of a fresh one of `backend`. */
  database?: TestDatabase
): Promise<TrackingTestServer> {
  let tracking: Tracking | undefined;
  const t = await startProjectsTestServer({
    backend,
    database,
    async extend({ db, hub, dataDir }) {
      const storage = await createEmbeddedStorage({
        dataDir,
        db,
        jwtSecret: (await loadJwtKeys(dataDir)).secret,
        maxObjectBytes: MAX_ARTIFACT_BYTES,
        logger: silentLogger
      });
      tracking = createTracking({ db, events: hub, storage: storage.service });
      return {
        deps: { tracking, storage: storage.service },
        close: () => storage.close()
      };
    }
  });
  return Object.assign(t, {
    tracking: tracking!,
    async mlflow(
      user: SignedInUser | null,
      method: string,
      endpoint: string,
      fields: Record<string, unknown> = {}
    ) {
      if (method === 'GET') {
        const query = new URLSearchParams();
        for (const [key, value] of Object.entries(fields)) {
          for (const item of Array.isArray(value) ? value : [value]) {
            query.append(key, String(item));
          }
        }
        return t.api(user, 'GET', `/api/2.0/mlflow/${endpoint}?${query}`);
      }
      return t.api(user, method, `/api/2.0/mlflow/${endpoint}`, fields);
    },
    events: (user: SignedInUser) =>
      connectEvents(t.url, { header: `Bearer ${user.token}` }),
    async project(owner: SignedInUser, name: string, teamId?: string) {
      const res = await t.api(
        owner,
        'POST',
        '/api/v1/projects',
        teamId ? { name, visibility: 'team', team_id: teamId } : { name }
      );
      if (res.status !== 201) {
        throw new Error(`Could not create project: ${JSON.stringify(res.body)}`);
      }
      return { id: res.body.id as string, slug: res.body.slug as string };
    }
  });
}
