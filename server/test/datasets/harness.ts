import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  DATASETS_BUCKET,
  DatasetFiles
} from '../../src/adapters/dataset-files';
import { createApp } from '../../src/app';
import { loadJwtKeys } from '../../src/auth/keys';
import { EventHub } from '../../src/events/hub';
import { attachEventStream, type EventStream } from '../../src/events/stream';
import { DatasetsService } from '../../src/services/datasets';
import { ProjectsService } from '../../src/services/projects';
import { StatusService } from '../../src/services/status';
import { TeamsService } from '../../src/services/teams';
import { createEmbeddedStorage, type EmbeddedStorage } from '../../src/storage';
import {
  signedUpUser,
  startAuthTestServer,
  type AuthTestServer
} from '../auth/support';
import { silentLogger, type TestBackend } from '../support/postgres';

/**
 * The sidecar as `startSidecar` wires it for the data catalog — auth,
 * the embedded `/storage/v1`, projects, teams, datasets and the event
 * stream in one app on a real port — over a fresh migrated database (PGlite
 * or PostgreSQL 15). People sign up through the public auth flow; dataset
 * files go through supabase-js to this same server's Storage, as in
 * embedded mode. With `spool: true` the profiler reads a spool copy of the
 * upload instead of the stored object, as with a hosted project's Storage.
 */
export interface DatasetsTestServer {
  url: string;
  auth: AuthTestServer;
  storage: EmbeddedStorage;
  datasets: DatasetsService;
  hub: EventHub;
  dataDir: string;
  /** A confirmed, signed-in person (real sign-up, real access token). */
  person(fullName?: string): Promise<Person>;
  /** A private project of `owner`, or a team project. */
  project(owner: Person, teamId?: string): Promise<string>;
  /** A team of `owner` with the others added at the given roles. */
  team(owner: Person, members: [Person, TeamRole][]): Promise<string>;
  /** A JSON request as `person` (no Authorization for null). */
  api(
    person: Person | null,
    method: string,
    pathname: string,
    body?: unknown
  ): Promise<ApiAnswer>;
  /** `POST /api/v1/datasets` with a raw body. */
  upload(
    person: Person,
    query: Record<string, string>,
    body: Buffer | string,
    contentType?: string
  ): Promise<ApiAnswer>;
  /** `POST /api/v1/datasets` as multipart/form-data (fields first, then the file). */
  uploadForm(
    person: Person,
    fields: Record<string, string>,
    file: { name: string; bytes: Buffer | string; type?: string },
    query?: Record<string, string>
  ): Promise<ApiAnswer>;
  /** What the catalog and Storage hold, to prove nothing was left behind. */
  holdings(): Promise<Holdings>;
  close(): Promise<void>;
}

export type TeamRole = 'viewer' | 'member' | 'admin' | 'owner';

