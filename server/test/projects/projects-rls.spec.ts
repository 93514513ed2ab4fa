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
 * Row-level security on public.projects, straight in SQL as each kind of
 * user (what supabase-js clients get too): owner, teammates by role,
 * outsider, anon.
 */
type Role = 'viewer' | 'member' | 'admin' | 'owner';

describe.each(BACKENDS)('projects RLS on %s', backend => {
  let t: TestDatabase;
  let owner: TestUser;
  let outsider: TestUser;
  const teammates = {} as Record<Role, TestUser>;
  let teamId: string;
  let otherTeamId: string;

  const as = <T>(user: TestUser | null, fn: (tx: Queryable) => Promise<T>) =>
    t.db.withClaims(user?.claims ?? null, fn);

  const insert = (user: TestUser | null, values: Record<string, unknown>) =>
    as(user, tx => {
      const columns = Object.keys(values);
      return tx.query<{ id: string }>(
        `insert into public.projects (${columns.join(', ')})
         values (${columns.map((_, i) => `$${i + 1}`).join(', ')}) returning id`,
        Object.values(values)
      );
    });

  const visibleIds = async (user: TestUser | null) =>
    (
      await as(user, tx =>
        tx.query<{ id: string }>('select id from public.projects')
      )
    ).rows
      .map(r => r.id)
      .sort();

  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return sqlState(err);
    }
    return 'succeeded';
  };

  // Without `returning`: the creator can read the team only once the
  // after-insert trigger made them its owner.
  const createTeam = async (user: TestUser, name: string) => {
    const id = randomUUID();
    await as(user, tx =>
      tx.query('insert into public.teams (id, name) values ($1, $2)', [
        id,
        name
      ])
    );
    return id;
  };

  let slugCounter = 0;
  const slug = () => `rls-${backend}-${++slugCounter}`;

  let privateId: string;
  let teamProjectId: string;

  beforeAll(async () => {
    t = await freshDatabase(backend);
    owner = await createUser(t.db);
    outsider = await createUser(t.db);
    for (const role of ['viewer', 'member', 'admin', 'owner'] as Role[]) {
      teammates[role] = await createUser(t.db);
    }
    teamId = await createTeam(teammates.owner, 'Data team');
    otherTeamId = await createTeam(outsider, 'Other team');
    await t.db.asService(async tx => {
      for (const role of ['viewer', 'member', 'admin'] as Role[]) {
        await tx.query(
          'insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)',
          [teamId, teammates[role].id, role]
        );
      }
      await tx.query(
        "insert into public.team_members (team_id, user_id, role) values ($1, $2, 'member')",
        [teamId, owner.id]
      );
    });
    privateId = (await insert(owner, { slug: slug(), name: 'Private' })).rows[0]
      .id;
    teamProjectId = (
      await insert(owner, {
        slug: slug(),
        name: 'Shared',
        visibility: 'team',
        team_id: teamId
      })
    ).rows[0].id;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('sets the owner from the token and fills the defaults', async () => {
    const row = await as(owner, tx =>
      tx.query(
        'select owner_id, visibility, description, team_id from public.projects where id = $1',
        [privateId]
      )
    );
    expect(row.rows[0]).toEqual({
      owner_id: owner.id,
      visibility: 'private',
      description: '',
      team_id: null
    });
  });

  it('shows private projects to their owner only', async () => {
    expect(await visibleIds(owner)).toEqual([privateId, teamProjectId].sort());
    for (const role of ['viewer', 'member', 'admin', 'owner'] as Role[]) {
      expect(await visibleIds(teammates[role])).toEqual([teamProjectId]);
    }
    expect(await visibleIds(outsider)).toEqual([]);
    expect(await visibleIds(null)).toEqual([]);
  });

  it('lets members and above, not viewers, create team projects', async () => {
    const teamProject = () => ({
      slug: slug(),
      name: 'By role',
      visibility: 'team',
      team_id: teamId
    });
    expect(await failure(insert(teammates.viewer, teamProject()))).toBe(
      SqlState.rls
    );
    for (const role of ['member', 'admin', 'owner'] as Role[]) {
      expect(await failure(insert(teammates[role], teamProject()))).toBe(
        'succeeded'
      );
    }
    expect(await failure(insert(outsider, teamProject()))).toBe(SqlState.rls);
    expect(await failure(insert(null, teamProject()))).toBe(SqlState.denied);
  });

  it('refuses projects owned by someone else, and a team without visibility team', async () => {
    expect(
      await failure(
        insert(owner, { slug: slug(), name: 'Spoofed', owner_id: outsider.id })
      )
    ).toBe(SqlState.denied);
    expect(
      await failure(
        insert(owner, { slug: slug(), name: 'Half shared', team_id: teamId })
      )
    ).toBe(SqlState.check);
    // The policies already refuse a team project without a team, before the check constraint.
    expect(
      await failure(
        insert(owner, { slug: slug(), name: 'No team', visibility: 'team' })
      )
    ).toBe(SqlState.rls);
  });

  it('checks names, descriptions and slugs', async () => {
    expect(await failure(insert(owner, { slug: slug(), name: '   ' }))).toBe(
      SqlState.check
    );
    expect(
      await failure(insert(owner, { slug: slug(), name: 'x'.repeat(101) }))
    ).toBe(SqlState.check);
    expect(
      await failure(
        insert(owner, {
          slug: slug(),
          name: 'Long',
          description: 'x'.repeat(2001)
        })
      )
    ).toBe(SqlState.check);
    expect(
      await failure(insert(owner, { slug: 'Not A Slug', name: 'Bad slug' }))
    ).toBe(SqlState.check);
    const taken = await as(owner, tx =>
      tx.query<{ slug: string }>(
        'select slug from public.projects where id = $1',
        [privateId]
      )
    );
    expect(
      await failure(
        insert(outsider, { slug: taken.rows[0].slug, name: 'Copy' })
      )
    ).toBe(SqlState.unique);
  });

  const rename = (user: TestUser | null, id: string, name: string) =>
    as(user, tx =>
      tx.query('update public.projects set name = $2 where id = $1', [id, name])
    );

  it('lets members and above, not viewers or outsiders, change team projects', async () => {
    expect(
      (await rename(teammates.viewer, teamProjectId, 'Viewer was here'))
        .rowCount
    ).toBe(0);
    expect(
      (await rename(outsider, teamProjectId, 'Outsider was here')).rowCount
    ).toBe(0);
    expect(await failure(rename(null, teamProjectId, 'Anon was here'))).toBe(
      SqlState.denied
    );
    for (const role of ['member', 'admin', 'owner'] as Role[]) {
      expect(
        (await rename(teammates[role], teamProjectId, `Renamed by ${role}`))
          .rowCount
      ).toBe(1);
    }
    expect((await rename(owner, privateId, 'Still private')).rowCount).toBe(1);
    for (const role of ['member', 'admin', 'owner'] as Role[]) {
      expect((await rename(teammates[role], privateId, 'Nope')).rowCount).toBe(
        0
      );
    }
  });

  it('keeps the owner, slug and timestamps out of reach', async () => {
    for (const assignment of [
      `owner_id = '${outsider.id}'`,
      "slug = 'hijacked'",
      'created_at = now()'
    ]) {
      expect(
        await failure(
          as(owner, tx =>
            tx.query(`update public.projects set ${assignment} where id = $1`, [
              privateId
            ])
          )
        )
      ).toBe(SqlState.denied);
    }
  });

  it('leaves who a project is shared with to its owner', async () => {
    const makePrivate = (user: TestUser) =>
      as(user, tx =>
        tx.query(
          "update public.projects set visibility = 'private', team_id = null where id = $1",
          [teamProjectId]
        )
      );
    expect(await failure(makePrivate(teammates.admin))).toBe('IN101');
    expect(
      await failure(
        as(owner, tx =>
          tx.query('update public.projects set team_id = $2 where id = $1', [
            teamProjectId,
            otherTeamId
          ])
        )
      )
    ).toBe(SqlState.rls);
    const p = (await insert(owner, { slug: slug(), name: 'To share' })).rows[0]
      .id;
    const shared = await as(owner, tx =>
      tx.query(
        "update public.projects set visibility = 'team', team_id = $2 where id = $1",
        [p, teamId]
      )
    );
    expect(shared.rowCount).toBe(1);
    expect(await visibleIds(teammates.viewer)).toContain(p);
  });

  it('lets the project owner and team owners and admins delete, nobody else', async () => {
    const teamProject = async () =>
      (
        await insert(teammates.member, {
          slug: slug(),
          name: 'Doomed',
          visibility: 'team',
          team_id: teamId
        })
      ).rows[0].id;
    const remove = (user: TestUser | null, id: string) =>
      as(user, tx =>
        tx.query('delete from public.projects where id = $1', [id])
      );
    const id = await teamProject();
    for (const user of [teammates.viewer, owner, outsider, null]) {
      expect((await remove(user, id)).rowCount).toBe(0);
    }
    expect((await remove(teammates.admin, id)).rowCount).toBe(1);
    expect((await remove(teammates.owner, await teamProject())).rowCount).toBe(
      1
    );
    expect((await remove(teammates.member, await teamProject())).rowCount).toBe(
      1
    );
    expect((await remove(teammates.admin, privateId)).rowCount).toBe(0);
  });

  it('hides a team project from someone who leaves the team', async () => {
    const leaver = await createUser(t.db);
    await t.db.asService(tx =>
      tx.query(
        "insert into public.team_members (team_id, user_id, role) values ($1, $2, 'viewer')",
        [teamId, leaver.id]
      )
    );
    expect(await visibleIds(leaver)).toContain(teamProjectId);
    await as(leaver, tx =>
      tx.query('delete from public.team_members where user_id = auth.uid()')
    );
    expect(await visibleIds(leaver)).toEqual([]);
  });

  it('suggests a free slug, minding projects nobody can see without counting them', async () => {
    const suggest = (user: TestUser | null, base: string) =>
      as(user, tx =>
        tx.query<{ s: string }>(
          'select public.available_project_slug($1) as s',
          [base]
        )
      );
    await insert(owner, { slug: 'churn', name: 'Churn' });
    await insert(owner, { slug: 'churn-2', name: 'Churn' });
    await insert(owner, { slug: 'churn-4', name: 'Churn' });
    const suggested = (await suggest(outsider, 'churn')).rows[0].s;
    expect(suggested).toMatch(/^churn-[a-p]{6}$/);
    expect(['churn-2', 'churn-4']).not.toContain(suggested);
    expect((await suggest(outsider, 'fresh')).rows[0].s).toBe('fresh');
    expect(await failure(suggest(null, 'churn'))).toBe(SqlState.denied);
  });

  it('removes a team’s projects with the team', async () => {
    const doomedTeam = await createTeam(outsider, 'Doomed');
    const id = (
      await insert(outsider, {
        slug: slug(),
        name: 'Goes too',
        visibility: 'team',
        team_id: doomedTeam
      })
    ).rows[0].id;
    await as(outsider, tx =>
      tx.query('delete from public.teams where id = $1', [doomedTeam])
    );
    expect(await visibleIds(outsider)).not.toContain(id);
    const left = await t.db.asService(tx =>
      tx.query('select 1 from public.projects where id = $1', [id])
    );
    expect(left.rowCount).toBe(0);
  });
});

const SqlState = {
  /** new row violates row-level security policy */
  rls: '42501',
  /** permission denied (column or function privilege) */
  denied: '42501',
  check: '23514',
  unique: '23505'
};
