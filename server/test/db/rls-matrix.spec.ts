import { randomUUID } from 'node:crypto';
import type { JwtClaims, Queryable } from '../../src/db/types';
import { SqlState, sqlState } from '../../src/db/errors';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/**
 * Row-level security, table by table: for each operation on each table, who
 * is allowed — a team's owner, admin, member and viewer, a signed-in user
 * from outside the team, and anon. Every probe runs as that actor through
 * withClaims (exactly as requests do) and is rolled back, so all start from
 * the same state. On a mismatch the diff shows the rows of the matrix that
 * differ.
 */
const ACTORS = [
  'owner',
  'admin',
  'member',
  'viewer',
  'outsider',
  'anon'
] as const;
type Actor = (typeof ACTORS)[number];
type Op = 'select' | 'insert' | 'update' | 'delete';

interface World {
  users: Record<
    Exclude<Actor, 'anon'> | 'coOwner' | 'target' | 'newcomer' | 'noProfile',
    TestUser
  >;
  teamId: string;
  outsiderTeamId: string;
  invitationId: string;
}

interface Case {
  table: string;
  op: Op;
  what: string;
  allowed: readonly Actor[];
  /** Runs the operation as `me`; answers whether it was allowed. */
  probe(tx: Queryable, w: World, me: TestUser | undefined): Promise<boolean>;
}

const MEMBERS: readonly Actor[] = ['owner', 'admin', 'member', 'viewer'];
const SIGNED_IN: readonly Actor[] = [
  'owner',
  'admin',
  'member',
  'viewer',
  'outsider'
];
const MANAGERS: readonly Actor[] = ['owner', 'admin'];
const NOBODY: readonly Actor[] = [];

/** Refused outright (no privilege, or a policy's check failed): not allowed. */
const refused = (err: unknown) => {
  if (sqlState(err) === SqlState.insufficientPrivilege) {
    return false;
  }
  throw err;
};
/** select: were rows visible? */
const sees = async (tx: Queryable, sql: string, params: unknown[]) => {
  try {
    return (await tx.query(sql, params)).rows.length > 0;
  } catch (err) {
    return refused(err);
  }
};
/** insert/update/delete: did it change a row, or was it refused? */
const changes = async (tx: Queryable, sql: string, params: unknown[]) => {
  try {
    return (await tx.query(sql, params)).rowCount > 0;
  } catch (err) {
    return refused(err);
  }
};
const myId = (me: TestUser | undefined) => me?.id ?? null;