export interface Person {
  id: string;
  email: string;
  token: string;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface Holdings {
  datasets: number;
  versions: number;
  unfinished: number;
  /** Rows of `storage.objects` in the uploads bucket. */
  objects: string[];
  /** Files under the uploads bucket's folder. */
  files: string[];
  /** Storage's temp files, the spool files and DuckDB's work folders. */
  temp: string[];
}

export async function startDatasetsTestServer(
  options: {
    backend?: TestBackend;
    env?: Record<string, string>;
    spool?: boolean;
  } = {}
): Promise<DatasetsTestServer> {
  const auth = await startAuthTestServer({
    backend: options.backend,
    env: options.env
  });
  const keys = await loadJwtKeys(auth.dataDir);
  const storage = await createEmbeddedStorage({
    dataDir: auth.dataDir,
    db: auth.db,
    jwtSecret: keys.secret,
    maxObjectBytes: auth.config.storage.maxObjectBytes,
    logger: silentLogger
  });
  const hub = new EventHub(silentLogger);
  let url = '';
  const datasets = new DatasetsService({
    db: auth.db,
    events: hub,
    files: new DatasetFiles({
      url: () => url,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      localFile: options.spool
        ? undefined
        : key => storage.store.objectPath(DATASETS_BUCKET, key)
    }),
    dataDir: auth.dataDir,
    maxUploadBytes: auth.config.datasets.maxUploadBytes,
    logger: silentLogger
  });
  await datasets.ingest.prepare();
  const app = createApp({
    config: auth.config,
    logger: silentLogger,
    status: new StatusService([storage.health], 'test'),
    auth: auth.auth,
    projects: new ProjectsService(auth.db, hub),
    teams: new TeamsService(auth.db),
    datasets,
    storage: storage.service
  });
  const server = http.createServer(app);
  const stream: EventStream = attachEventStream(server, {
    hub,
    db: auth.db,
    verifier: auth.auth.verifier,
    logger: silentLogger
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request = async (
    person: Person | null,
    method: string,
    pathname: string,
    init: { body?: RequestInit['body']; headers?: Record<string, string> } = {}
  ): Promise<ApiAnswer> => {
    const headers: Record<string, string> = { ...init.headers };
    if (person) {
      headers.authorization = `Bearer ${person.token}`;
    }
    const res = await fetch(`${url}${pathname}`, {
      method,
      headers,
      body: init.body
    });
    const text = await res.text();
    let body: unknown = text;
    if (res.headers.get('content-type')?.includes('application/json')) {
      body = text ? JSON.parse(text) : undefined;
    }
    return { status: res.status, headers: res.headers, body };
  };
  const withQuery = (query: Record<string, string>) => {
    const search = new URLSearchParams(query).toString();
    return `/api/v1/datasets${search ? `?${search}` : ''}`;
  };

  const temp = () =>
    [
      path.join(auth.dataDir, 'storage', '.tmp'),
      path.join(auth.dataDir, 'datasets', 'tmp')
    ].flatMap(dir =>
      fs.existsSync(dir)
        ? fs.readdirSync(dir).map(name => path.join(dir, name))
        : []
    );

  return {
    url,
    auth,
    storage,
    datasets,
    hub,
    dataDir: auth.dataDir,
    async person(fullName) {
      const signedUp = await signedUpUser(auth, { fullName });
      return {
        id: signedUp.user.id,
        email: signedUp.email,
        token: signedUp.session.access_token
      };
    },
    async project(owner, teamId) {
      const res = await request(owner, 'POST', '/api/v1/projects', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `Project ${Math.random().toString(36).slice(2, 8)}`,
          ...(teamId ? { visibility: 'team', team_id: teamId } : {})
        })
      });
      if (res.status !== 201) {
        throw new Error(`project: ${res.status} ${JSON.stringify(res.body)}`);
      }
      return res.body.id;
    },
    async team(owner, members) {
      const res = await request(owner, 'POST', '/api/v1/teams', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `Team ${Math.random().toString(36).slice(2, 8)}`
        })
      });
      if (res.status !== 201) {
        throw new Error(`team: ${res.status} ${JSON.stringify(res.body)}`);
      }
      const teamId = res.body.id as string;
      // People join teams through invitations; tests add them directly.
      for (const [member, role] of members) {
        await auth.db.asService(tx =>
          tx.query(
            'insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)',
            [teamId, member.id, role]
          )
        );
      }
      return teamId;
    },
    api(person, method, pathname, body) {
      return request(
        person,
        method,
        pathname,
        body === undefined
          ? {}
          : {
              headers: { 'content-type': 'application/json' },
              body: typeof body === 'string' ? body : JSON.stringify(body)
            }
      );
    },
    upload(person, query, body, contentType = 'text/csv') {
      return request(person, 'POST', withQuery(query), {
        headers: { 'content-type': contentType },
        body: typeof body === 'string' ? body : new Uint8Array(body)
      });
    },
    uploadForm(person, fields, file, query = {}) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) {
        form.append(name, value);
      }
      form.append(
        'file',
        new Blob(
          [
            typeof file.bytes === 'string'
              ? file.bytes
              : new Uint8Array(file.bytes)
          ],
          {
            type: file.type ?? 'text/csv'
          }
        ),
        file.name
      );
      return request(person, 'POST', withQuery(query), { body: form });
    },
    async holdings() {
      const counts = await auth.db.asService(tx =>
        tx.query<{ datasets: number; versions: number; unfinished: number }>(
          `select (select count(*)::int from public.datasets) as datasets,
                  (select count(*)::int from public.dataset_versions) as versions,
                  (select count(*)::int from public.dataset_versions
                    where status <> 'ready') as unfinished`
        )
      );
      const objects = await auth.db.asService(tx =>
        tx.query<{ name: string }>(
          "select name from storage.objects where bucket_id = 'uploads' order by name"
        )
      );
      return {
        ...counts.rows[0],
        objects: objects.rows.map(r => r.name),
        files: listFiles(path.join(auth.dataDir, 'storage', 'uploads')),
        temp: temp()
      };
    },
    async close() {
      await stream.close();
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
      await storage.close();
      await auth.close();
    }
  };
}

/** Every file under `dir`, as paths relative to it. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter(entry => fs.statSync(path.join(dir, entry)).isFile())
    .sort();
}

/** Polls `probe` until it returns true (cleanup after an aborted request is asynchronous). */
export async function eventually(
  probe: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 5000
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, 25));
  }
}
