import type { ClientBase } from 'pg';
import { listProjects } from '../../src/adapters/projects-store';
import type { Connector } from '../../src/db/connector';
import { SqlDatabase } from '../../src/db/sql-database';
import { StatementCache } from '../../src/db/statement-cache';
import type { JwtClaims, Queryable } from '../../src/db/types';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  type TestDatabase
} from '../support/postgres';

describe('StatementCache', () => {
  it('names a statement from its third run on, the same name each time', () => {
    const cache = new StatementCache();
    const sql = 'select * from public.projects where id = $1';
    expect(cache.query(sql, [1]).name).toBeUndefined();
    expect(cache.query(sql, [2]).name).toBeUndefined();
    const third = cache.query(sql, [3]);
    expect(third).toEqual({ text: sql, values: [3], name: 'insighter_1' });
    expect(cache.query(sql, [4]).name).toBe('insighter_1');
    const other = 'select 1';
    for (let i = 0; i < 3; i++) {
      cache.query(other);
    }
    expect(cache.query(other).name).toBe('insighter_2');
  });

  it('never names more than its limit, nor several statements in one', () => {
    const cache = new StatementCache(2, 1);
    expect(cache.query('select 1').name).toBe('insighter_1');
    expect(cache.query('select 2').name).toBe('insighter_2');
    expect(cache.query('select 3').name).toBeUndefined();
    expect(cache.query('select 1').name).toBe('insighter_1');
    expect(
      new StatementCache(2, 1).query('begin; select 1').name
    ).toBeUndefined();
  });
});

describe('a transaction whose opening fails', () => {
  it('is rolled back, and the error answered', async () => {
    // A stand-in connection (this piece alone): the claims cannot be set.
    const sent: string[] = [];
    const client = {
      escapeLiteral: (text: string) => `'${text.replace(/'/g, "''")}'`,
      async query(text: string) {
        sent.push(text.split(';')[0]);
        if (text.startsWith('begin;')) {
          throw new Error('permission denied to set role');
        }
        return { rows: [], rowCount: 0 };
      }
    };
    const connector: Connector = {
      backend: 'postgres',
      withConnection: fn => fn(client as unknown as ClientBase, () => {}),
      close: async () => {}
    };
    const db = new SqlDatabase(connector, 'a stand-in');
    await expect(
      db.withClaims(
        { sub: 'x', role: 'authenticated' } as JwtClaims,
        async () => 1
      )
    ).rejects.toThrow('permission denied to set role');
    expect(sent).toEqual(['begin', 'rollback']);
  });
});

describe.each(BACKENDS)('transactions of the database layer on %s', backend => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase(backend);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('hands claims with quotes and backslashes to the database unchanged', async () => {
    const user = await createUser(t.db);
    const claims = {
      ...user.claims,
      user_metadata: { full_name: 'O\'Brien \\ "Bob" \'; drop table x; --' }
    };
    const seen = await t.db.withClaims(claims, async (tx: Queryable) => {
      const { rows } = await tx.query<{ claims: string; uid: string }>(
        "select current_setting('request.jwt.claims') as claims, auth.uid()::text as uid"
      );
      return rows[0];
    });
    expect(JSON.parse(seen.claims)).toEqual(claims);
    expect(seen.uid).toBe(user.id);
  });

  it("shows each user only their rows, however often a statement's plan is reused", async () => {
    const [alice, bob] = [await createUser(t.db), await createUser(t.db)];
    for (const [user, name] of [
      [alice, 'Alice project'],
      [bob, 'Bob project']
    ] as const) {
      await t.db.withClaims(user.claims, tx =>
        tx.query('insert into public.projects (slug, name) values ($1, $2)', [
          name.toLowerCase().replace(' ', '-') + `-${backend}`,
          name
        ])
      );
    }
    for (let i = 0; i < 6; i++) {
      for (const [user, name] of [
        [alice, 'Alice project'],
        [bob, 'Bob project']
      ] as const) {
        const rows = await t.db.withClaims(user.claims, listProjects);
        expect(rows.map(r => r.name)).toEqual([name]);
      }
    }
    expect(await t.db.withClaims(null, listProjects)).toEqual([]);
  });
});
