import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sqlState, SqlState } from '../../src/db/errors';
import { EventHub } from '../../src/events/hub';
import {
  CHANNEL_SOCKET,
  JobChannels,
  jobChannelOf
} from '../../src/jobs/job-channel';
import { SANDBOX_UID } from '../../src/jobs/sandbox';
import { ProjectsService } from '../../src/services/projects';
import { RegistryService } from '../../src/tracking/registry-service';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  silentLogger,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/**
 * Issue 12: how the mark "produced by an Insighter job" is kept out of
 * reach. A job's requests reach the sidecar through a socket of its own,
 * which leads to MLflow's API and the job's own dataset only, and only
 * requests that came through it carry the job (no header can claim it);
 * the marks themselves (public.model_version_provenance) are written by the
 * sidecar alone: a project's people read them and can neither add, change
 * nor remove one — on PGlite and PostgreSQL 15 alike.
 */
const JOB = {
  jobId: '5b0c7c7e-2f5e-4a0a-9d0f-1d7b1c6b9a01',
  runId: 'a'.repeat(32),
  datasetId: '0d4c2b6e-8a55-4b36-9f8e-2b1f3c4d5e6f'
};

/** A request over a unix socket: status and body. */
function overSocket(
  socketPath: string,
  method: string,
  pathname: string
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: pathname }, res => {
      let body = '';
      res.on('data', chunk => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe("a job's socket", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-job-channel-'));
  const channels = new JobChannels();
  // The sidecar's app stand-in: says which job (if any) a request came from.
  const echo: http.RequestListener = (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, job: jobChannelOf(req) ?? null }));
  };
  channels.serve(echo);

  afterAll(async () => {
    await channels.closeAll();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("leads to MLflow's API and the job's own dataset only, and tells the app which job asks", async () => {
    const socket = await channels.open(
      JOB,
      path.join(root, 'jobs', JOB.jobId, 'run')
    );
    expect(socket).toBe(
      path.join(root, 'jobs', JOB.jobId, 'run', CHANNEL_SOCKET)
    );
    for (const [method, pathname] of [
      ['POST', '/api/2.0/mlflow/model-versions/create'],
      ['GET', '/api/2.0/mlflow/runs/get?run_id=x'],
      [
        'PUT',
        '/api/2.0/mlflow-artifacts/artifacts/1/x/artifacts/model/model.pkl'
      ],
      ['GET', `/api/v1/datasets/${JOB.datasetId}/content?version=1&format=csv`]
    ]) {
      const res = await overSocket(socket, method, pathname);
      expect({
        pathname,
        status: res.status,
        body: JSON.parse(res.body)
      }).toEqual({
        pathname,
        status: 200,
        body: { url: pathname, job: JOB }
      });
    }
    for (const [method, pathname] of [
      ['GET', '/api/v1/datasets/11111111-2222-4333-8444-555555555555/content'],
      ['DELETE', `/api/v1/datasets/${JOB.datasetId}/content`],
      ['POST', '/auth/v1/token?grant_type=password'],
      ['GET', '/api/v1/projects'],
      ['POST', '/api/v1/deployments'],
      ['POST', '/api/v1/predict/credit-risk'],
      ['GET', '/storage/v1/object/datasets/uploads/x.csv'],
      ['GET', '/health']
    ]) {
      const res = await overSocket(socket, method, pathname);
      expect({
        pathname,
        status: res.status,
        body: JSON.parse(res.body)
      }).toEqual({
        pathname,
        status: 404,
        body: {
          error_code: 'ENDPOINT_NOT_FOUND',
          message:
            "A job's socket leads to MLflow's REST API and the job's own dataset only."
        }
      });
    }
  });

  it("is the sandbox's to use (nobody may connect), in a folder only its sandbox mounts, gone when the job ended", async () => {
    const dir = path.join(root, 'jobs', 'ended', 'run');
    const socket = await channels.open({ ...JOB, jobId: 'ended' }, dir);
    if (process.getuid?.() === 0) {
      expect(fs.statSync(dir)).toMatchObject({
        uid: SANDBOX_UID,
        mode: expect.any(Number)
      });
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.lstatSync(socket).uid).toBe(SANDBOX_UID);
    }
    await channels.close('ended');
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('is reached when its path is longer than a unix socket path can be', async () => {
    const deep = path.join(root, 'd'.repeat(60), 'e'.repeat(60), 'run');
    const socket = await channels.open({ ...JOB, jobId: 'deep' }, deep);
    expect(Buffer.byteLength(socket)).toBeGreaterThan(107);
    expect(fs.existsSync(socket)).toBe(true);
    await channels.close('deep');
  });

  it('is the only way to be taken for a job: the same app on TCP sees no job, whatever the headers say', async () => {
    const server = http.createServer(echo);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(
        `http://127.0.0.1:${port}/api/2.0/mlflow/model-versions/create`,
        {
          method: 'POST',
          headers: {
            'x-insighter-job': JSON.stringify(JOB),
            'insighter.jobChannel': 'yes'
          }
        }
      );
      expect(await res.json()).toEqual({
        url: '/api/2.0/mlflow/model-versions/create',
        job: null
      });
    } finally {
      server.close();
    }
  });
});

