import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { SignJWT } from 'jose';
import { loadJwtKeys } from '../../src/auth/keys';
import { BACKENDS } from '../support/postgres';
import {
  startStorageTestServer,
  type Person,
  type StorageTestServer
} from './harness';

/**
 * The embedded `/storage/v1` through the official supabase-js storage client
 * (and plain HTTP where the client cannot go), on both databases: real
 * people signed up through the auth flow, real files on disk, RLS deciding.
 */
const MAX_BYTES = 6 * 1024 * 1024;

describe.each(BACKENDS)('embedded Storage on %s', backend => {
  let t: StorageTestServer;
  let alice: Person;
  let bob: Person;

  beforeAll(async () => {
    t = await startStorageTestServer({ backend, maxObjectBytes: MAX_BYTES });
    await t.storage.swept;
    alice = await t.person();
    bob = await t.person();
  });

  afterAll(async () => {
    await t?.close();
  });

  const objectsRoot = () => path.join(t.auth.dataDir, 'storage');
  const fileOf = (key: string) =>
    path.join(objectsRoot(), 'uploads', ...key.split('/'));
  const tempFiles = () => fs.readdirSync(path.join(objectsRoot(), '.tmp'));
  const rowOf = async (key: string) =>
    (
      await t.auth.db.asService(tx =>
        tx.query<{
          id: string;
          owner: string | null;
          metadata: Record<string, unknown>;
        }>(
          "select id, owner, metadata from storage.objects where bucket_id = 'uploads' and name = $1",
          [key]
        )
      )
    ).rows[0];
  const sha256 = (bytes: Buffer) =>
    createHash('sha256').update(bytes).digest('hex');
  const keyFor = (person: Person, file = 'data.csv') =>
    `${person.id}/${randomUUID()}/${file}`;
  /** A POST exactly as written: fetch would resolve "%2e%2e" segments before sending. */
  const rawUpload = (key: string, body: string, token: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: new URL(t.url).port,
          method: 'POST',
          path: `/storage/v1/object/uploads/${key}`,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'text/csv'
          }
        },
        res => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', chunk => (text += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: text })
          );
        }
      );
      request.on('error', reject);
      request.end(body);
    });
  const download = async (person: Person, key: string) => {
    const { data, error } = await person.client.storage
      .from('uploads')
      .download(key);
    if (error) {
      throw error;
    }
    return Buffer.from(await data.arrayBuffer());
  };

  describe('upload and download', () => {
    it('stores a Buffer with its metadata and gives the same bytes back', async () => {
      const key = keyFor(alice);
      const bytes = Buffer.from('a,b\n1,2\n');
      const { data, error } = await alice.client.storage
        .from('uploads')
        .upload(key, bytes, { contentType: 'text/csv' });
      expect(error).toBeNull();
      expect(data).toEqual({
        path: key,
        id: expect.any(String),
        fullPath: `uploads/${key}`
      });
      expect(await download(alice, key)).toEqual(bytes);
      const row = await rowOf(key);
      expect(row).toEqual({
        id: data!.id,
        owner: alice.id,
        metadata: expect.objectContaining({
          size: bytes.length,
          mimetype: 'text/csv',
          eTag: `"${sha256(bytes)}"`,
          cacheControl: 'max-age=3600'
        })
      });
      expect(fs.readFileSync(fileOf(key))).toEqual(bytes);
    });

    it('streams a Blob (multipart form) and a Node stream of a few MB', async () => {
      const blobBytes = randomBytes(3 * 1024 * 1024);
      const blobKey = keyFor(alice, 'blob.parquet');
      const fromBlob = await alice.client.storage
        .from('uploads')
        .upload(
          blobKey,
          new Blob([blobBytes], { type: 'application/vnd.apache.parquet' })
        );
      expect(fromBlob.error).toBeNull();
      expect(sha256(await download(alice, blobKey))).toBe(sha256(blobBytes));
      expect((await rowOf(blobKey)).metadata).toEqual(
        expect.objectContaining({
          size: blobBytes.length,
          mimetype: 'application/vnd.apache.parquet',
          eTag: `"${sha256(blobBytes)}"`
        })
      );

      const chunks = Array.from({ length: 40 }, () => randomBytes(100 * 1024));
      const streamKey = keyFor(alice, 'stream.csv');
      const fromStream = await alice.client.storage
        .from('uploads')
        .upload(streamKey, Readable.from(chunks), { contentType: 'text/csv' });
      expect(fromStream.error).toBeNull();
      const all = Buffer.concat(chunks);
      expect(sha256(await download(alice, streamKey))).toBe(sha256(all));
      expect((await rowOf(streamKey)).metadata.size).toBe(all.length);
      expect(tempFiles()).toEqual([]);
    });

    it('refuses a second upload to the same path unless upsert is asked for', async () => {
      const key = keyFor(alice);
      const bucket = alice.client.storage.from('uploads');
      expect((await bucket.upload(key, Buffer.from('one'))).error).toBeNull();
      const again = await bucket.upload(key, Buffer.from('two'));
      expect(again.error).toMatchObject({
        message: 'The resource already exists',
        status: 409,
        statusCode: '409'
      });
      expect(await download(alice, key)).toEqual(Buffer.from('one'));
      expect(tempFiles()).toEqual([]);
      const upserted = await bucket.upload(key, Buffer.from('three'), {
        upsert: true
      });
      expect(upserted.error).toBeNull();
      expect(await download(alice, key)).toEqual(Buffer.from('three'));
      const updated = await bucket.update(key, Buffer.from('four'));
      expect(updated.error).toBeNull();
      expect(await download(alice, key)).toEqual(Buffer.from('four'));
    });

    it('reports info and existence', async () => {
      const key = keyFor(alice);
      await alice.client.storage
        .from('uploads')
        .upload(key, Buffer.from('12345'), { contentType: 'text/csv' });
      const info = await alice.client.storage.from('uploads').info(key);
      expect(info.error).toBeNull();
      expect(info.data).toMatchObject({
        name: key,
        size: 5,
        contentType: 'text/csv'
      });
      expect(
        (await alice.client.storage.from('uploads').exists(key)).data
      ).toBe(true);
      expect((await bob.client.storage.from('uploads').exists(key)).data).toBe(
        false
      );
    });
  });

  describe('list and remove', () => {
    it('lists files with metadata and folders with a null id', async () => {
      const dataset = randomUUID();
      const bucket = alice.client.storage.from('uploads');
      await bucket.upload(`${alice.id}/${dataset}/b.csv`, Buffer.from('bb'));
      await bucket.upload(`${alice.id}/${dataset}/a.csv`, Buffer.from('a'));
      await bucket.upload(
        `${alice.id}/${dataset}/raw/part-1.csv`,
        Buffer.from('p')
      );

      const files = await bucket.list(`${alice.id}/${dataset}`);
      expect(files.error).toBeNull();
      expect(files.data!.map(e => [e.name, e.id === null])).toEqual([
        ['a.csv', false],
        ['b.csv', false],
        ['raw', true]
      ]);
      const b = files.data!.find(e => e.name === 'b.csv')!;
      expect(b).toMatchObject({
        id: expect.any(String),
        created_at: expect.any(String),
        updated_at: expect.any(String),
        last_accessed_at: expect.any(String),
        metadata: expect.objectContaining({ size: 2 })
      });
      expect(files.data!.find(e => e.name === 'raw')).toMatchObject({
        id: null,
        metadata: null
      });

      const top = await bucket.list(alice.id, { limit: 1000 });
      expect(top.data!.filter(e => e.name === dataset)).toEqual([
        expect.objectContaining({ name: dataset, id: null })
      ]);
      const searched = await bucket.list(`${alice.id}/${dataset}`, {
        search: 'b'
      });
      expect(searched.data!.map(e => e.name)).toEqual(['b.csv']);
      const paged = await bucket.list(`${alice.id}/${dataset}`, {
        limit: 1,
        offset: 1,
        sortBy: { column: 'name', order: 'desc' }
      });
      expect(paged.data!.map(e => e.name)).toEqual(['b.csv']);
    });

    it('removes objects: the rows and the files go', async () => {
      const key = keyFor(alice);
      const bucket = alice.client.storage.from('uploads');
      await bucket.upload(key, Buffer.from('bye'));
      expect(fs.existsSync(fileOf(key))).toBe(true);
      const removed = await bucket.remove([key]);
      expect(removed.error).toBeNull();
      expect(removed.data!.map(o => o.name)).toEqual([key]);
      expect(await rowOf(key)).toBeUndefined();
      expect(fs.existsSync(fileOf(key))).toBe(false);
      // Its dataset folder went with its only file.
      expect(fs.existsSync(path.dirname(fileOf(key)))).toBe(false);
      const gone = await bucket.download(key);
      expect(gone.error).toMatchObject({ status: 404, statusCode: '404' });
    });
  });

  describe('signed URLs', () => {
    it('lets a plain fetch read the object until it expires, and refuses forged ones', async () => {
      const key = keyFor(alice, 'shared file.csv');
      const bytes = Buffer.from('x,y\n3,4\n');
      await alice.client.storage
        .from('uploads')
        .upload(key, bytes, { contentType: 'text/csv' });
      const signed = await alice.client.storage
        .from('uploads')
        .createSignedUrl(key, 60);
      expect(signed.error).toBeNull();
      const res = await fetch(signed.data!.signedUrl);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);

      const url = new URL(signed.data!.signedUrl);
      const secret = (await loadJwtKeys(t.auth.dataDir)).secret;
      const now = Math.floor(Date.now() / 1000);
      const expired = await new SignJWT({ url: `uploads/${key}` })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt(now - 120)
        .setExpirationTime(now - 60)
        .sign(secret);
      const forged = await new SignJWT({ url: `uploads/${key}` })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(now + 60)
        .sign(randomBytes(48));
      for (const [token, message] of [
        [expired, 'jwt expired'],
        [forged, 'invalid signature']
      ]) {
        url.searchParams.set('token', token);
        const refused = await fetch(url);
        expect(refused.status).toBe(400);
        expect(await refused.json()).toMatchObject({
          statusCode: '400',
          code: 'InvalidJWT',
          message
        });
      }
      // A signed URL of another object does not open this one.
      const otherKey = keyFor(alice);
      await alice.client.storage
        .from('uploads')
        .upload(otherKey, Buffer.from('other'));
      const other = await alice.client.storage
        .from('uploads')
        .createSignedUrl(otherKey, 60);
      url.searchParams.set(
        'token',
        new URL(other.data!.signedUrl).searchParams.get('token')!
      );
      const mismatched = await fetch(url);
      expect(mismatched.status).toBe(400);
      expect(await mismatched.json()).toMatchObject({
        code: 'InvalidSignature',
        message: 'The url do not match the signature'
      });
    });
  });

  describe('who may do what (RLS on storage.objects)', () => {
    let key: string;

    beforeAll(async () => {
      key = keyFor(alice);
      await alice.client.storage
        .from('uploads')
        .upload(key, Buffer.from('alice only'));
    });

    it('refuses another person everything on someone else’s objects', async () => {
      const bucket = bob.client.storage.from('uploads');
      const intrude = await bucket.upload(
        `${alice.id}/${randomUUID()}/evil.csv`,
        Buffer.from('x')
      );
      expect(intrude.error).toMatchObject({ status: 403, statusCode: '403' });
      const overwrite = await bucket.upload(key, Buffer.from('x'), {
        upsert: true
      });
      expect(overwrite.error).not.toBeNull();
      expect((await bucket.download(key)).error).toMatchObject({ status: 404 });
      expect((await bucket.list(alice.id)).data).toEqual([]);
      expect((await bucket.createSignedUrl(key, 60)).error).toMatchObject({
        status: 404
      });
      expect((await bucket.remove([key])).data).toEqual([]);
      expect(await download(alice, key)).toEqual(Buffer.from('alice only'));
      expect(fs.existsSync(fileOf(key))).toBe(true);
      expect(tempFiles()).toEqual([]);
    });

    it('refuses anon (the anon key) and requests without a token', async () => {
      const bucket = t.anonClient().storage.from('uploads');
      const upload = await bucket.upload(
        `${alice.id}/${randomUUID()}/anon.csv`,
        Buffer.from('x')
      );
      expect(upload.error).toMatchObject({ status: 403 });
      expect((await bucket.download(key)).error).toMatchObject({ status: 404 });
      expect((await bucket.list(alice.id)).data).toEqual([]);
      const noToken = await fetch(`${t.url}/storage/v1/object/uploads/${key}`);
      expect(noToken.status).toBe(400);
      expect(await noToken.json()).toMatchObject({
        statusCode: '400',
        code: 'InvalidJWT'
      });
    });

    it('lets the service key through, as service_role does on Supabase', async () => {
      const bucket = t.serviceClient().storage.from('uploads');
      const { data, error } = await bucket.download(key);
      expect(error).toBeNull();
      expect(Buffer.from(await data!.arrayBuffer())).toEqual(
        Buffer.from('alice only')
      );
    });

    it('answers 404 for an unknown bucket', async () => {
      const res = await alice.client.storage
        .from('nope')
        .upload(`${alice.id}/x.csv`, Buffer.from('x'));
      expect(res.error).toMatchObject({
        status: 404,
        message: 'Bucket not found'
      });
    });
  });

  describe('bad paths', () => {
    it.each([
      ['a dot-dot segment', (id: string) => `${id}/%2e%2e/%2e%2e/escape.csv`],
      [
        'an encoded slash climbing out',
        (id: string) => `${id}/..%2F..%2Fescape.csv`
      ],
      ['a control character', (id: string) => `${id}/ds/bad%01name.csv`],
      ['an empty folder name', (id: string) => `${id}//bad.csv`],
      ['a backslash', (id: string) => `${id}/ds/..%5C..%5Cbad.csv`],
      [
        'a name longer than 255 bytes',
        (id: string) => `${id}/ds/${'x'.repeat(256)}.csv`
      ]
    ])('refuses %s with 400 and writes nothing', async (_what, keyOf) => {
      const before = fs.readdirSync(objectsRoot()).sort();
      const res = await rawUpload(keyOf(alice.id), 'a,b\n', alice.token);
      expect(res.status).toBe(400);
      const body = JSON.parse(res.body) as { message: string };
      expect(body).toMatchObject({ statusCode: '400', code: 'InvalidKey' });
      expect(body.message).toMatch(/^Invalid key: /);
      expect(fs.readdirSync(objectsRoot()).sort()).toEqual(before);
      expect(fs.existsSync(path.join(t.auth.dataDir, 'escape.csv'))).toBe(
        false
      );
      expect(tempFiles()).toEqual([]);
    });

    it('stores names NFC-normalized, so both spellings reach one object', async () => {
      const dataset = randomUUID();
      const decomposed = `${alice.id}/${dataset}/cafe\u0301.csv`;
      await alice.client.storage
        .from('uploads')
        .upload(decomposed, Buffer.from('é'));
      expect(await rowOf(`${alice.id}/${dataset}/caf\u00e9.csv`)).toBeDefined();
      expect(
        await download(alice, `${alice.id}/${dataset}/caf\u00e9.csv`)
      ).toEqual(Buffer.from('é'));
    });
  });

  describe('size limit and broken uploads leave nothing', () => {
    const noRowsUnder = async (prefix: string) =>
      (
        await t.auth.db.asService(tx =>
          tx.query(
            "select name from storage.objects where name like $1 || '%'",
            [prefix]
          )
        )
      ).rows;

    it('answers 413 for a declared body over the limit', async () => {
      const key = keyFor(alice);
      const res = await alice.client.storage
        .from('uploads')
        .upload(key, Buffer.alloc(MAX_BYTES + 1));
      expect(res.error).toMatchObject({ status: 413, statusCode: '413' });
      expect(await rowOf(key)).toBeUndefined();
      expect(fs.existsSync(fileOf(key))).toBe(false);
      expect(tempFiles()).toEqual([]);
    });

    it('answers 413 when a streamed body grows over the limit, and keeps nothing', async () => {
      const dataset = randomUUID();
      const key = `${alice.id}/${dataset}/big.csv`;
      const chunks = Array.from({ length: 7 }, () =>
        Buffer.alloc(1024 * 1024, 1)
      );
      const res = await alice.client.storage
        .from('uploads')
        .upload(key, Readable.from(chunks), { contentType: 'text/csv' });
      expect(res.error).toMatchObject({ status: 413, statusCode: '413' });
      const form = await alice.client.storage
        .from('uploads')
        .upload(`${alice.id}/${dataset}/big-form.csv`, new Blob(chunks));
      expect(form.error).toMatchObject({ status: 413 });
      expect(await noRowsUnder(`${alice.id}/${dataset}`)).toEqual([]);
      expect(fs.existsSync(path.dirname(fileOf(key)))).toBe(false);
      expect(tempFiles()).toEqual([]);
    });

    it('keeps nothing when the client disconnects mid-upload', async () => {
      const dataset = randomUUID();
      const key = `${alice.id}/${dataset}/cut.csv`;
      const { port } = new URL(t.url);
      const request = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/storage/v1/object/uploads/${key}`,
        headers: {
          authorization: `Bearer ${alice.token}`,
          'content-type': 'text/csv',
          'content-length': String(4 * 1024 * 1024)
        }
      });
      request.on('error', () => undefined);
      request.write(Buffer.alloc(1024 * 1024, 7));
      // Wait until the server is writing the temp file, then hang up.
      await waitFor(() => tempFiles().length > 0);
      request.destroy();
      await waitFor(() => tempFiles().length === 0);
      expect(await noRowsUnder(`${alice.id}/${dataset}`)).toEqual([]);
      expect(fs.existsSync(fileOf(key))).toBe(false);
      // The server is still fine afterwards.
      expect(
        (await alice.client.storage.from('uploads').list(alice.id)).error
      ).toBeNull();
    });
  });

  describe('downloads', () => {
    let key: string;
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

    beforeAll(async () => {
      key = keyFor(alice, 'range.bin');
      await alice.client.storage
        .from('uploads')
        .upload(key, bytes, { contentType: 'application/octet-stream' });
    });

    const get = (headers: Record<string, string>, method = 'GET') =>
      fetch(`${t.url}/storage/v1/object/authenticated/uploads/${key}`, {
        method,
        headers: { authorization: `Bearer ${alice.token}`, ...headers }
      });

    it('serves byte ranges (206) and refuses unsatisfiable ones (416)', async () => {
      const middle = await get({ range: 'bytes=10-19' });
      expect(middle.status).toBe(206);
      expect(middle.headers.get('content-range')).toBe('bytes 10-19/1000');
      expect(Buffer.from(await middle.arrayBuffer())).toEqual(
        bytes.subarray(10, 20)
      );
      const tail = await get({ range: 'bytes=-5' });
      expect(tail.status).toBe(206);
      expect(Buffer.from(await tail.arrayBuffer())).toEqual(
        bytes.subarray(995)
      );
      const open = await get({ range: 'bytes=990-' });
      expect(open.headers.get('content-range')).toBe('bytes 990-999/1000');
      const beyond = await get({ range: 'bytes=1000-' });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get('content-range')).toBe('bytes */1000');
      expect(await beyond.json()).toMatchObject({
        statusCode: '416',
        code: 'InvalidRange'
      });
    });

    it('sends ETag, Content-Length and answers 304 to a matching If-None-Match', async () => {
      const full = await get({});
      expect(full.status).toBe(200);
      const etag = full.headers.get('etag');
      expect(etag).toBe(`"${sha256(bytes)}"`);
      expect(full.headers.get('content-length')).toBe('1000');
      expect(full.headers.get('accept-ranges')).toBe('bytes');
      await full.arrayBuffer();
      // fetch adds "Cache-Control: no-cache" to conditional requests unless told otherwise.
      const again = await get({
        'if-none-match': etag!,
        'cache-control': 'max-age=0'
      });
      expect(again.status).toBe(304);
      const head = await get({}, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('1000');
    });
  });
});

async function waitFor(
  condition: () => boolean,
  timeoutMs = 10000
): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) {
      throw new Error('Timed out waiting for a condition.');
    }
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}
