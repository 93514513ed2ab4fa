import { decodeJwt, SignJWT, type JWTPayload } from 'jose';
import { loadJwtKeys } from '../../src/auth/keys';
import {
  freePort,
  startJobsSidecar,
  type JobsSidecar,
  type Person
} from '../jobs/harness';
import { connectEvents } from '../projects/harness';
import { BACKENDS } from '../support/postgres';

/**
 * Security issue #12, part 5: "After `POST /auth/v1/logout?scope=global`,
 * the same access token still read and wrote `/api/v1/projects`, MLflow and
 * storage, and kept receiving WebSocket events." Reproduced against the real
 * sidecar on each backend: every API family refuses a token whose session
 * ended, the event stream closes, `aud` and `iss` are checked, and a hosted
 * project's sign-out reaches a sidecar that only verifies its tokens.
 * (Training jobs' tokens: sessions-jobs.spec.ts.)
 */
const PASSWORD = 'train1ng-jobs';
const CSV = 'id,amount,approved\n1,100,yes\n2,250,no\n3,75,yes\n4,310,no\n';

describe.each(BACKENDS)('sessions and tokens on %s', backend => {
  let t: JobsSidecar;
  let anonKey: string;

  beforeAll(async () => {
    // A fixed port: the public URL, and so `iss`, is the URL it is reached at.
    const port = await freePort();
    t = await startJobsSidecar({
      backend,
      env: { INSIGHTER_API_PORT: String(port) }
    });
    anonKey = (await t.api(null, 'GET', '/api/v1/config')).body
      .supabase_anon_key;
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  /** A person with a project and a dataset: what every family has to show. */
  async function personWithData(): Promise<{
    person: Person;
    projectId: string;
    slug: string;
    datasetId: string;
  }> {
    const person = await t.person();
    const project = await t.project(person);
    const dataset = await t.dataset(person, project.id, 'loans', CSV);
    return {
      person,
      projectId: project.id,
      slug: project.slug,
      datasetId: dataset.id
    };
  }

  const auth = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`${t.url}/auth/v1/${path}`, {
      ...init,
      headers: {
        apikey: anonKey,
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...init.headers
      }
    });

  const signIn = async (email: string): Promise<string> => {
    const res = await fetch(`${t.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { apikey: anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD })
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };

  /** The status each API family answers a token with. */
  async function reach(
    token: string,
    data: { person: Person; slug: string; datasetId: string }
  ): Promise<Record<string, number>> {
    const call = async (method: string, path: string, body?: unknown) =>
      (await t.api({ ...data.person, token }, method, path, body)).status;
    return {
      'read projects': await call('GET', '/api/v1/projects'),
      'write projects': await call('POST', '/api/v1/projects', {
        name: `After ${Date.now()}`
      }),
      teams: await call('GET', '/api/v1/teams'),
      jobs: await call('GET', '/api/v1/jobs'),
      datasets: await call(
        'GET',
        `/api/v1/datasets/${data.datasetId}/content?version=1`
      ),
      mlflow: await call('POST', '/api/2.0/mlflow/experiments/search', {
        max_results: 10
      }),
      storage: await call('POST', '/storage/v1/object/list/uploads', {
        prefix: data.person.id
      }),
      // No deployment under this slug: a signed-in caller learns 404, anyone else 401.
      predict: await call('POST', `/api/v1/predict/${data.slug}`, {
        inputs: [[1]]
      })
    };
  }

  const accepted = {
    'read projects': 200,
    'write projects': 201,
    teams: 200,
    jobs: 200,
    datasets: 200,
    mlflow: 200,
    storage: 200,
    predict: 404
  };
  const refused = {
    'read projects': 401,
    'write projects': 401,
    teams: 401,
    jobs: 401,
    datasets: 401,
    mlflow: 401,
    storage: 400,
    predict: 401
  };

  it('refuses the token in every API family, and closes its event stream, once the person signs out everywhere', async () => {
    const data = await personWithData();
    const { token } = data.person;
    expect(await reach(token, data)).toEqual(accepted);
    const events = await t.events(data.person);

    const logout = await auth('logout?scope=global', token, { method: 'POST' });
    expect(logout.status).toBe(204);

    expect(await reach(token, data)).toEqual(refused);
    expect(await events.closed(5000)).toEqual({
      code: 4401,
      reason: 'Your session has ended: sign in again.'
    });
    // A new stream with the old token is refused too.
    const again = await connectEvents(t.url, { header: `Bearer ${token}` });
    expect((await again.closed(5000)).code).toBe(4401);
    // The project made before signing out is still there for a new session.
    const fresh = await signIn(data.person.email);
    expect((await reach(fresh, data))['read projects']).toBe(200);
  });

  it('ends only the other sessions on "sign out elsewhere" and on a new password, and this one on "sign out here"', async () => {
    const data = await personWithData();
    const here = data.person.token;
    const elsewhere = await signIn(data.person.email);
    const projects = async (token: string) =>
      (await reach(token, data))['read projects'];
    expect(await projects(elsewhere)).toBe(200);

    expect(
      (await auth('logout?scope=others', here, { method: 'POST' })).status
    ).toBe(204);
    expect(await projects(elsewhere)).toBe(401);
    expect(await projects(here)).toBe(200);

    const third = await signIn(data.person.email);
    const changed = await auth('user', here, {
      method: 'PUT',
      body: JSON.stringify({ password: 'n3w-password-for-sure' })
    });
    expect(changed.status).toBe(200);
    expect(await projects(third)).toBe(401);
    expect(await projects(here)).toBe(200);

    expect(
      (await auth('logout?scope=local', here, { method: 'POST' })).status
    ).toBe(204);
    expect(await projects(here)).toBe(401);
  });

  it('checks aud and iss in every API family, not only the signature', async () => {
    const data = await personWithData();
    const { secret } = await loadJwtKeys(t.dataDir);
    const genuine = decodeJwt(data.person.token);
    const resign = (claims: JWTPayload) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(secret);
    // The same claims signed again pass: only the changed claim is refused below.
    expect(await reach(await resign(genuine), data)).toEqual(accepted);

    const forged = {
      'aud anon': { ...genuine, aud: 'anon' },
      'no aud': { ...genuine, aud: undefined },
      'another issuer': {
        ...genuine,
        iss: 'https://another-project.supabase.co/auth/v1'
      },
      'no issuer': { ...genuine, iss: undefined }
    };
    for (const [what, claims] of Object.entries(forged)) {
      const token = await resign(claims);
      expect({ what, ...(await reach(token, data)) }).toEqual({
        what,
        ...refused
      });
      const events = await connectEvents(t.url, {
        header: `Bearer ${token}`
      });
      expect({ what, code: (await events.closed(5000)).code }).toEqual({
        what,
        code: 4401
      });
    }
  });

  describe('in front of a hosted project (SUPABASE_URL): the sidecar asks its GoTrue', () => {
    let hosted: JobsSidecar;

    beforeAll(async () => {
      // The sidecar above plays the hosted project: its /auth/v1 is GoTrue's.
      const keys = await loadJwtKeys(t.dataDir);
      const config = (await t.api(null, 'GET', '/api/v1/config')).body;
      hosted = await startJobsSidecar({
        backend,
        env: {
          SUPABASE_URL: t.url,
          SUPABASE_ANON_KEY: config.supabase_anon_key,
          SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
          SUPABASE_JWT_SECRET: new TextDecoder().decode(keys.secret),
          INSIGHTER_AUTH_SESSION_CHECK_MS: '1000'
        }
      });
    }, 120_000);

    afterAll(async () => {
      await hosted?.close();
    });

    const projects = async (token: string) =>
      (
        await hosted.api(
          { id: '', email: '', token },
          'GET',
          '/api/v1/projects'
        )
      ).status;

    it('stops a token within a few seconds of its sign-out at the project, and closes its stream', async () => {
      const person = await t.person();
      expect(await projects(person.token)).toBe(200);
      const events = await connectEvents(hosted.url, {
        header: `Bearer ${person.token}`
      });

      expect(
        (await auth('logout?scope=global', person.token, { method: 'POST' }))
          .status
      ).toBe(204);
      const signedOut = Date.now();
      while ((await projects(person.token)) === 200) {
        expect(Date.now() - signedOut).toBeLessThan(5000);
        await new Promise(resolve => setTimeout(resolve, 100));
      }
      expect(await projects(person.token)).toBe(401);
      expect(await events.closed(5000)).toMatchObject({ code: 4401 });
    });

    it("refuses the project's tokens from another issuer or audience", async () => {
      const person = await t.person();
      const { secret } = await loadJwtKeys(t.dataDir);
      const genuine = decodeJwt(person.token);
      const resign = (claims: JWTPayload) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .sign(secret);
      expect(await projects(await resign(genuine))).toBe(200);
      expect(
        await projects(
          await resign({ ...genuine, iss: 'https://elsewhere.example/auth/v1' })
        )
      ).toBe(401);
      expect(await projects(await resign({ ...genuine, aud: 'anon' }))).toBe(
        401
      );
    });
  });
});
