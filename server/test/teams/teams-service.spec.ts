import type { HttpError } from '../../src/http/errors';
import { TeamsService, type TeamRole } from '../../src/services/teams';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/** The answer a failed call gives: status, code and message. */
async function refusal(
  p: Promise<unknown>
): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as HttpError;
    if (typeof e.status !== 'number') throw err;
    return { status: e.status, code: e.code, message: e.message };
  }
  throw new Error('Expected a refusal, but the call succeeded.');
}

describe.each(BACKENDS)('teams service on %s', backend => {
  let t: TestDatabase;
  let teams: TeamsService;

  beforeAll(async () => {
    t = await freshDatabase(backend);
    teams = new TeamsService(t.db);
  });

  afterAll(async () => {
    await t?.close();
  });

  /** A team with one person per role, each joined through an accepted invitation. */
  async function teamWithRoles(name = 'Research') {
    const owner = await createUser(t.db, { fullName: 'Olivia Owner' });
    const team = await teams.create(owner.claims, { name });
    const people = { owner } as Record<TeamRole, TestUser>;
    for (const role of ['admin', 'member', 'viewer'] as const) {
      const email = `${role}-${team.id.slice(0, 8)}@example.com`;
      await teams.invite(owner.claims, team.id, { email, role });
      people[role] = await createUser(t.db, {
        email,
        fullName: `${role} person`
      });
    }
    return { team, ...people };
  }

  it('creates a team whose creator is its owner, visible to its members only', async () => {
    const ada = await createUser(t.db, { fullName: 'Ada' });
    const bob = await createUser(t.db, { fullName: 'Bob' });
    const team = await teams.create(ada.claims, { name: 'Lab' });
    expect(team).toMatchObject({
      name: 'Lab',
      role: 'owner',
      member_count: 1,
      created_by: ada.id
    });
    expect((await teams.list(ada.claims)).map(x => x.id)).toContain(team.id);
    expect((await teams.list(bob.claims)).map(x => x.id)).not.toContain(
      team.id
    );
    expect(await teams.get(ada.claims, team.id)).toEqual(team);
  });

  it('answers 404 for an unknown team, a malformed id and somebody else’s team alike', async () => {
    const ada = await createUser(t.db);
    const bob = await createUser(t.db);
    const bobs = await teams.create(bob.claims, { name: 'Private' });
    const notFound = {
      status: 404,
      code: 'not_found',
      message: 'Team not found.'
    };
    expect(await refusal(teams.get(ada.claims, bobs.id))).toEqual(notFound);
    expect(
      await refusal(
        teams.get(ada.claims, '00000000-0000-4000-8000-000000000000')
      )
    ).toEqual(notFound);
    expect(await refusal(teams.get(ada.claims, 'not-a-uuid'))).toEqual(
      notFound
    );
    expect(await refusal(teams.members(ada.claims, bobs.id))).toEqual(notFound);
    expect(
      await refusal(
        teams.invite(ada.claims, bobs.id, {
          email: 'x@example.com',
          role: 'member'
        })
      )
    ).toEqual(notFound);
    expect(await refusal(teams.leave(ada.claims, bobs.id))).toEqual(notFound);
    expect(await refusal(teams.remove(ada.claims, bobs.id))).toEqual(notFound);
  });

  it('lets invited people in when they sign up, with the invited role', async () => {
    const { team, owner, admin, member, viewer } = await teamWithRoles();
    const members = await teams.members(viewer.claims, team.id);
    expect(members.map(m => [m.email, m.full_name, m.role])).toEqual([
      [owner.email, 'Olivia Owner', 'owner'],
      [admin.email, 'admin person', 'admin'],
      [member.email, 'member person', 'member'],
      [viewer.email, 'viewer person', 'viewer']
    ]);
    expect(await teams.invitations(owner.claims, team.id)).toEqual([]);
    expect((await teams.get(member.claims, team.id)).member_count).toBe(4);
  });

  it('lets owners and admins invite, and says why others cannot', async () => {
    const { team, owner, admin, member, viewer } = await teamWithRoles();
    const invitation = await teams.invite(admin.claims, team.id, {
      email: ' New.Person@Example.com',
      role: 'member'
    });
    expect(invitation).toMatchObject({
      team_id: team.id,
      email: 'new.person@example.com',
      role: 'member',
      invited_by: admin.id
    });
    expect(
      await refusal(
        teams.invite(member.claims, team.id, {
          email: 'a@example.com',
          role: 'member'
        })
      )
    ).toEqual({
      status: 403,
      code: 'forbidden',
      message: "Only the team's owners and admins can invite people."
    });
    expect(
      (
        await refusal(
          teams.invite(viewer.claims, team.id, {
            email: 'a@example.com',
            role: 'viewer'
          })
        )
      ).status
    ).toBe(403);
    expect(
      await refusal(
        teams.invite(admin.claims, team.id, {
          email: 'b@example.com',
          role: 'owner'
        })
      )
    ).toEqual({
      status: 403,
      code: 'forbidden',
      message: 'Only owners can invite someone as an owner.'
    });
    await teams.invite(owner.claims, team.id, {
      email: 'co-owner@example.com',
      role: 'owner'
    });
    expect(
      (await teams.invitations(admin.claims, team.id)).map(i => i.email).sort()
    ).toEqual(['co-owner@example.com', 'new.person@example.com']);
    expect(
      (await refusal(teams.invitations(member.claims, team.id))).status
    ).toBe(403);
  });

  it('refuses a second invitation and inviting a member, with 409, creating nothing', async () => {
    const { team, owner, member } = await teamWithRoles();
    await teams.invite(owner.claims, team.id, {
      email: 'twice@example.com',
      role: 'member'
    });
    expect(
      await refusal(
        teams.invite(owner.claims, team.id, {
          email: 'TWICE@example.com',
          role: 'viewer'
        })
      )
    ).toEqual({
      status: 409,
      code: 'already_invited',
      message:
        'twice@example.com already has a pending invitation to this team.'
    });
    expect(
      await refusal(
        teams.invite(owner.claims, team.id, {
          email: member.email,
          role: 'admin'
        })
      )
    ).toEqual({
      status: 409,
      code: 'already_member',
      message: `${member.email} is already a member of this team.`
    });
    expect(
      await refusal(
        teams.invite(owner.claims, team.id, {
          email: 'no at sign',
          role: 'admin'
        })
      )
    ).toMatchObject({
      status: 400
    });
    const pending = await teams.invitations(owner.claims, team.id);
    expect(pending.map(i => [i.email, i.role])).toEqual([
      ['twice@example.com', 'member']
    ]);
  });

  it('withdraws invitations; a second withdrawal or a bad id is 404', async () => {
    const { team, admin, member } = await teamWithRoles();
    const invitation = await teams.invite(admin.claims, team.id, {
      email: 'gone@example.com',
      role: 'member'
    });
    expect(
      (
        await refusal(
          teams.withdrawInvitation(member.claims, team.id, invitation.id)
        )
      ).status
    ).toBe(403);
    await teams.withdrawInvitation(admin.claims, team.id, invitation.id);
    expect(await teams.invitations(admin.claims, team.id)).toEqual([]);
    expect(
      (
        await refusal(
          teams.withdrawInvitation(admin.claims, team.id, invitation.id)
        )
      ).status
    ).toBe(404);
    expect(
      (await refusal(teams.withdrawInvitation(admin.claims, team.id, 'nope')))
        .status
    ).toBe(404);
  });

  it('changes roles within what each role may do', async () => {
    const { team, owner, admin, member, viewer } = await teamWithRoles();
    expect(
      await teams.changeRole(admin.claims, team.id, member.id, {
        role: 'viewer'
      })
    ).toMatchObject({
      user_id: member.id,
      role: 'viewer'
    });
    expect(
      await refusal(
        teams.changeRole(admin.claims, team.id, owner.id, { role: 'member' })
      )
    ).toEqual({
      status: 403,
      code: 'forbidden',
      message: "Only owners can change an owner's role."
    });
    expect(
      await refusal(
        teams.changeRole(admin.claims, team.id, viewer.id, { role: 'owner' })
      )
    ).toEqual({
      status: 403,
      code: 'forbidden',
      message: 'Only owners can make someone an owner.'
    });
    expect(
      await refusal(
        teams.changeRole(viewer.claims, team.id, member.id, { role: 'member' })
      )
    ).toEqual({
      status: 403,
      code: 'forbidden',
      message: "Only the team's owners and admins can change roles."
    });
    expect(
      await teams.changeRole(owner.claims, team.id, admin.id, { role: 'owner' })
    ).toMatchObject({ role: 'owner' });
    expect(
      (
        await refusal(
          teams.changeRole(
            owner.claims,
            team.id,
            '00000000-0000-4000-8000-000000000000',
            { role: 'member' }
          )
        )
      ).status
    ).toBe(404);
  });

  it('never demotes or removes the last owner', async () => {
    const { team, owner, admin } = await teamWithRoles();
    expect(
      await refusal(
        teams.changeRole(owner.claims, team.id, owner.id, { role: 'admin' })
      )
    ).toEqual({
      status: 409,
      code: 'last_owner',
      message:
        'A team must keep at least one owner: make another member an owner first.'
    });
    expect(await refusal(teams.leave(owner.claims, team.id))).toEqual({
      status: 409,
      code: 'last_owner',
      message:
        "You are this team's last owner: make another member an owner before leaving, or delete the team."
    });
    expect(
      (await refusal(teams.removeMember(owner.claims, team.id, owner.id))).code
    ).toBe('last_owner');
    // With a second owner the first may go.
    await teams.changeRole(owner.claims, team.id, admin.id, { role: 'owner' });
    await teams.leave(owner.claims, team.id);
    expect((await refusal(teams.get(owner.claims, team.id))).status).toBe(404);
    expect(
      (await teams.members(admin.claims, team.id)).map(m => m.role)
    ).toEqual(['owner', 'member', 'viewer']);
  });

  it('removes members within what each role may do; anyone may leave', async () => {
    const { team, owner, admin, member, viewer } = await teamWithRoles();
    expect(
      await refusal(teams.removeMember(member.claims, team.id, viewer.id))
    ).toEqual({
      status: 403,
      code: 'forbidden',
      message: "Only the team's owners and admins can remove members."
    });
    expect(
      await refusal(teams.removeMember(admin.claims, team.id, owner.id))
    ).toEqual({
      status: 403,
      code: 'forbidden',
      message: 'Only owners can remove an owner.'
    });
    await teams.removeMember(admin.claims, team.id, member.id);
    expect((await refusal(teams.get(member.claims, team.id))).status).toBe(404);
    await teams.leave(viewer.claims, team.id);
    expect((await teams.list(viewer.claims)).map(x => x.id)).not.toContain(
      team.id
    );
    await teams.removeMember(owner.claims, team.id, admin.id);
    expect(
      (await teams.members(owner.claims, team.id)).map(m => m.user_id)
    ).toEqual([owner.id]);
    expect(
      (await refusal(teams.removeMember(owner.claims, team.id, admin.id)))
        .status
    ).toBe(404);
  });

  it('lets owners and admins rename, and only owners delete', async () => {
    const { team, owner, admin, member } = await teamWithRoles();
    expect(
      (await teams.rename(admin.claims, team.id, { name: 'Renamed' })).name
    ).toBe('Renamed');
    expect(
      (await refusal(teams.rename(member.claims, team.id, { name: 'Mine' })))
        .status
    ).toBe(403);
    expect(await refusal(teams.remove(admin.claims, team.id))).toEqual({
      status: 403,
      code: 'forbidden',
      message: "Only the team's owners can delete it."
    });
    await teams.remove(owner.claims, team.id);
    expect((await refusal(teams.get(member.claims, team.id))).status).toBe(404);
  });
});
