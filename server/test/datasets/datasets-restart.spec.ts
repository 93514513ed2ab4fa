import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { openDatabase } from '../../src/db/open';
import { makeClient, uniqueEmail, GOOD_PASSWORD } from '../auth/support';
import { BACKENDS, silentLogger } from '../support/postgres';
import {
  exited,
  seedMigratedDataDir,
  startSidecarProcess
} from '../support/sidecar-process';
import {
  eventually,
  listFiles,
  startDatasetsTestServer,
  type DatasetsTestServer
} from './harness';

/**
 * A sidecar killed while it receives a file: once started again on the
 * same data dir, no trace of that upload is left — no dataset or version
 * row, no stored object, no spool or temp file — and finished datasets
 * are untouched.
 */
describe('a sidecar killed mid-upload', () => {
  const dataDir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-datasets-kill-')
  );
  let child: ChildProcess | undefined;

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('restarts with no record, object or spool of that upload', async () => {
    await seedMigratedDataDir(dataDir);
    const env = { INSIGHTER_AUTH_AUTOCONFIRM: 'true' };
    const first = await startSidecarProcess(dataDir, env);
    child = first.process;

    const config = (await (
      await fetch(`${first.url}/api/v1/config`)
    ).json()) as {
      supabase_anon_key: string;
    };
    const client = makeClient(first.url, config.supabase_anon_key);
    const { data, error } = await client.auth.signUp({
      email: uniqueEmail('kill'),
      password: GOOD_PASSWORD,
      options: { data: { full_name: 'Kim Kill' } }
    });
    expect(error).toBeNull();
    const token = data.session!.access_token;
    const api = async (
      base: string,
      method: string,
      pathname: string,
      body?: unknown
    ) => {
      const res = await fetch(`${base}${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      return {
        status: res.status,
        body: (await res.json().catch(() => undefined)) as any
      };
    };
    const project = await api(first.url, 'POST', '/api/v1/projects', {
      name: 'Kill test'
    });
    expect(project.status).toBe(201);
    const projectId = project.body.id as string;
    const kept = await fetch(
      `${first.url}/api/v1/datasets?project_id=${projectId}&name=kept`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'text/csv'
        },
        body: 'a,b\n1,2\n3,4\n'
      }
    );
    expect(kept.status).toBe(201);
    const keptRecord = (await kept.json()) as { id: string };

    // A slow upload: rows trickle in until the catalog shows it uploading.
    const url = new URL(`${first.url}/api/v1/datasets`);
    url.search = new URLSearchParams({
      project_id: projectId,
      name: 'slow'
    }).toString();
    const req = http.request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }
    });
    req.on('error', () => undefined);
    req.write('id,value\n');
    const rows =
      Array.from({ length: 2000 }, (_, i) => `${i},${i * 3}`).join('\n') + '\n';
    let uploading = false;
    const deadline = Date.now() + 20_000;
    while (!uploading && Date.now() < deadline) {
      req.write(rows);
      await new Promise(resolve => setTimeout(resolve, 50));
      const list = await api(
        first.url,
        'GET',
        `/api/v1/datasets?project_id=${projectId}`
      );
      uploading = list.body.datasets.some(
        (d: { name: string; status: string }) =>
          d.name === 'slow' && d.status === 'uploading'
      );
    }
    expect(uploading).toBe(true);
    const spools = path.join(dataDir, 'datasets', 'tmp');
    const storageTemp = path.join(dataDir, 'storage', '.tmp');
    // The bytes are on their way into Storage's temp file (the profiler
    // will read the stored object: embedded Storage needs no spool).
    await eventually(
      () => fs.readdirSync(storageTemp).length > 0,
      'the Storage temp file',
      10_000
    );

    first.process.kill('SIGKILL');
    await exited(first.process);
    req.destroy();

    const second = await startSidecarProcess(dataDir, env);
    child = second.process;
    await eventually(
      () =>
        second.logs.some(l => l.msg === 'datasets: removed unfinished uploads'),
      'the start-up sweep',
      20_000
    );
    expect(
      second.logs.find(l => l.msg === 'datasets: removed unfinished uploads')
    ).toMatchObject({
      versions: 1,
      datasets: 1
    });
    const after = await api(
      second.url,
      'GET',
      `/api/v1/datasets?project_id=${projectId}`
    );
    expect(after.body.datasets.map((d: { name: string }) => d.name)).toEqual([
      'kept'
    ]);
    second.process.kill('SIGTERM');
    await exited(second.process);

    const { db } = await openDatabase(
      { backend: 'pglite', dataDir: path.join(dataDir, 'db') },
      { logger: silentLogger }
    );
    try {
      const left = await db.asService(tx =>
        tx.query<{ datasets: string[]; versions: number; objects: string[] }>(
          `select array(select name from public.datasets order by name) as datasets,
                  (select count(*)::int from public.dataset_versions) as versions,
                  array(select name from storage.objects where bucket_id = 'uploads') as objects`
        )
      );
      expect(left.rows[0].datasets).toEqual(['kept']);
      expect(left.rows[0].versions).toBe(1);
      expect(left.rows[0].objects).toEqual([
        `${data.user!.id}/${keptRecord.id}/kept.csv`
      ]);
    } finally {
      await db.close();
    }
    expect(listFiles(path.join(dataDir, 'storage', 'uploads'))).toEqual([
      path.join(data.user!.id, keptRecord.id, 'kept.csv')
    ]);
    expect(fs.readdirSync(spools)).toEqual([]);
    expect(fs.readdirSync(storageTemp)).toEqual([]);
  }, 120_000);
});

describe.each(BACKENDS)('the start-up sweep on %s', backend => {
  let t: DatasetsTestServer;

  beforeAll(async () => {
    t = await startDatasetsTestServer({ backend });
  });

  afterAll(async () => {
    await t?.close();
  });

  it("removes this sidecar's unfinished uploads with their stored objects, and nobody else's recent ones", async () => {
    const alice = await t.person();
    const projectId = await t.project(alice);
    const good = await t.upload(
      alice,
      { project_id: projectId, name: 'good' },
      'a,b\n1,2\n'
    );
    expect(good.status).toBe(201);
    const instance = fs
      .readFileSync(path.join(t.dataDir, 'datasets', 'instance-id'), 'utf8')
      .trim();

    // What a kill during validation leaves: a row and its stored object.
    const unfinished = async (
      name: string,
      ingestInstance: string,
      age: string
    ) => {
      const [row] = await t.auth.db.asService(async tx => {
        const dataset = await tx.query<{ id: string }>(
          `insert into public.datasets (project_id, name, owner_id, created_at)
             values ($1, $2, $3, now() - $4::interval) returning id`,
          [projectId, name, alice.id, age]
        );
        const id = dataset.rows[0].id;
        const objectPath = `${alice.id}/${id}/${name}.csv`;
        await tx.query(
          `insert into public.dataset_versions
               (dataset_id, version, status, format, file_name, content_type, object_path,
                uploaded_by, ingest_instance, created_at)
             values ($1, 1, 'validating', 'csv', $2, 'text/csv', $3, $4, $5, now() - $6::interval)`,
          [id, `${name}.csv`, objectPath, alice.id, ingestInstance, age]
        );
        return [{ id, objectPath }];
      });
      const stored = await fetch(
        `${t.url}/storage/v1/object/uploads/${row.objectPath}`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${alice.token}`,
            'content-type': 'text/csv'
          },
          body: 'x,y\n1,2\n'
        }
      );
      expect(stored.status).toBe(200);
      return row;
    };
    const mine = await unfinished('mine', instance, '1 minute');
    const othersRecent = await unfinished(
      'others-recent',
      'another-sidecar',
      '1 minute'
    );
    const othersAbandoned = await unfinished(
      'others-abandoned',
      'another-sidecar',
      '2 days'
    );

    const result = await t.datasets.ingest.sweep(new Date());
    expect(result).toEqual({ versions: 2, datasets: 2 });
    const holdings = await t.holdings();
    expect(holdings.objects.sort()).toEqual(
      [`${alice.id}/${good.body.id}/good.csv`, othersRecent.objectPath].sort()
    );
    expect(holdings.files).toHaveLength(2);
    const names = (
      await t.api(alice, 'GET', `/api/v1/datasets?project_id=${projectId}`)
    ).body.datasets
      .map((d: { name: string }) => d.name)
      .sort();
    expect(names).toEqual(['good', 'others-recent']);
    for (const gone of [mine, othersAbandoned]) {
      expect(
        (await t.api(alice, 'GET', `/api/v1/datasets/${gone.id}`)).status
      ).toBe(404);
    }
  });
});
