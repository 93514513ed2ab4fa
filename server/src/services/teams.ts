import { randomUUID } from 'node:crypto';
import {
  deleteInvitation,
  deleteMember,
  deleteTeam,
  findMember,
  findMyTeam,
  insertInvitation,
  insertTeam,
  listInvitations,
  listMembers,
  listMyTeams,
  renameTeam,
  TEAM_ROLES,
  updateMemberRole,
  type InvitationRow,
  type MemberRow,
  type TeamRole,
  type TeamRow
} from '../adapters/teams-store';
import { SqlState, sqlState } from '../db/errors';
import type { Database, JwtClaims, Queryable } from '../db/types';
import { HttpError } from '../http/errors';

/**
 * Teams, their members and invitations, as the signed-in user. Row-level
 * security enforces every rule; this layer checks the same rules first so
 * that a refusal says why (403), and answers 404 for teams the user is not
 * in, whether or not they exist.
 */
export type Team = TeamRow;
export type TeamMember = MemberRow;
export type TeamInvitation = InvitationRow;
export type { TeamRole };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const rank = (role: TeamRole) => TEAM_ROLES.indexOf(role);
const atLeast = (role: TeamRole, min: TeamRole) => rank(role) >= rank(min);

const teamNotFound = () => new HttpError(404, 'Team not found.', 'not_found');
const memberNotFound = () =>
  new HttpError(404, 'That person is not a member of this team.', 'not_found');
const invitationNotFound = () =>
  new HttpError(
    404,
    'Invitation not found: it may have been accepted or withdrawn.',
    'not_found'
  );
const forbidden = (message: string) => new HttpError(403, message, 'forbidden');
const lastOwner = (message: string) =>
  new HttpError(409, message, 'last_owner');

const LAST_OWNER_CHANGE =
  'A team must keep at least one owner: make another member an owner first.';

export class TeamsService {
  constructor(private readonly db: Database) {}

  list(user: JwtClaims): Promise<Team[]> {
    return this.db.withClaims(user, listMyTeams);
  }

  async create(user: JwtClaims, input: { name: string }): Promise<Team> {
    const id = randomUUID();
    return this.db.withClaims(user, async tx => {
      await insertTeam(tx, id, input.name);
      const team = await findMyTeam(tx, id);
      if (!team) {
        throw new Error('A newly created team is not readable by its creator.');
      }
      return team;
    });
  }

  get(user: JwtClaims, teamId: string): Promise<Team> {
    return this.db.withClaims(user, tx => myTeam(tx, teamId));
  }

  rename(
    user: JwtClaims,
    teamId: string,
    input: { name: string }
  ): Promise<Team> {
    return this.db.withClaims(user, async tx => {
      const team = await myTeam(tx, teamId);
      if (!atLeast(team.role, 'admin')) {
        throw forbidden("Only the team's owners and admins can rename it.");
      }
      await renameTeam(tx, teamId, input.name);
      return myTeam(tx, teamId);
    });
  }

  remove(user: JwtClaims, teamId: string): Promise<void> {
    return this.db.withClaims(user, async tx => {
      const team = await myTeam(tx, teamId);
      if (team.role !== 'owner') {
        throw forbidden("Only the team's owners can delete it.");
      }
      await deleteTeam(tx, teamId);
    });
  }

  members(user: JwtClaims, teamId: string): Promise<TeamMember[]> {
    return this.db.withClaims(user, async tx => {
      await myTeam(tx, teamId);
      return listMembers(tx, teamId);
    });
  }

  invitations(user: JwtClaims, teamId: string): Promise<TeamInvitation[]> {
    return this.db.withClaims(user, async tx => {
      const team = await myTeam(tx, teamId);
      if (!atLeast(team.role, 'admin')) {
        throw forbidden(
          "Only the team's owners and admins can see its invitations."
        );
      }
      return listInvitations(tx, teamId);
    });
  }

