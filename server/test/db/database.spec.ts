import { databaseHealthCheck } from '../../src/db/health';
import type { Queryable } from '../../src/db/types';
import {
  BACKENDS,
  claimsFor,
  createUser,
  freshDatabase,
  type TestDatabase
} from '../support/postgres';

interface Session {
  current_user: string;
  uid: string | null;
  role: string | null;
  email: string | null;
  aud: string | null;
}

const whoAmI = async (tx: Queryable): Promise<Session> =>
  (
    await tx.query<Session>(
      `select current_user, auth.uid() as uid, auth.role() as role, auth.email() as email,
              auth.jwt() ->> 'aud' as aud`
    )
  ).rows[0];

describe.each(BACKENDS)('the database layer on %s', backend => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase(backend);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('runs withClaims as the authenticated role with the user’s claims', async () => {
    const user = await createUser(t.db);
    const session = await t.db.withClaims(user.claims, whoAmI);
    expect(session).toEqual({
      current_user: 'authenticated',
      uid: user.id,
      role: 'authenticated',
      email: user.email,
      aud: 'authenticated'
    });
  });

  it('runs null claims as anon, with no user', async () => {
    const session = await t.db.withClaims(null, whoAmI);
    expect(session).toMatchObject({
      current_user: 'anon',
      uid: null,
      role: 'anon'
    });
  });

  it('does not leak claims or role into the next transaction', async () => {
    const user = await createUser(t.db);
    await t.db.withClaims(user.claims, whoAmI);
    const after = await t.db.asService(async tx => ({
      ...(await whoAmI(tx)),
      claims: (
        await tx.query<{ c: string | null }>(
          "select current_setting('request.jwt.claims', true) as c"
        )
      ).rows[0].c
    }));
    expect(after.current_user).not.toBe('authenticated');
    expect(after.uid).toBeNull();
    expect(after.claims ?? '').toBe('');
  });

  it('does not leak them after a failed transaction either', async () => {
    const user = await createUser(t.db);
    await expect(
      t.db.withClaims(user.claims, async tx => {
        await tx.query('select 1');
        throw new Error('boom');
      })
    ).rejects.toThrow('boom');
    const after = await t.db.asService(whoAmI);
    expect(after.current_user).not.toBe('authenticated');
    expect(after.uid).toBeNull();
  });

  it('gives each of many concurrent requests its own user', async () => {
    const users = await Promise.all(
      Array.from({ length: 6 }, () => createUser(t.db))
    );
    const seen = await Promise.all(
      users.flatMap(u => [1, 2, 3].map(() => t.db.withClaims(u.claims, whoAmI)))
    );
    const expected = users.flatMap(u => [u.id, u.id, u.id]);
    expect(seen.map(s => s.uid)).toEqual(expected);
  });

  it('rolls back everything when the work fails', async () => {
    const id = '8d3c7f0e-1111-4b4b-9c9c-000000000001';
    await expect(
      t.db.asService(async tx => {
        await tx.query(
          "insert into auth.users (id, email, raw_user_meta_data) values ($1, 'rollback@example.com', '{}')",
          [id]
        );
        throw new Error('changed my mind');
      })
    ).rejects.toThrow('changed my mind');
    const { rows } = await t.db.asService(tx =>
      tx.query('select 1 from auth.users where id = $1', [id])
    );
    expect(rows).toHaveLength(0);
  });

  it('refuses a claims role that is not one of the API roles', async () => {
    const claims = {
      ...claimsFor('8d3c7f0e-1111-4b4b-9c9c-000000000002', 'x@example.com')
    };
    (claims as { role: string }).role = 'postgres';
    await expect(t.db.withClaims(claims, whoAmI)).rejects.toThrow(
      /not an API role/
    );
  });

  it('refuses a nested transaction instead of deadlocking', async () => {
    await expect(
      t.db.asService(async () => t.db.asService(tx => tx.query('select 1')))
    ).rejects.toThrow(/Nested database call/);
    // And the database still answers afterwards.
    await expect(t.db.ping()).resolves.toBeUndefined();
  });

  it('refuses a transaction handle used after its transaction ended', async () => {
    let leaked: Queryable | undefined;
    await t.db.asService(async tx => {
      leaked = tx;
    });
    await expect(leaked!.query('select 1')).rejects.toThrow(
      /transaction has ended/
    );
  });

  it('reports the database as ok, with its backend, to the status check', async () => {
    const health = await databaseHealthCheck(t.db).check();
    expect(health).toMatchObject({ state: 'ok', backend });
    expect(health.detail).toMatch(
      backend === 'pglite' ? /PGlite/ : /PostgreSQL at 127\.0\.0\.1/
    );
  });
});

describe.each(BACKENDS)('the status check when %s is gone', backend => {
  it('reports down with the reason', async () => {
    const t = await freshDatabase(backend);
    await t.close();
    const health = await databaseHealthCheck(t.db).check();
    expect(health.state).toBe('down');
    expect(health.backend).toBe(backend);
    expect(health.detail).toMatch(/^The database does not answer: ./);
  });
});