describe.each(BACKENDS)(
  'the marks of versions jobs produced on %s',
  backend => {
    let database: TestDatabase;
    let owner: TestUser;
    let outsider: TestUser;
    let versionId: string;
    let projectId: string;
    const digest = 'f'.repeat(64);

    beforeAll(async () => {
      database = await freshDatabase(backend);
      owner = await createUser(database.db, { fullName: 'Olive Owner' });
      outsider = await createUser(database.db, { fullName: 'Oscar Outsider' });
      const hub = new EventHub(silentLogger);
      const project = await new ProjectsService(database.db, hub).create(
        owner.claims,
        {
          name: 'Credit Risk Marks',
          description: '',
          visibility: 'private',
          team_id: null
        }
      );
      projectId = project.id;
      const registry = new RegistryService(database.db, hub);
      await registry.createModel(owner.claims, { name: project.slug });
      await registry.createVersion(owner.claims, {
        name: project.slug,
        source: 's3://bucket/credit/model'
      });
      const { rows } = await database.db.asService(tx =>
        tx.query<{ id: string }>(
          'select id from public.model_versions where project_id = $1',
          [projectId]
        )
      );
      versionId = rows[0].id;
    }, 60_000);

    afterAll(async () => {
      await database?.close();
    });

    /** Runs `sql` as the user; answers whether it changed a row (false when refused). */
    const changes = async (user: TestUser, sql: string, params: unknown[]) => {
      try {
        return (
          (
            await database.db.withClaims(user.claims, tx =>
              tx.query(sql, params)
            )
          ).rowCount > 0
        );
      } catch (err) {
        if (sqlState(err) === SqlState.insufficientPrivilege) {
          return false;
        }
        throw err;
      }
    };
    const insert = (user: TestUser) =>
      changes(
        user,
        `insert into public.model_version_provenance (version_id, project_id, job_id, files_digest)
       values ($1, $2, gen_random_uuid(), $3)`,
        [versionId, projectId, digest]
      );

    it("cannot be made by the project's own owner, not even for their own version", async () => {
      expect(await insert(owner)).toBe(false);
      expect(await insert(outsider)).toBe(false);
    });

    it('is written by the sidecar alone; then read by the project, and changed or removed by nobody', async () => {
      await database.db.asService(tx =>
        tx.query(
          `insert into public.model_version_provenance (version_id, project_id, job_id, files_digest)
         values ($1, $2, gen_random_uuid(), $3)`,
          [versionId, projectId, digest]
        )
      );
      const read = (user: TestUser) =>
        database.db.withClaims(
          user.claims,
          async tx =>
            (
              await tx.query<{ files_digest: string }>(
                'select files_digest from public.model_version_provenance'
              )
            ).rows
        );
      expect(await read(owner)).toEqual([{ files_digest: digest }]);
      expect(await read(outsider)).toEqual([]);
      const otherDigest = '0'.repeat(64);
      expect(
        await changes(
          owner,
          'update public.model_version_provenance set files_digest = $2 where version_id = $1',
          [versionId, otherDigest]
        )
      ).toBe(false);
      expect(
        await changes(
          owner,
          'delete from public.model_version_provenance where version_id = $1',
          [versionId]
        )
      ).toBe(false);
      expect(await read(owner)).toEqual([{ files_digest: digest }]);
    });

    it('goes with its version', async () => {
      await database.db.asService(tx =>
        tx.query('delete from public.model_versions where id = $1', [versionId])
      );
      const { rows } = await database.db.asService(tx =>
        tx.query(
          'select 1 from public.model_version_provenance where version_id = $1',
          [versionId]
        )
      );
      expect(rows).toEqual([]);
    });
  }
);
