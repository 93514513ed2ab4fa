import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { BACKENDS } from '../support/postgres';
import { GERMAN_CREDIT as GERMAN_CREDIT_FILE } from '../support/shared-data';
import {
  eventually,
  startDatasetsTestServer,
  type DatasetsTestServer,
  type Holdings,
  type Person
} from './harness';

/**
 * Every bad upload gets a clear 4xx and leaves nothing behind: no dataset
 * or version row, no Storage object or file, no spool or temp file. Also
 * a client that goes away mid-upload, and eight uploads at once.
 */
const LIMIT = 1024 * 1024;
const GERMAN_CREDIT = fs.readFileSync(GERMAN_CREDIT_FILE);

describe.each(BACKENDS)('dataset uploads refused on %s', backend => {
  let t: DatasetsTestServer;
  let alice: Person;
  let projectId: string;
  let parquet: Buffer;

  beforeAll(async () => {
    t = await startDatasetsTestServer({
      backend,
      env: { INSIGHTER_MAX_UPLOAD_BYTES: String(LIMIT) },
      // PGlite: the profiler reads the stored object (embedded Storage);
      // PostgreSQL: a spool copy, as with a hosted project's Storage.
      spool: backend === 'postgres'
    });
    alice = await t.person('Alice Analyst');
    projectId = await t.project(alice);
    parquet = await parquetFile();
    // One good dataset, so "nothing changed" is measured against something.
    const good = await t.upload(
      alice,
      { project_id: projectId, name: 'kept' },
      GERMAN_CREDIT
    );
    expect(good.status).toBe(201);
  });

  afterAll(async () => {
    await t?.close();
  });

  /** Runs the request and proves the catalog and Storage hold what they held before. */
  const leavesNothing = async <T>(request: () => Promise<T>): Promise<T> => {
    const before = await t.holdings();
    const result = await request();
    // Storage drops an aborted upload's temp file once it notices the
    // connection went: asynchronously, shortly after our answer.
    let after: Holdings = before;
    await eventually(
      async () => {
        after = await t.holdings();
        return after.temp.length === 0;
      },
      `temp files to go: ${JSON.stringify(after.temp)}`
    );
    expect(after).toEqual({ ...before, temp: [] });
    return result;
  };

  const refused = async (
    query: Record<string, string>,
    body: Buffer | string,
    status: number,
    code: string,
    message: RegExp,
    contentType?: string
  ) =>
    leavesNothing(async () => {
      const res = await t.upload(alice, query, body, contentType);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(message);
      return res.body.error;
    });

  describe('files that are not datasets: 422 invalid_file', () => {
    it('an empty file', async () => {
      await refused(
        { project_id: projectId, name: 'empty' },
        '',
        422,
        'invalid_file',
        /^The file is empty\.$/
      );
    });

    it('a binary file named .csv', async () => {
      const png = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        randomBytes(200 * 1024)
      ]);
      await leavesNothing(async () => {
        const res = await t.uploadForm(
          alice,
          { project_id: projectId },
          { name: 'photo.csv', bytes: png }
        );
        expect(res.status).toBe(422);
        expect(res.body.error).toEqual({
          code: 'invalid_file',
          message: 'This looks like a binary file, not CSV.'
        });
      });
    });

    it('a ragged CSV, naming the row', async () => {
      const ragged = 'a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n';
      await refused(
        { project_id: projectId, name: 'ragged' },
        ragged,
        422,
        'invalid_file',
        /^Row 4 has 2 fields; the header has 3\.$/
      );
    });

    it('a ragged row deep in a large CSV, after much has been stored', async () => {
      const good = Array.from(
        { length: 30000 },
        (_, i) => `${i},${i * 2},x${i % 7}`
      ).join('\n');
      const body = `a,b,c\n${good}\n1,2\n`;
      expect(body.length).toBeGreaterThan(256 * 1024);
      await refused(
        { project_id: projectId, name: 'ragged late' },
        body,
        422,
        'invalid_file',
        /^Row 30002 has 2 fields; the header has 3\.$/
      );
    });

    it('a CSV that is not UTF-8', async () => {
      await refused(
        { project_id: projectId, name: 'latin1' },
        Buffer.concat([
          Buffer.from('name,city\nJos'),
          Buffer.from([0xe9]),
          Buffer.from(',Lyon\n')
        ]),
        422,
        'invalid_file',
        /not UTF-8 text \(byte 13\)/
      );
    });

    it('a truncated Parquet file', async () => {
      await refused(
        { project_id: projectId, name: 'cut' },
        parquet.subarray(0, parquet.length - 100),
        422,
        'invalid_file',
        /^The Parquet file is truncated or damaged: it does not end with the Parquet marker\.$/,
        'application/vnd.apache.parquet'
      );
    });

    it('a Parquet file whose footer is damaged (found after it was stored)', async () => {
      const damaged = Buffer.from(parquet);
      const footerLength = damaged.readUInt32LE(damaged.length - 8);
      damaged.fill(0xff, damaged.length - 8 - footerLength, damaged.length - 8);
      await refused(
        { project_id: projectId, name: 'damaged' },
        damaged,
        422,
        'invalid_file',
        /^The Parquet file is truncated or damaged: /,
        'application/octet-stream'
      );
    });
  });

  describe('bad names and fields: 400 invalid_input', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['a path', { name: '../../etc/passwd' }, /must not contain "\/" or "\\"/],
      ['a backslash', { name: 'a\\b' }, /must not contain "\/" or "\\"/],
      [
        '"..", even without a slash',
        { name: 'x..y' },
        /must not contain "\.\."/
      ],
      ['a control character', { name: 'bad\u0000name' }, /control characters/],
      ['a line break', { name: 'two\nlines' }, /control characters/],
      [
        'more than 200 characters',
        { name: 'n'.repeat(201) },
        /at most 200 characters/
      ],
      ['no name', { name: '' }, /Dataset name is required/],
      [
        'a description over 2000 characters',
        { name: 'ok', description: 'd'.repeat(2001) },
        /at most 2000/
      ]
    ];
    it.each(cases)('%s', async (_what, fields, message) => {
      await refused(
        { project_id: projectId, ...fields },
        GERMAN_CREDIT,
        400,
        'invalid_input',
        message
      );
    });

    it('a multipart file named ../../etc/passwd (the name defaults to it)', async () => {
      await leavesNothing(async () => {
        const res = await t.uploadForm(
          alice,
          { project_id: projectId },
          { name: '../../etc/passwd', bytes: GERMAN_CREDIT }
        );
        expect(res.status).toBe(400);
        expect(res.body.error.message).toMatch(/must not contain "\/"/);
      });
    });

    it('no project, a malformed one, or one that does not exist', async () => {
      await refused(
        { name: 'x' },
        'a,b\n1,2\n',
        400,
        'invalid_input',
        /project_id is required/
      );
      await refused(
        { project_id: 'nope', name: 'x' },
        'a,b\n1,2\n',
        400,
        'invalid_input',
        /project_id must be the id of a project/
      );
      await refused(
        { project_id: '3b0c4a52-7f1e-4d0a-9b7c-2f6d8e1a5c90', name: 'x' },
        'a,b\n1,2\n',
        404,
        'not_found',
        /^Project not found\.$/
      );
    });

    it('a multipart form without a file', async () => {
      await leavesNothing(async () => {
        const form = new FormData();
        form.append('project_id', projectId);
        form.append('name', 'nothing');
        const res = await fetch(`${t.url}/api/v1/datasets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${alice.token}` },
          body: form
        });
        expect(res.status).toBe(400);
        expect(
          ((await res.json()) as { error: { message: string } }).error.message
        ).toMatch(/The form holds no file/);
      });
    });

    it('an unsupported content type: 415', async () => {
      await refused(
        { project_id: projectId, name: 'json' },
        '{"a": 1}',
        415,
        'unsupported_media_type',
        /text\/csv, application\/vnd\.apache\.parquet or application\/octet-stream/,
        'application/json'
      );
    });

    it('no sign-in: 401', async () => {
      const res = await fetch(
        `${t.url}/api/v1/datasets?project_id=${projectId}&name=x`,
        {
          method: 'POST',
          headers: { 'content-type': 'text/csv' },
          body: 'a,b\n1,2\n'
        }
      );
      expect(res.status).toBe(401);
    });
  });

  describe(`over the upload limit (${LIMIT} bytes): 413 too_large`, () => {
    it('refuses a declared length before reading it', async () => {
      const big = Buffer.alloc(LIMIT + 1, 'a,b\n');
      await refused(
        { project_id: projectId, name: 'big' },
        big,
        413,
        'too_large',
        /^The file is larger than the upload limit of 1 MiB\.$/
      );
    });

    it('stops reading a streamed body once it passes the limit', async () => {
      // 64 MB offered without a length; the answer must come long before.
      const offered = 64 * 1024 * 1024;
      const outcome = await leavesNothing(() =>
        streamUpload(
          t.url,
          alice.token,
          { project_id: projectId, name: 'endless' },
          {
            total: offered,
            chunk: 'x,y\n'.repeat(16 * 1024)
          }
        )
      );
      expect(outcome.status).toBe(413);
      expect(outcome.body).toMatch(/"code":"too_large"/);
      expect(outcome.sent).toBeLessThan(offered / 2);
    });

    it('refuses a multipart file over the limit', async () => {
      await leavesNothing(async () => {
        const res = await t.uploadForm(
          alice,
          { project_id: projectId, name: 'big form' },
          { name: 'big.csv', bytes: Buffer.alloc(LIMIT + 10, 'a,b\n') }
        );
        expect(res.status).toBe(413);
        expect(res.body.error.code).toBe('too_large');
      });
    });
  });

  it('leaves nothing when the client goes away mid-upload', async () => {
    const before = await t.holdings();
    const url = new URL(`${t.url}/api/v1/datasets`);
    url.search = new URLSearchParams({
      project_id: projectId,
      name: 'abandoned'
    }).toString();
    const req = http.request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice.token}`,
        'content-type': 'text/csv'
      }
    });
    req.on('error', () => undefined);
    req.write('id,value\n');
    const rows =
      Array.from({ length: 1000 }, (_, i) => `${i},${i}`).join('\n') + '\n';
    let uploading = false;
    // Trickle rows until the catalog shows the upload in progress.
    const deadline = Date.now() + 10_000;
    while (!uploading && Date.now() < deadline) {
      req.write(rows);
      await new Promise(resolve => setTimeout(resolve, 50));
      const list = await t.api(
        alice,
        'GET',
        `/api/v1/datasets?project_id=${projectId}`
      );
      uploading = list.body.datasets.some(
        (d: { name: string; status: string }) =>
          d.name === 'abandoned' && d.status === 'uploading'
      );
    }
    expect(uploading).toBe(true);
    // Bytes on their way to disk: Storage's temp file (it appears once
    // Storage has let the user in), and the spool where there is one.
    await eventually(async () => {
      req.write(rows);
      return (await t.holdings()).temp.length > 0;
    }, 'the upload to reach disk');
    req.destroy();
    await eventually(async () => {
      const now = await t.holdings();
      return now.versions === before.versions && now.temp.length === 0;
    }, 'the abandoned upload to be removed');
    expect(await t.holdings()).toEqual(before);
  });

  it('takes 8 uploads at once: distinct records and versions', async () => {
    const before = await t.holdings();
    const names = [
      'same',
      'same',
      'same',
      'same',
      'one',
      'two',
      'three',
      'four'
    ];
    const answers = await Promise.all(
      names.map((name, i) =>
        t.upload(
          alice,
          { project_id: projectId, name },
          `n,i\n${name},${i}\n`.repeat(1) +
            Array.from(
              { length: 500 * (i + 1) },
              (_, k) => `${name},${k}`
            ).join('\n')
        )
      )
    );
    expect(answers.map(a => a.status)).toEqual(names.map(() => 201));
    const same = answers.slice(0, 4).map(a => a.body);
    expect(new Set(same.map(d => d.id)).size).toBe(1);
    expect(same.map(d => d.version).sort()).toEqual([1, 2, 3, 4]);
    const others = answers.slice(4).map(a => a.body);
    expect(new Set(others.map(d => d.id)).size).toBe(4);
    expect(others.map(d => d.version)).toEqual([1, 1, 1, 1]);
    for (const [i, answer] of answers.entries()) {
      expect(answer.body.row_count).toBe(500 * (i + 1) + 1);
    }
    const after = await t.holdings();
    expect(after.datasets).toBe(before.datasets + 5);
    expect(after.versions).toBe(before.versions + 8);
    expect(after.objects).toHaveLength(before.objects.length + 8);
    expect(after.unfinished).toBe(0);
    expect(after.temp).toEqual([]);
  });
});

describe('an upload Storage refuses part-way', () => {
  let t: DatasetsTestServer;
  let alice: Person;

  beforeAll(async () => {
    t = await startDatasetsTestServer({
      env: { INSIGHTER_STORAGE_MAX_BYTES: String(256 * 1024) }
    });
    alice = await t.person();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers 413 and leaves nothing behind', async () => {
    const projectId = await t.project(alice);
    const before = await t.holdings();
    const body = 'a,b\n' + '1,2\n'.repeat(128 * 1024);
    const res = await t.upload(
      alice,
      { project_id: projectId, name: 'large' },
      body
    );
    expect(res.status).toBe(413);
    expect(res.body.error).toEqual({
      code: 'too_large',
      message: 'The file is larger than Storage accepts.'
    });
    await eventually(
      async () => (await t.holdings()).temp.length === 0,
      'temp files to go'
    );
    expect(await t.holdings()).toEqual(before);
  });
});

/** A Parquet file of a few thousand rows, written by DuckDB. */
async function parquetFile(): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-parquet-'));
  try {
    const file = path.join(dir, 'data.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT i AS id, 'name ' || i AS label FROM range(5000) t(i)) TO '${file}' (FORMAT parquet)`
    );
    connection.closeSync();
    instance.closeSync();
    return fs.readFileSync(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Sends up to `total` bytes without a declared length, stopping as soon as
 * the server answers; resolves with the answer and how much was sent.
 */
function streamUpload(
  baseUrl: string,
  token: string,
  query: Record<string, string>,
  options: { total: number; chunk: string }
): Promise<{ status: number; body: string; sent: number }> {
  const url = new URL(`${baseUrl}/api/v1/datasets`);
  url.search = new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }
    });
    req.on('response', res => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', chunk => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, sent });
        req.destroy();
      });
    });
    req.on('error', err => {
      if (!answered) {
        reject(err);
      }
    });
    const chunk = Buffer.from(options.chunk);
    req.write('a,b\n');
    const pump = () => {
      while (!answered && sent < options.total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) {
        req.end();
      }
    };
    pump();
  });
}
