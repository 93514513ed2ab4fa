import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { connectEvents, type EventClient } from '../projects/harness';
import { BACKENDS } from '../support/postgres';
import { GERMAN_CREDIT } from '../support/shared-data';
import {
  eventually,
  startDatasetsTestServer,
  type DatasetsTestServer,
  type Person
} from './harness';

/**
 * `/api/v1/datasets` end to end: real sign-ups, the real app, files through
 * supabase-js into the embedded Storage, DuckDB profiles, on PGlite and
 * PostgreSQL 15.
 */
const germanCredit = fs.readFileSync(GERMAN_CREDIT);
const sha256 = (bytes: Buffer) =>
  createHash('sha256').update(bytes).digest('hex');

describe.each(BACKENDS)('/api/v1/datasets on %s', backend => {
  let t: DatasetsTestServer;
  let alice: Person;
  let projectId: string;
  let events: EventClient;
  let work: string;

  beforeAll(async () => {
    t = await startDatasetsTestServer({ backend });
    alice = await t.person('Alice Analyst');
    projectId = await t.project(alice);
    events = await connectEvents(t.url, {
      header: `Bearer ${alice.token}`
    });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-datasets-api-'));
  });

  afterAll(async () => {
    await events?.close();
    await t?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  describe('german_credit.csv, raw', () => {
    let record: Record<string, any>;

    beforeAll(async () => {
      const res = await t.upload(
        alice,
        {
          project_id: projectId,
          name: 'German credit',
          description: 'Applicants'
        },
        germanCredit
      );
      expect(res.status).toBe(201);
      record = res.body;
    });

    it('answers 201 with the ready record and its profile', () => {
      expect(record).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        project_id: projectId,
        name: 'German credit',
        description: 'Applicants',
        owner_id: alice.id,
        version: 1,
        status: 'ready',
        error: null,
        format: 'csv',
        delimiter: ',',
        file_name: 'German credit.csv',
        content_type: 'text/csv',
        size_bytes: germanCredit.length,
        sha256: sha256(germanCredit),
        row_count: 1000,
        column_count: 62,
        profiled_at: expect.any(String),
        versions: [
          {
            version: 1,
            status: 'ready',
            format: 'csv',
            size_bytes: germanCredit.length,
            row_count: 1000,
            sha256: sha256(germanCredit),
            created_at: expect.any(String),
            uploaded_by: alice.id
          }
        ]
      });
      expect(record.columns).toHaveLength(62);
      const byName = Object.fromEntries(
        record.columns.map((c: { name: string }) => [c.name, c])
      );
      expect(byName.Class).toMatchObject({ null_count: 0 });
      const duration = byName.Duration;
      expect(duration).toMatchObject({
        type: expect.any(String),
        null_count: 0,
        min: expect.any(Number),
        max: expect.any(Number),
        mean: expect.any(Number),
        std: expect.any(Number),
        q25: expect.any(Number),
        q50: expect.any(Number),
        q75: expect.any(Number)
      });
      expect(duration.distinct_count).toBeGreaterThan(1);
      expect(duration.histogram.length).toBeGreaterThan(0);
      expect(
        duration.histogram.reduce(
          (n: number, b: { count: number }) => n + b.count,
          0
        )
      ).toBe(1000);
      for (const column of record.columns) {
        expect(Object.keys(column).sort()).toEqual(
          [
            'distinct_count',
            'histogram',
            'max',
            'mean',
            'min',
            'name',
            'null_count',
            'q25',
            'q50',
            'q75',
            'std',
            'top_values',
            'type'
          ].sort()
        );
      }
    });

    it('stores the file at uploads/<user id>/<dataset id>/<file name>', async () => {
      const holdings = await t.holdings();
      const key = `${alice.id}/${record.id}/German credit.csv`;
      expect(holdings.objects).toContain(key);
      expect(
        fs.readFileSync(
          path.join(t.dataDir, 'storage', 'uploads', ...key.split('/'))
        )
      ).toEqual(germanCredit);
    });

    it('announces dataset.uploaded', async () => {
      const event = await events.next(
        e => e.type === 'dataset.uploaded' && e.payload.datasetId === record.id
      );
      expect(event.payload).toEqual({
        datasetId: record.id,
        projectId,
        name: 'German credit',
        version: 1,
        sizeBytes: germanCredit.length,
        rowCount: 1000,
        timestamp: expect.any(Number)
      });
    });

    it('is listed, read, previewed and counted on the project card', async () => {
      const list = await t.api(
        alice,
        'GET',
        `/api/v1/datasets?project_id=${projectId}`
      );
      expect(list.status).toBe(200);
      const listed = list.body.datasets.find(
        (d: { id: string }) => d.id === record.id
      );
      expect(listed).toMatchObject({
        status: 'ready',
        row_count: 1000,
        version: 1
      });
      const all = await t.api(alice, 'GET', '/api/v1/datasets');
      expect(all.body.datasets.map((d: { id: string }) => d.id)).toContain(
        record.id
      );

      const got = await t.api(alice, 'GET', `/api/v1/datasets/${record.id}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(record);

      const preview = await t.api(
        alice,
        'GET',
        `/api/v1/datasets/${record.id}/preview?limit=3`
      );
      expect(preview.status).toBe(200);
      expect(preview.body.columns).toHaveLength(62);
      expect(preview.body.rows).toHaveLength(3);
      expect(preview.body.rows[0]).toHaveLength(62);
      const fifty = await t.api(
        alice,
        'GET',
        `/api/v1/datasets/${record.id}/preview`
      );
      expect(fifty.body.rows).toHaveLength(50);

      const project = await t.api(
        alice,
        'GET',
        `/api/v1/projects/${projectId}`
      );
      expect(project.body.dataset_count).toBeGreaterThanOrEqual(1);
    });

    it('downloads the bytes with ETag, and a byte range', async () => {
      const res = await fetch(`${t.url}/api/v1/datasets/${record.id}/content`, {
        headers: { authorization: `Bearer ${alice.token}` }
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${sha256(germanCredit)}"`);
      expect(res.headers.get('content-length')).toBe(
        String(germanCredit.length)
      );
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('content-disposition')).toMatch(
        /^attachment; filename="German credit.csv"/
      );
      expect(Buffer.from(await res.arrayBuffer())).toEqual(germanCredit);

      const ranged = await fetch(
        `${t.url}/api/v1/datasets/${record.id}/content`,
        {
          headers: {
            authorization: `Bearer ${alice.token}`,
            range: 'bytes=10-99'
          }
        }
      );
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(
        `bytes 10-99/${germanCredit.length}`
      );
      expect(Buffer.from(await ranged.arrayBuffer())).toEqual(
        germanCredit.subarray(10, 100)
      );

      const cached = await fetch(
        `${t.url}/api/v1/datasets/${record.id}/content`,
        {
          headers: {
            authorization: `Bearer ${alice.token}`,
            'if-none-match': `"${sha256(germanCredit)}"`,
            // fetch adds "no-cache" (a forced reload) to a conditional request otherwise.
            'cache-control': 'max-age=0'
          }
        }
      );
      expect(cached.status).toBe(304);
    });
  });

  it('takes a multipart upload; the name defaults to the file name, a known name adds a version', async () => {
    const first = await t.uploadForm(
      alice,
      { project_id: projectId },
      { name: 'german_credit.csv', bytes: germanCredit }
    );
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      name: 'german_credit.csv',
      version: 1,
      row_count: 1000,
      column_count: 62,
      file_name: 'german_credit.csv'
    });
    const changed = Buffer.concat([
      germanCredit,
      germanCredit.subarray(germanCredit.indexOf('\n') + 1)
    ]);
    const second = await t.uploadForm(
      alice,
      { name: 'german_credit.csv' },
      { name: 'more.csv', bytes: changed },
      { project_id: projectId }
    );
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({
      id: first.body.id,
      version: 2,
      row_count: 2000,
      file_name: 'more.csv'
    });
    expect(
      second.body.versions.map((v: { version: number }) => v.version)
    ).toEqual([1, 2]);
    const holdings = await t.holdings();
    expect(holdings.objects).toEqual(
      expect.arrayContaining([
        `${alice.id}/${first.body.id}/german_credit.csv`,
        `${alice.id}/${first.body.id}/v2/more.csv`
      ])
    );
    const v1 = await t.api(
      alice,
      'GET',
      `/api/v1/datasets/${first.body.id}?version=1`
    );
    expect(v1.body).toMatchObject({ version: 1, row_count: 1000 });
  });

  it('hands a semicolon CSV over comma-separated with format=csv, values unchanged', async () => {
    const text = 'name;amount;note\nAda;1,50;"a; b"\nBob;2;x\n';
    const res = await t.upload(
      alice,
      { project_id: projectId, name: 'semicolons' },
      text
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      delimiter: ';',
      row_count: 2,
      column_count: 3
    });
    const original = await t.api(
      alice,
      'GET',
      `/api/v1/datasets/${res.body.id}/content`
    );
    expect(original.body).toBe(text);
    const csv = await t.api(
      alice,
      'GET',
      `/api/v1/datasets/${res.body.id}/content?format=csv`
    );
    expect(csv.status).toBe(200);
    expect(csv.body).toBe('name,amount,note\nAda,"1,50",a; b\nBob,2,x\n');

    const badFormat = await t.api(
      alice,
      'GET',
      `/api/v1/datasets/${res.body.id}/content?format=xlsx`
    );
    expect(badFormat.status).toBe(400);
    expect(badFormat.body.error.message).toMatch(/format can only be "csv"/);
    const badLimit = await t.api(
      alice,
      'GET',
      `/api/v1/datasets/${res.body.id}/preview?limit=101`
    );
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.message).toBe(
      'limit must be a whole number from 1 to 100.'
    );
    const outside = await fetch(
      `${t.url}/api/v1/datasets/${res.body.id}/content`,
      {
        headers: {
          authorization: `Bearer ${alice.token}`,
          range: `bytes=${text.length + 5}-`
        }
      }
    );
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${text.length}`);
  });

  it('takes a Parquet file: profile, and content?format=csv that pandas reads', async () => {
    const parquet = path.join(work, 'sample.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT i AS id, i * 1.5 AS amount, CASE WHEN i % 3 = 0 THEN NULL ELSE 'c' || (i % 4) END AS category,
                    DATE '2024-01-01' + i::INTEGER AS day
             FROM range(2500) t(i))
       TO '${parquet}' (FORMAT parquet)`
    );
    connection.closeSync();
    instance.closeSync();
    const bytes = fs.readFileSync(parquet);

    const res = await t.upload(
      alice,
      { project_id: projectId, name: 'events' },
      bytes,
      'application/vnd.apache.parquet'
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      format: 'parquet',
      content_type: 'application/vnd.apache.parquet',
      file_name: 'events.parquet',
      row_count: 2500,
      column_count: 4,
      delimiter: null
    });
    const category = res.body.columns.find(
      (c: { name: string }) => c.name === 'category'
    );
    expect(category.null_count).toBe(834);
    expect(category.top_values.length).toBeGreaterThan(0);

    const csv = await fetch(
      `${t.url}/api/v1/datasets/${res.body.id}/content?format=csv`,
      {
        headers: { authorization: `Bearer ${alice.token}` }
      }
    );
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(
      /filename="events.csv"/
    );
    const text = Buffer.from(await csv.arrayBuffer());
    expect(Number(csv.headers.get('content-length'))).toBe(text.length);
    const file = path.join(work, 'events.csv');
    fs.writeFileSync(file, text);
    const shape = execFileSync('/usr/bin/python3', [
      '-c',
      'import sys, pandas; print(pandas.read_csv(sys.argv[1]).shape)',
      file
    ])
      .toString()
      .trim();
    expect(shape).toBe('(2500, 4)');

    const raw = await fetch(`${t.url}/api/v1/datasets/${res.body.id}/content`, {
      headers: { authorization: `Bearer ${alice.token}` }
    });
    expect(Buffer.from(await raw.arrayBuffer())).toEqual(bytes);
    // The converted file goes once the answer is sent.
    await eventually(
      async () => (await t.holdings()).temp.length === 0,
      'the converted file to go'
    );
  });
});