const CASES: Case[] = [
  // profiles
  {
    table: 'profiles',
    op: 'select',
    what: "the owner's profile",
    allowed: MEMBERS,
    probe: (tx, w) =>
      sees(tx, 'select 1 from public.profiles where id = $1', [
        w.users.owner.id
      ])
  },
  {
    table: 'profiles',
    op: 'select',
    what: "the outsider's profile",
    allowed: ['outsider'],
    probe: (tx, w) =>
      sees(tx, 'select 1 from public.profiles where id = $1', [
        w.users.outsider.id
      ])
  },
  {
    table: 'profiles',
    op: 'select',
    what: 'my own profile',
    allowed: SIGNED_IN,
    probe: tx =>
      sees(tx, 'select 1 from public.profiles where id = auth.uid()', [])
  },
  {
    table: 'profiles',
    op: 'insert',
    what: 'a profile for an account without one',
    allowed: NOBODY,
    probe: (tx, w) =>
      changes(
        tx,
        "insert into public.profiles (id, full_name) values ($1, 'X')",
        [w.users.noProfile.id]
      )
  },
  {
    table: 'profiles',
    op: 'update',
    what: "the owner's profile",
    allowed: ['owner'],
    probe: (tx, w) =>
      changes(
        tx,
        "update public.profiles set full_name = 'Changed' where id = $1",
        [w.users.owner.id]
      )
  },
  {
    table: 'profiles',
    op: 'update',
    what: 'my own profile',
    allowed: SIGNED_IN,
    probe: tx =>
      changes(
        tx,
        "update public.profiles set full_name = 'Me' where id = auth.uid()",
        []
      )
  },
  {
    table: 'profiles',
    op: 'delete',
    what: 'my own profile',
    allowed: NOBODY,
    probe: tx =>
      changes(tx, 'delete from public.profiles where id = auth.uid()', [])
  },
  {
    table: 'profiles',
    op: 'delete',
    what: "the owner's profile",
    allowed: NOBODY,
    probe: (tx, w) =>
      changes(tx, 'delete from public.profiles where id = $1', [
        w.users.owner.id
      ])
  },
  // teams
  {
    table: 'teams',
    op: 'select',
    what: 'the team',
    allowed: MEMBERS,
    probe: (tx, w) =>
      sees(tx, 'select 1 from public.teams where id = $1', [w.teamId])
  },
  {
    table: 'teams',
    op: 'select',
    what: "the outsider's own team",
    allowed: ['outsider'],
    probe: (tx, w) =>
      sees(tx, 'select 1 from public.teams where id = $1', [w.outsiderTeamId])
  },
  {
    table: 'teams',
    op: 'insert',
    what: 'a new team of my own',
    allowed: SIGNED_IN,
    probe: (tx, _w, me) =>
      changes(
        tx,
        "insert into public.teams (id, name, created_by) values ($1, 'New', $2)",
        [randomUUID(), myId(me)]
      )
  },
  {
    table: 'teams',
    op: 'insert',
    what: 'a team in somebody else’s name',
    allowed: NOBODY,
    probe: (tx, w, me) =>
      changes(
        tx,
        "insert into public.teams (id, name, created_by) values ($1, 'Forged', $2)",
        [
          randomUUID(),
          me?.id === w.users.owner.id ? w.users.outsider.id : w.users.owner.id
        ]
      )
  },
  {
    table: 'teams',
    op: 'update',
    what: "the team's name",
    allowed: MANAGERS,
    probe: (tx, w) =>
      changes(tx, "update public.teams set name = 'Renamed' where id = $1", [
        w.teamId
      ])
  },
  {
    table: 'teams',
    op: 'update',
    what: "the team's creator",
    allowed: NOBODY,
    probe: (tx, w, me) =>
      changes(tx, 'update public.teams set created_by = $2 where id = $1', [
        w.teamId,
        myId(me)
      ])
  },
  {
    table: 'teams',
    op: 'delete',
    what: 'the team',
    allowed: ['owner'],
    probe: (tx, w) =>
      changes(tx, 'delete from public.teams where id = $1', [w.teamId])
  },
  // team_members
  {
    table: 'team_members',
    op: 'select',
    what: "the team's members",
    allowed: MEMBERS,
    probe: (tx, w) =>
      sees(
        tx,
        'select 1 from public.team_members where team_id = $1 and user_id = $2',
        [w.teamId, w.users.target.id]
      )
  },
  {
    table: 'team_members',
    op: 'select',
    what: 'members with emails (team_member_list)',
    allowed: MEMBERS,
    probe: (tx, w) =>
      sees(tx, 'select 1 from public.team_member_list($1)', [w.teamId])
  },
  {
    table: 'team_members',
    op: 'insert',
    what: 'another user into the team',
    allowed: NOBODY,
    probe: (tx, w) =>
      changes(
        tx,
        "insert into public.team_members (team_id, user_id, role) values ($1, $2, 'member')",
        [w.teamId, w.users.newcomer.id]
      )
  },
  {
    table: 'team_members',
    op: 'insert',
    what: 'myself into the team as owner',
    allowed: NOBODY,
    // RLS is checked before the primary key, so members are refused, not duplicates.
    probe: (tx, w, me) =>
      changes(
        tx,
        "insert into public.team_members (team_id, user_id, role) values ($1, $2, 'owner')",
        [w.teamId, me?.id ?? w.users.newcomer.id]
      )
  },
  {
    table: 'team_members',
    op: 'update',
    what: "a member's role to viewer",
    allowed: MANAGERS,
    probe: (tx, w) =>
      changes(
        tx,
        "update public.team_members set role = 'viewer' where team_id = $1 and user_id = $2",
        [w.teamId, w.users.target.id]
      )
  },
  {
    table: 'team_members',
    op: 'update',
    what: "a member's role to owner",
    allowed: ['owner'],
    probe: (tx, w) =>
      changes(
        tx,
        "update public.team_members set role = 'owner' where team_id = $1 and user_id = $2",
        [w.teamId, w.users.target.id]
      )
  },
  {
    table: 'team_members',
    op: 'update',
    what: "another owner's role to admin",
    allowed: ['owner'],
    probe: (tx, w) =>
      changes(
        tx,
        "update public.team_members set role = 'admin' where team_id = $1 and user_id = $2",
        [w.teamId, w.users.coOwner.id]
      )
  },
  {
    table: 'team_members',
    op: 'update',
    what: 'my own role to owner',
    allowed: ['owner'],
    probe: (tx, w) =>
      changes(
        tx,
        "update public.team_members set role = 'owner' where team_id = $1 and user_id = auth.uid()",
        [w.teamId]
      )
  },
  {
    table: 'team_members',
    op: 'delete',
    what: 'a member (remove)',
    allowed: MANAGERS,
    probe: (tx, w) =>
      changes(
        tx,
        'delete from public.team_members where team_id = $1 and user_id = $2',
        [w.teamId, w.users.target.id]
      )
  },
  {
    table: 'team_members',
    op: 'delete',
    what: 'another owner (remove)',
    allowed: ['owner'],
    probe: (tx, w) =>
      changes(
        tx,
        'delete from public.team_members where team_id = $1 and user_id = $2',
        [w.teamId, w.users.coOwner.id]
      )
  },
  {
    table: 'team_members',
    op: 'delete',
    what: 'my own membership (leave)',
    allowed: MEMBERS,
    probe: (tx, w) =>
      changes(
        tx,
        'delete from public.team_members where team_id = $1 and user_id = auth.uid()',
        [w.teamId]
      )
  },
  // team_invitations
  {
    table: 'team_invitations',
    op: 'select',
    what: "the team's invitations",
    allowed: MANAGERS,
    probe: (tx, w) =>
      sees(tx, 'select 1 from public.team_invitations where id = $1', [
        w.invitationId
      ])
  },
  {
    table: 'team_invitations',
    op: 'insert',
    what: 'an invitation as member',
    allowed: MANAGERS,
    probe: (tx, w, me) =>
      changes(
        tx,
        "insert into public.team_invitations (team_id, email, role, invited_by) values ($1, $2, 'member', $3)",
        [w.teamId, `new-${randomUUID().slice(0, 8)}@example.com`, myId(me)]
      )
  },
  {
    table: 'team_invitations',
    op: 'insert',
    what: 'an invitation as owner',
    allowed: ['owner'],
    probe: (tx, w, me) =>
      changes(
        tx,
        "insert into public.team_invitations (team_id, email, role, invited_by) values ($1, $2, 'owner', $3)",
        [w.teamId, `new-${randomUUID().slice(0, 8)}@example.com`, myId(me)]
      )
  },
  {
    table: 'team_invitations',
    op: 'update',
    what: 'an invitation (accept it)',
    allowed: NOBODY,
    probe: (tx, w) =>
      changes(
        tx,
        'update public.team_invitations set accepted_at = now() where id = $1',
        [w.invitationId]
      )
  },
  {
    table: 'team_invitations',
    op: 'delete',
    what: 'an invitation (withdraw)',
    allowed: MANAGERS,
    probe: (tx, w) =>
      changes(tx, 'delete from public.team_invitations where id = $1', [
        w.invitationId
      ])
  },
  // auth.users is Supabase Auth's: no API role reads or writes it.
  {
    table: 'auth.users',
    op: 'select',
    what: 'my own account',
    allowed: NOBODY,
    probe: tx => sees(tx, 'select 1 from auth.users where id = auth.uid()', [])
  },
  {
    table: 'auth.users',
    op: 'update',
    what: 'my own account',
    allowed: NOBODY,
    probe: tx =>
      changes(
        tx,
        "update auth.users set role = 'service_role' where id = auth.uid()",
        []
      )
  }
];

