import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { loadJwtKeys } from '../../src/auth/keys';
import {
  startDatasetsTestServer,
  type DatasetsTestServer,
  type Person
} from '../datasets/harness';
import { BACKENDS } from '../support/postgres';

/**
 * Security issue #12, part 4: stored script on the Jupyter origin. A page
 * uploaded to Storage and opened through a signed URL ran on the lab's
 * origin (the sidecar is proxied there) and used Jupyter's XSRF cookie
 * against its kernels API. Now user content is a download unless it is a
 * type browsers show without running anything, with nosniff and a sandbox
 * policy always; signed URLs live 7 days at most and stop working for
 * someone who may no longer read the object. (The Jupyter proxy's own
 * headers are tested in extensions/app/test/proxy.spec.ts.)
 */
const PAGE =
  '<script>fetch("/api/kernelspecs", {headers: {"X-XSRFToken": document.cookie}})</script>';
const SEVEN_DAYS = 7 * 24 * 3600;
const TEN_YEARS = 10 * 365 * 24 * 3600;

describe.each(BACKENDS)('user content and signed URLs on %s', backend => {
  let t: DatasetsTestServer;
  let owner: Person;
  let member: Person;

  beforeAll(async () => {
    t = await startDatasetsTestServer({ backend });
    owner = await t.person('Olga Owner');
    member = await t.person('Max Member');
  });

  afterAll(async () => {
    await t?.close();
  });

  const storage = (
    person: Person | null,
    method: string,
    pathname: string,
    init: { body?: string; contentType?: string } = {}
  ) =>
    fetch(`${t.url}/storage/v1${pathname}`, {
      method,
      headers: {
        ...(person ? { authorization: `Bearer ${person.token}` } : {}),
        ...(init.contentType ? { 'content-type': init.contentType } : {})
      },
      body: init.body
    });
  const upload = async (
    person: Person,
    file: string,
    type: string,
    body = PAGE
  ) => {
    const key = `${person.id}/${randomUUID()}/${file}`;
    const res = await storage(person, 'POST', `/object/uploads/${key}`, {
      body,
      contentType: type
    });
    expect(res.status).toBe(200);
    return key;
  };
  const sign = (person: Person, key: string, expiresIn: number) =>
    storage(person, 'POST', `/object/sign/uploads/${key}`, {
      body: JSON.stringify({ expiresIn }),
      contentType: 'application/json'
    });
  const signedUrl = async (person: Person, key: string, expiresIn = 3600) => {
    const res = await sign(person, key, expiresIn);
    expect(res.status).toBe(200);
    return `${t.url}/storage/v1${((await res.json()) as { signedURL: string }).signedURL}`;
  };
  const expectContained = (res: Response) => {
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe('sandbox');
  };

  describe('uploaded pages', () => {
    it('sends an HTML page behind a signed URL as a download, sandboxed and not sniffed', async () => {
      const key = await upload(owner, 'evil.html', 'text/html');
      const res = await fetch(await signedUrl(owner, key));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="evil.html"; filename*=UTF-8''evil.html`
      );
      expectContained(res);
      expect(await res.text()).toBe(PAGE);
    });

    it('does the same for the owner’s own download, and for SVG and types that hide HTML', async () => {
      for (const [file, type] of [
        ['evil.html', 'text/html'],
        ['evil.svg', 'image/svg+xml'],
        ['evil.xhtml', 'application/xhtml+xml'],
        ['evil.csv', 'text/csv, text/html'],
        ['evil.bin', 'application/octet-stream']
      ]) {
        const key = await upload(owner, file, type);
        const res = await storage(owner, 'GET', `/object/uploads/${key}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-disposition')).toMatch(/^attachment; /);
        expectContained(res);
      }
    });

    it('shows images, text, CSV and JSON in the tab, still sandboxed and not sniffed', async () => {
      for (const [file, type] of [
        ['plot.png', 'image/png'],
        ['notes.txt', 'text/plain; charset=utf-8'],
        ['data.csv', 'text/csv'],
        ['metrics.json', 'application/json']
      ]) {
        const key = await upload(owner, file, type, 'a,b\n1,2\n');
        const res = await fetch(await signedUrl(owner, key));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-disposition')).toBeNull();
        expectContained(res);
      }
    });

    it('sends a dataset file as a sandboxed, unsniffed download', async () => {
      const projectId = await t.project(owner);
      const uploaded = await t.upload(
        owner,
        { project_id: projectId, name: 'page' },
        'a,b\n<script>x</script>,2\n'
      );
      expect(uploaded.status).toBe(201);
      const res = await fetch(
        `${t.url}/api/v1/datasets/${uploaded.body.id}/content`,
        {
          headers: { authorization: `Bearer ${owner.token}` }
        }
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; /);
      expectContained(res);
    });
  });

  describe('signed URL lifetimes', () => {
    it('refuses more than 7 days (10 years were granted) with 400, one URL or many', async () => {
      const key = await upload(owner, 'long.csv', 'text/csv', 'a\n1\n');
      const one = await sign(owner, key, TEN_YEARS);
      expect(one.status).toBe(400);
      expect(await one.json()).toMatchObject({
        statusCode: '400',
        code: 'InvalidRequest',
        message: expect.stringMatching(
          /^expiresIn must be at most 604800 seconds \(7 days\)/
        )
      });
      const many = await storage(owner, 'POST', '/object/sign/uploads', {
        body: JSON.stringify({ expiresIn: SEVEN_DAYS + 1, paths: [key] }),
        contentType: 'application/json'
      });
      expect(many.status).toBe(400);
      expect(await many.json()).toMatchObject({ code: 'InvalidRequest' });
      expect((await sign(owner, key, SEVEN_DAYS)).status).toBe(200);
    });

    it('refuses a longer-lived URL signed before the limit when it is used', async () => {
      const key = await upload(owner, 'old.csv', 'text/csv', 'a\n1\n');
      const now = Math.floor(Date.now() / 1000);
      // What the sidecar signed before: the object and an expiry, 10 years on.
      const token = await new SignJWT({ url: `uploads/${key}` })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt(now)
        .setExpirationTime(now + TEN_YEARS)
        .sign((await loadJwtKeys(t.dataDir)).secret);
      const res = await fetch(
        `${t.url}/storage/v1/object/sign/uploads/${key}?token=${token}`
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        code: 'InvalidJWT',
        message: 'jwt lifetime exceeds the maximum of 7 days'
      });
    });

    it('does not let a signed URL pass for its signer’s access token', async () => {
      const key = await upload(owner, 'token.csv', 'text/csv', 'a\n1\n');
      const token = new URL(await signedUrl(owner, key)).searchParams.get(
        'token'
      )!;
      const res = await fetch(`${t.url}/api/v1/projects`, {
        headers: { authorization: `Bearer ${token}` }
      });
      expect(res.status).toBe(401);
    });
  });

  describe('a member removed from a team', () => {
    it('can sign no new URL for the team’s files, and the URLs they signed stop working at once', async () => {
      const teamId = await t.team(owner, [[member, 'member']]);
      const projectId = await t.project(owner, teamId);
      const uploaded = await t.upload(
        owner,
        { project_id: projectId, name: 'shared' },
        'a,b\n1,2\n'
      );
      expect(uploaded.status).toBe(201);
      const { rows } = await t.auth.db.asService(tx =>
        tx.query<{ object_path: string }>(
          'select object_path from public.dataset_versions where dataset_id = $1',
          [uploaded.body.id]
        )
      );
      const key = rows[0].object_path;
      const membersUrl = await signedUrl(member, key);
      const ownersUrl = await signedUrl(owner, key);
      expect((await fetch(membersUrl)).status).toBe(200);

      const removed = await t.api(
        owner,
        'DELETE',
        `/api/v1/teams/${teamId}/members/${member.id}`
      );
      expect(removed.status).toBe(204);

      const again = await sign(member, key, 3600);
      expect(again.status).toBe(404);
      const stale = await fetch(membersUrl);
      expect(stale.status).toBe(404);
      expect(await stale.json()).toMatchObject({ code: 'NoSuchKey' });
      // The owner's own URL goes on working.
      expect((await fetch(ownersUrl)).status).toBe(200);
    });
  });
});