  async invite(
    user: JwtClaims,
    teamId: string,
    input: { email: string; role: TeamRole }
  ): Promise<TeamInvitation> {
    const email = input.email.trim().toLowerCase();
    try {
      return await this.db.withClaims(user, async tx => {
        const team = await myTeam(tx, teamId);
        if (!atLeast(team.role, 'admin')) {
          throw forbidden(
            "Only the team's owners and admins can invite people."
          );
        }
        if (input.role === 'owner' && team.role !== 'owner') {
          throw forbidden('Only owners can invite someone as an owner.');
        }
        return await insertInvitation(tx, teamId, email, input.role);
      });
    } catch (err) {
      switch (sqlState(err)) {
        case SqlState.uniqueViolation:
          throw new HttpError(
            409,
            `${email} already has a pending invitation to this team.`,
            'already_invited'
          );
        case SqlState.alreadyTeamMember:
          throw new HttpError(
            409,
            `${email} is already a member of this team.`,
            'already_member'
          );
        case SqlState.checkViolation:
          throw new HttpError(
            400,
            `"${email}" is not a valid email address.`,
            'invalid_input'
          );
        default:
          throw err;
      }
    }
  }

  withdrawInvitation(
    user: JwtClaims,
    teamId: string,
    invitationId: string
  ): Promise<void> {
    return this.db.withClaims(user, async tx => {
      const team = await myTeam(tx, teamId);
      if (!atLeast(team.role, 'admin')) {
        throw forbidden(
          "Only the team's owners and admins can withdraw invitations."
        );
      }
      if (
        !UUID.test(invitationId) ||
        !(await deleteInvitation(tx, teamId, invitationId))
      ) {
        throw invitationNotFound();
      }
    });
  }

  async changeRole(
    user: JwtClaims,
    teamId: string,
    userId: string,
    input: { role: TeamRole }
  ): Promise<TeamMember> {
    return this.translateLastOwner(LAST_OWNER_CHANGE, () =>
      this.db.withClaims(user, async tx => {
        const team = await myTeam(tx, teamId);
        const member = await teamMember(tx, teamId, userId);
        if (!atLeast(team.role, 'admin')) {
          throw forbidden(
            "Only the team's owners and admins can change roles."
          );
        }
        if (team.role !== 'owner' && member.role === 'owner') {
          throw forbidden("Only owners can change an owner's role.");
        }
        if (team.role !== 'owner' && input.role === 'owner') {
          throw forbidden('Only owners can make someone an owner.');
        }
        if (member.role !== input.role) {
          await updateMemberRole(tx, teamId, member.user_id, input.role);
        }
        return teamMember(tx, teamId, member.user_id);
      })
    );
  }

  async removeMember(
    user: JwtClaims,
    teamId: string,
    userId: string
  ): Promise<void> {
    if (userId.toLowerCase() === user.sub.toLowerCase()) {
      return this.leave(user, teamId);
    }
    return this.translateLastOwner(LAST_OWNER_CHANGE, () =>
      this.db.withClaims(user, async tx => {
        const team = await myTeam(tx, teamId);
        const member = await teamMember(tx, teamId, userId);
        if (!atLeast(team.role, 'admin')) {
          throw forbidden(
            "Only the team's owners and admins can remove members."
          );
        }
        if (team.role !== 'owner' && member.role === 'owner') {
          throw forbidden('Only owners can remove an owner.');
        }
        await deleteMember(tx, teamId, member.user_id);
      })
    );
  }

  leave(user: JwtClaims, teamId: string): Promise<void> {
    return this.translateLastOwner(
      "You are this team's last owner: make another member an owner before leaving, or delete the team.",
      () =>
        this.db.withClaims(user, async tx => {
          await myTeam(tx, teamId);
          await deleteMember(tx, teamId, user.sub);
        })
    );
  }

  private async translateLastOwner<T>(
    message: string,
    work: () => Promise<T>
  ): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (sqlState(err) === SqlState.lastTeamOwner) {
        throw lastOwner(message);
      }
      throw err;
    }
  }
}

async function myTeam(tx: Queryable, teamId: string): Promise<Team> {
  const team = UUID.test(teamId) ? await findMyTeam(tx, teamId) : undefined;
  if (!team) {
    throw teamNotFound();
  }
  return team;
}

async function teamMember(
  tx: Queryable,
  teamId: string,
  userId: string
): Promise<TeamMember> {
  const member = UUID.test(userId)
    ? await findMember(tx, teamId, userId)
    : undefined;
  if (!member) {
    throw memberNotFound();
  }
  return member;
}