const ROLLBACK = Symbol('rollback');

async function probeAs(
  t: TestDatabase,
  claims: JwtClaims | null,
  run: (tx: Queryable) => Promise<boolean>
): Promise<boolean> {
  let outcome = false;
  try {
    await t.db.withClaims(claims, async tx => {
      outcome = await run(tx);
      throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
  return outcome;
}

function render(matrix: Map<Case, Set<Actor>>): string {
  const width = Math.max(
    ...CASES.map(c => `${c.table} ${c.op} ${c.what}`.length)
  );
  const header = `${''.padEnd(width)}  ${ACTORS.map(a => a.padEnd(8)).join('')}`;
  const lines = CASES.map(c => {
    const label = `${c.table} ${c.op} ${c.what}`.padEnd(width);
    const cells = ACTORS.map(a =>
      (matrix.get(c)!.has(a) ? 'allow' : '-').padEnd(8)
    ).join('');
    return `${label}  ${cells}`.trimEnd();
  });
  return [header.trimEnd(), ...lines].join('\n');
}

async function buildWorld(t: TestDatabase): Promise<World> {
  const make = (fullName: string) => createUser(t.db, { fullName });
  const users = {
    owner: await make('Olivia Owner'),
    coOwner: await make('Colin Co-owner'),
    admin: await make('Ada Admin'),
    member: await make('Max Member'),
    viewer: await make('Vera Viewer'),
    target: await make('Tom Target'),
    outsider: await make('Otto Outsider'),
    newcomer: await make('Nina Newcomer'),
    noProfile: await make('Nobody Profile')
  };
  // Teams are created as their owners would: through RLS.
  const teamId = randomUUID();
  await t.db.withClaims(users.owner.claims, tx =>
    tx.query(
      "insert into public.teams (id, name, created_by) values ($1, 'Research', auth.uid())",
      [teamId]
    )
  );
  const outsiderTeamId = randomUUID();
  await t.db.withClaims(users.outsider.claims, tx =>
    tx.query(
      "insert into public.teams (id, name, created_by) values ($1, 'Private', auth.uid())",
      [outsiderTeamId]
    )
  );
  const invitationId = randomUUID();
  await t.db.asService(async tx => {
    for (const [user, role] of [
      [users.coOwner, 'owner'],
      [users.admin, 'admin'],
      [users.member, 'member'],
      [users.viewer, 'viewer'],
      [users.target, 'member']
    ] as const) {
      await tx.query(
        'insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)',
        [teamId, user.id, role]
      );
    }
    await tx.query(
      "insert into public.team_invitations (id, team_id, email, role, invited_by) values ($1, $2, 'pending@example.com', 'member', $3)",
      [invitationId, teamId, users.owner.id]
    );
    await tx.query('delete from public.profiles where id = $1', [
      users.noProfile.id
    ]);
  });
  return { users, teamId, outsiderTeamId, invitationId };
}

describe.each(BACKENDS)('row-level security on %s', backend => {
  let t: TestDatabase;
  let w: World;

  beforeAll(async () => {
    t = await freshDatabase(backend);
    w = await buildWorld(t);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('allows exactly what the policies intend, for every table, actor and operation', async () => {
    const expected = new Map<Case, Set<Actor>>();
    const actual = new Map<Case, Set<Actor>>();
    for (const c of CASES) {
      expected.set(c, new Set(c.allowed));
      const allowed = new Set<Actor>();
      for (const actor of ACTORS) {
        const me = actor === 'anon' ? undefined : w.users[actor];
        const claims = me ? me.claims : null;
        if (await probeAs(t, claims, tx => c.probe(tx, w, me))) {
          allowed.add(actor);
        }
      }
      actual.set(c, allowed);
    }
    expect(render(actual)).toBe(render(expected));
  });

  it('covers every table of the app schema', () => {
    const covered = new Set(CASES.map(c => c.table));
    for (const table of [
      'profiles',
      'teams',
      'team_members',
      'team_invitations'
    ]) {
      for (const op of ['select', 'insert', 'update', 'delete'] as const) {
        expect(
          `${table} ${op} ${CASES.some(c => c.table === table && c.op === op)}`
        ).toBe(`${table} ${op} true`);
      }
      expect(covered.has(table)).toBe(true);
    }
  });

  it('never lets a second user read or change the first user’s rows', async () => {
    const first = await createUser(t.db, { fullName: 'First User' });
    const second = await createUser(t.db, { fullName: 'Second User' });
    const teamId = randomUUID();
    await t.db.withClaims(first.claims, async tx => {
      await tx.query(
        "insert into public.teams (id, name, created_by) values ($1, 'Mine', auth.uid())",
        [teamId]
      );
      await tx.query(
        "insert into public.team_invitations (team_id, email, role, invited_by) values ($1, 'friend@example.com', 'member', auth.uid())",
        [teamId]
      );
    });
    const seen = await t.db.withClaims(second.claims, async tx => {
      const count = async (sql: string) =>
        (await tx.query(sql, [first.id, teamId])).rowCount;
      return {
        profileRead: await count(
          'select 1 from public.profiles where id = $1 or $2::uuid is null'
        ),
        teamRead: await count(
          'select 1 from public.teams where id = $2 or created_by = $1'
        ),
        membersRead: await count(
          'select 1 from public.team_members where team_id = $2 or user_id = $1'
        ),
        invitationsRead: await count(
          'select 1 from public.team_invitations where team_id = $2 or invited_by = $1'
        ),
        profileChanged: await count(
          "update public.profiles set full_name = 'Hacked' where id = $1 or $2::uuid is null"
        ),
        teamChanged: await count(
          "update public.teams set name = 'Hacked' where id = $2 or created_by = $1"
        ),
        membersChanged: await count(
          "update public.team_members set role = 'viewer' where team_id = $2 or user_id = $1"
        ),
        membersRemoved: await count(
          'delete from public.team_members where team_id = $2 or user_id = $1'
        ),
        invitationsRemoved: await count(
          'delete from public.team_invitations where team_id = $2 or invited_by = $1'
        ),
        teamRemoved: await count(
          'delete from public.teams where id = $2 or created_by = $1'
        )
      };
    });
    expect(seen).toEqual({
      profileRead: 0,
      teamRead: 0,
      membersRead: 0,
      invitationsRead: 0,
      profileChanged: 0,
      teamChanged: 0,
      membersChanged: 0,
      membersRemoved: 0,
      invitationsRemoved: 0,
      teamRemoved: 0
    });
    const intact = await t.db.withClaims(first.claims, tx =>
      tx.query(
        `select p.full_name, t.name, m.role,
                (select count(*)::int from public.team_invitations i where i.team_id = t.id) as invitations
         from public.profiles p, public.teams t
         join public.team_members m on m.team_id = t.id
         where p.id = auth.uid() and t.id = $1 and m.user_id = auth.uid()`,
        [teamId]
      )
    );
    expect(intact.rows).toEqual([
      { full_name: 'First User', name: 'Mine', role: 'owner', invitations: 1 }
    ]);
  });
});
