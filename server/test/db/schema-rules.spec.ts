import { randomUUID } from 'node:crypto';
import { SqlState, sqlState } from '../../src/db/errors';
import type { Queryable } from '../../src/db/types';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/** The rules the migrations enforce with triggers and functions (beyond RLS). */
describe.each(BACKENDS)('schema rules on %s', backend => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase(backend);
  });

  afterAll(async () => {
    await t?.close();
  });

  const createTeam = async (owner: TestUser, name = 'Team') => {
    const id = randomUUID();
    await t.db.withClaims(owner.claims, tx =>
      tx.query(
        'insert into public.teams (id, name, created_by) values ($1, $2, auth.uid())',
        [id, name]
      )
    );
    return id;
  };
  const addMember = (teamId: string, user: TestUser, role: string) =>
    t.db.asService(tx =>
      tx.query(
        'insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)',
        [teamId, user.id, role]
      )
    );
  const failure = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return sqlState(err);
    }
    return 'no error';
  };

  describe('profiles', () => {
    it('are created with the full name from the signup metadata', async () => {
      const user = await createUser(t.db, { fullName: 'Grace Hopper' });
      const { rows } = await t.db.withClaims(user.claims, tx =>
        tx.query(
          'select full_name, avatar_url from public.profiles where id = auth.uid()'
        )
      );
      expect(rows).toEqual([{ full_name: 'Grace Hopper', avatar_url: null }]);
    });

    it('follow a name changed in the user metadata, and keep their own edits otherwise', async () => {
      const user = await createUser(t.db, { fullName: 'Grace Hopper' });
      const profile = (tx: Queryable) =>
        tx.query(
          'select full_name, avatar_url from public.profiles where id = $1',
          [user.id]
        );
      await t.db.asService(tx =>
        tx.query(
          `update auth.users set raw_user_meta_data = raw_user_meta_data || '{"full_name": "Grace B. Hopper"}' where id = $1`,
          [user.id]
        )
      );
      expect((await t.db.asService(profile)).rows).toEqual([
        { full_name: 'Grace B. Hopper', avatar_url: null }
      ]);
      await t.db.withClaims(user.claims, tx =>
        tx.query(
          "update public.profiles set full_name = 'Amazing Grace' where id = auth.uid()"
        )
      );
      await t.db.asService(tx =>
        tx.query(
          `update auth.users set raw_user_meta_data = raw_user_meta_data || '{"avatar_url": "https://example.com/g.png"}' where id = $1`,
          [user.id]
        )
      );
      expect((await t.db.asService(profile)).rows).toEqual([
        { full_name: 'Amazing Grace', avatar_url: 'https://example.com/g.png' }
      ]);
    });

    it('go with their account', async () => {
      const user = await createUser(t.db);
      await t.db.asService(tx =>
        tx.query('delete from auth.users where id = $1', [user.id])
      );
      const { rows } = await t.db.asService(tx =>
        tx.query('select 1 from public.profiles where id = $1', [user.id])
      );
      expect(rows).toEqual([]);
    });
  });

  describe('team owners', () => {
    it('the creator of a team becomes its owner', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner);
      const { rows } = await t.db.withClaims(owner.claims, tx =>
        tx.query(
          'select user_id, role from public.team_members where team_id = $1',
          [teamId]
        )
      );
      expect(rows).toEqual([{ user_id: owner.id, role: 'owner' }]);
    });

    it('the last owner can neither leave nor step down', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner);
      expect(
        await failure(
          t.db.withClaims(owner.claims, tx =>
            tx.query(
              'delete from public.team_members where team_id = $1 and user_id = auth.uid()',
              [teamId]
            )
          )
        )
      ).toBe(SqlState.lastTeamOwner);
      expect(
        await failure(
          t.db.withClaims(owner.claims, tx =>
            tx.query(
              "update public.team_members set role = 'admin' where team_id = $1 and user_id = auth.uid()",
              [teamId]
            )
          )
        )
      ).toBe(SqlState.lastTeamOwner);
    });

    it('with a second owner, an owner may step down or leave', async () => {
      const owner = await createUser(t.db);
      const second = await createUser(t.db);
      const teamId = await createTeam(owner);
      await addMember(teamId, second, 'owner');
      await t.db.withClaims(owner.claims, tx =>
        tx.query(
          "update public.team_members set role = 'member' where team_id = $1 and user_id = auth.uid()",
          [teamId]
        )
      );
      // Now `second` is the last owner.
      expect(
        await failure(
          t.db.withClaims(second.claims, tx =>
            tx.query(
              'delete from public.team_members where team_id = $1 and user_id = auth.uid()',
              [teamId]
            )
          )
        )
      ).toBe(SqlState.lastTeamOwner);
    });

    it('deleting the team, or the last owner’s account, is not blocked', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner);
      await t.db.withClaims(owner.claims, tx =>
        tx.query('delete from public.teams where id = $1', [teamId])
      );
      const other = await createUser(t.db);
      const otherTeam = await createTeam(other);
      await t.db.asService(tx =>
        tx.query('delete from auth.users where id = $1', [other.id])
      );
      const { rows } = await t.db.asService(tx =>
        tx.query(
          'select count(*)::int as n from public.team_members where team_id = any($1)',
          [[teamId, otherTeam]]
        )
      );
      expect(rows).toEqual([{ n: 0 }]);
    });
  });

  describe('invitations', () => {
    const invite = (
      by: TestUser,
      teamId: string,
      email: string,
      role = 'member'
    ) =>
      t.db.withClaims(by.claims, tx =>
        tx.query<{ id: string; email: string }>(
          'insert into public.team_invitations (team_id, email, role, invited_by) values ($1, $2, $3, auth.uid()) returning id, email',
          [teamId, email, role]
        )
      );
    const accept = (user: TestUser) =>
      t.db.withClaims(user.claims, tx =>
        tx.query<{ id: string; name: string }>(
          'select id, name from public.accept_team_invitations()'
        )
      );
    const membership = async (teamId: string, user: TestUser) =>
      (
        await t.db.asService(tx =>
          tx.query<{ role: string }>(
            'select role from public.team_members where team_id = $1 and user_id = $2',
            [teamId, user.id]
          )
        )
      ).rows[0]?.role ?? null;

    it('store the email lower-case', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner);
      const { rows } = await invite(owner, teamId, '  Mixed.Case@Example.COM ');
      expect(rows[0].email).toBe('mixed.case@example.com');
    });

    it('are accepted by the person with that confirmed email, with the invited role', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner, 'Lab');
      const email = `invitee-${randomUUID().slice(0, 8)}@example.com`;
      await invite(owner, teamId, email.toUpperCase(), 'admin');
      const invitee = await createUser(t.db, { email, confirmed: false });
      expect((await accept(invitee)).rows).toEqual([]);
      expect(await membership(teamId, invitee)).toBeNull();
      // Confirming the email (as the auth server does) accepts it.
      await t.db.asService(tx =>
        tx.query(
          'update auth.users set email_confirmed_at = now() where id = $1',
          [invitee.id]
        )
      );
      expect(await membership(teamId, invitee)).toBe('admin');
      const pending = await t.db.asService(tx =>
        tx.query(
          'select accepted_at is not null as accepted from public.team_invitations where team_id = $1',
          [teamId]
        )
      );
      expect(pending.rows).toEqual([{ accepted: true }]);
      // Nothing left to accept.
      expect((await accept(invitee)).rows).toEqual([]);
    });

    it('are accepted on sign-up when the account is created confirmed, and on sign-in', async () => {
      const owner = await createUser(t.db);
      const teamA = await createTeam(owner, 'Alpha');
      const email = `later-${randomUUID().slice(0, 8)}@example.com`;
      await invite(owner, teamA, email);
      const invitee = await createUser(t.db, { email });
      expect(await membership(teamA, invitee)).toBe('member');

      const teamB = await createTeam(owner, 'Beta');
      await invite(owner, teamB, email, 'viewer');
      await t.db.asService(tx =>
        tx.query(
          'update auth.users set last_sign_in_at = now() where id = $1',
          [invitee.id]
        )
      );
      expect(await membership(teamB, invitee)).toBe('viewer');
    });

    it('accept_team_invitations() returns the teams joined', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner, 'Gamma');
      const invitee = await createUser(t.db);
      // Invited after signing up, before the next sign-in:
      await invite(owner, teamId, invitee.email);
      expect((await accept(invitee)).rows).toEqual([
        { id: teamId, name: 'Gamma' }
      ]);
      expect(await membership(teamId, invitee)).toBe('member');
    });

    it('refuse to invite someone who is already a member', async () => {
      const owner = await createUser(t.db);
      const member = await createUser(t.db);
      const teamId = await createTeam(owner);
      await addMember(teamId, member, 'member');
      expect(
        await failure(invite(owner, teamId, member.email.toUpperCase()))
      ).toBe(SqlState.alreadyTeamMember);
    });

    it('allow one pending invitation per email and team', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner);
      await invite(owner, teamId, 'twice@example.com');
      expect(await failure(invite(owner, teamId, 'Twice@example.com'))).toBe(
        SqlState.uniqueViolation
      );
    });

    it('reject a malformed email', async () => {
      const owner = await createUser(t.db);
      const teamId = await createTeam(owner);
      expect(await failure(invite(owner, teamId, 'not an email'))).toBe(
        SqlState.checkViolation
      );
    });

    it('cannot be accepted by anon', async () => {
      const { rows } = await t.db
        .withClaims(null, tx =>
          tx.query('select * from public.accept_team_invitations()')
        )
        .catch(err => ({ rows: [sqlState(err)] }));
      expect(rows).toEqual([SqlState.insufficientPrivilege]);
    });
  });
});
