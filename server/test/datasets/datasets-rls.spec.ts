import { randomUUID } from 'node:crypto';
import { sqlState } from '../../src/db/errors';
import type { Queryable } from '../../src/db/types';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/**
 * Row-level security of the data catalog straight in SQL, as each kind of
 * user (what a supabase-js client gets too): datasets and versions, and the
 * Storage policies that share dataset files with the project's readers —
 * and nothing else of the uploader's folder.
 */
type Role = 'viewer' | 'member' | 'admin' | 'owner';

describe.each(BACKENDS)('datasets RLS on %s', backend => {
  let t: TestDatabase;
  let owner: TestUser;
  let outsider: TestUser;
  const teammates = {} as Record<Role, TestUser>;
  let projectId: string;
  let datasetId: string;
  let objectPath: string;

  const as = <T>(user: TestUser | null, fn: (tx: Queryable) => Promise<T>) =>
    t.db.withClaims(user?.claims ?? null, fn);
  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return sqlState(err);
    }
    return 'succeeded';
  };
  const count = async (user: TestUser | null, sql: string, params: unknown[]) =>
    (await as(user, tx => tx.query(sql, params))).rows.length;
  const insertVersion = (
    user: TestUser,
    values: { version: number; object_path: string; dataset_id?: string }
  ) =>
    as(user, tx =>
      tx.query(
        `insert into public.dataset_versions
           (dataset_id, version, format, file_name, content_type, object_path)
         values ($1, $2, 'csv', 'f.csv', 'text/csv', $3)`,
        [values.dataset_id ?? datasetId, values.version, values.object_path]
      )
    );
  const storeObject = (user: TestUser, name: string) =>
    as(user, tx =>
      tx.query(
        "insert into storage.objects (bucket_id, name, owner, owner_id) values ('uploads', $1, auth.uid(), auth.uid()::text)",
        [name]
      )
    );

  beforeAll(async () => {
    t = await freshDatabase(backend);
    owner = await createUser(t.db, { fullName: 'Olga Owner' });
    outsider = await createUser(t.db, { fullName: 'Oscar Outsider' });
    for (const role of ['viewer', 'member', 'admin', 'owner'] as Role[]) {
      teammates[role] = await createUser(t.db, { fullName: `Team ${role}` });
    }
    const teamId = randomUUID();
    await as(owner, tx =>
      tx.query('insert into public.teams (id, name) values ($1, $2)', [
        teamId,
        'Data team'
      ])
    );
    await t.db.asService(async tx => {
      for (const [role, user] of Object.entries(teammates)) {
        await tx.query(
          'insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)',
          [teamId, user.id, role]
        );
      }
    });
    projectId = (
      await as(owner, tx =>
        tx.query<{ id: string }>(
          "insert into public.projects (slug, name, visibility, team_id) values ('rls-data', 'RLS data', 'team', $1) returning id",
          [teamId]
        )
      )
    ).rows[0].id;
    datasetId = (
      await as(teammates.member, tx =>
        tx.query<{ id: string }>(
          "insert into public.datasets (project_id, name) values ($1, 'loans') returning id",
          [projectId]
        )
      )
    ).rows[0].id;
    objectPath = `${teammates.member.id}/${datasetId}/loans.csv`;
    await insertVersion(teammates.member, {
      version: 1,
      object_path: objectPath
    });
    await storeObject(teammates.member, objectPath);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lets every reader of the project read datasets and versions, nobody else', async () => {
    for (const user of [owner, ...Object.values(teammates)]) {
      expect(
        await count(user, 'select 1 from public.datasets where id = $1', [
          datasetId
        ])
      ).toBe(1);
      expect(
        await count(
          user,
          'select 1 from public.dataset_versions where dataset_id = $1',
          [datasetId]
        )
      ).toBe(1);
    }
    expect(await count(outsider, 'select 1 from public.datasets', [])).toBe(0);
    expect(
      await count(outsider, 'select 1 from public.dataset_versions', [])
    ).toBe(0);
    expect(await count(null, 'select 1 from public.datasets', [])).toBe(0);
    expect(await count(null, 'select 1 from public.dataset_versions', [])).toBe(
      0
    );
  });

  it('lets writers (not viewers or outsiders) add, change and delete', async () => {
    const add = (user: TestUser, name: string) =>
      as(user, tx =>
        tx.query(
          'insert into public.datasets (project_id, name) values ($1, $2)',
          [projectId, name]
        )
      );
    expect(await failure(add(teammates.viewer, 'by viewer'))).toBe('42501');
    expect(await failure(add(outsider, 'by outsider'))).toBe('42501');
    expect(await failure(add(owner, 'by owner'))).toBe('succeeded');
    const rename = (user: TestUser) =>
      as(user, tx =>
        tx.query(
          "update public.datasets set description = 'changed' where id = $1",
          [datasetId]
        )
      );
    expect((await rename(teammates.viewer)).rowCount).toBe(0);
    expect((await rename(outsider)).rowCount).toBe(0);
    expect((await rename(teammates.admin)).rowCount).toBe(1);
    const remove = (user: TestUser) =>
      as(user, tx =>
        tx.query(
          "delete from public.datasets where project_id = $1 and name = 'by owner'",
          [projectId]
        )
      );
    expect((await remove(teammates.viewer)).rowCount).toBe(0);
    expect((await remove(teammates.member)).rowCount).toBe(1);
    expect(
      await failure(
        insertVersion(teammates.viewer, {
          version: 2,
          object_path: `${teammates.viewer.id}/${datasetId}/v2/x.csv`
        })
      )
    ).toBe('42501');
  });

  it("refuses a version pointing at anyone else's object, or at another dataset's folder", async () => {
    // The Storage read policy trusts object_path: it must stay in the
    // uploader's own folder under this dataset.
    expect(
      await failure(
        insertVersion(teammates.admin, {
          version: 2,
          object_path: `${outsider.id}/private/secret.csv`
        })
      )
    ).toBe('23514');
    expect(
      await failure(
        insertVersion(teammates.admin, {
          version: 2,
          object_path: `${teammates.admin.id}/${randomUUID()}/x.csv`
        })
      )
    ).toBe('23514');
    expect(
      await failure(
        insertVersion(teammates.admin, {
          version: 2,
          object_path: `${teammates.admin.id}/${datasetId}/../../${outsider.id}/x.csv`
        })
      )
    ).toBe('23514');
    // Who uploaded and where it lies are the system's: not changeable.
    expect(
      await failure(
        as(teammates.member, tx =>
          tx.query(
            'update public.dataset_versions set object_path = $2 where dataset_id = $1',
            [datasetId, `${outsider.id}/x.csv`]
          )
        )
      )
    ).toBe('42501');
    expect(
      await failure(
        as(teammates.member, tx =>
          tx.query(
            'update public.dataset_versions set uploaded_by = $2 where dataset_id = $1',
            [datasetId, outsider.id]
          )
        )
      )
    ).toBe('42501');
  });

  it("shares a dataset's file with the project's readers, and only that file", async () => {
    const other = `${teammates.member.id}/${randomUUID()}/private-notes.csv`;
    await storeObject(teammates.member, other);
    const seesObject = (user: TestUser, name: string) =>
      count(
        user,
        "select 1 from storage.objects where bucket_id = 'uploads' and name = $1",
        [name]
      );
    for (const user of [owner, teammates.viewer, teammates.admin]) {
      expect(await seesObject(user, objectPath)).toBe(1);
      expect(await seesObject(user, other)).toBe(0);
    }
    expect(await seesObject(outsider, objectPath)).toBe(0);
    expect(await seesObject(teammates.member, other)).toBe(1);

    const deleteObject = (user: TestUser, name: string) =>
      as(user, tx =>
        tx.query(
          "delete from storage.objects where bucket_id = 'uploads' and name = $1",
          [name]
        )
      );
    expect((await deleteObject(teammates.viewer, objectPath)).rowCount).toBe(0);
    expect((await deleteObject(outsider, objectPath)).rowCount).toBe(0);
    expect((await deleteObject(owner, other)).rowCount).toBe(0);
    expect((await deleteObject(owner, objectPath)).rowCount).toBe(1);
  });
});
