import type { Queryable } from '../db/types';

/**
 * SQL for teams, members and invitations. Every function runs inside the
 * caller's transaction (`withClaims`), so row-level security decides what
 * it sees and changes: a row it may not see is simply not there.
 */
export const TEAM_ROLES = ['viewer', 'member', 'admin', 'owner'] as const;
/** Least to most privileged, as `public.team_role` orders them. */
export type TeamRole = (typeof TEAM_ROLES)[number];

export interface TeamRow {
  id: string;
  name: string;
  /** The current user's role in it. */
  role: TeamRole;
  member_count: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface MemberRow {
  user_id: string;
  email: string;
  full_name: string;
  avatar_url: string | null;
  role: TeamRole;
  created_at: Date;
}

export interface InvitationRow {
  id: string;
  team_id: string;
  email: string;
  role: TeamRole;
  invited_by: string | null;
  created_at: Date;
}

const TEAM_COLUMNS = `
  t.id, t.name, m.role, t.created_by, t.created_at, t.updated_at,
  (select count(*)::int from public.team_members c where c.team_id = t.id) as member_count`;

const INVITATION_COLUMNS = 'id, team_id, email, role, invited_by, created_at';

/** The teams the current user belongs to, by name. */
export async function listMyTeams(tx: Queryable): Promise<TeamRow[]> {
  const result = await tx.query<TeamRow>(
    `select ${TEAM_COLUMNS}
     from public.teams t
     join public.team_members m on m.team_id = t.id and m.user_id = auth.uid()
     order by lower(t.name), t.created_at`
  );
  return result.rows;
}

/** One of the current user's teams, or undefined (unknown, or not theirs). */
export async function findMyTeam(
  tx: Queryable,
  id: string
): Promise<TeamRow | undefined> {
  const result = await tx.query<TeamRow>(
    `select ${TEAM_COLUMNS}
     from public.teams t
     join public.team_members m on m.team_id = t.id and m.user_id = auth.uid()
     where t.id = $1`,
    [id]
  );
  return result.rows[0];
}

/** Inserts a team created by the current user (a trigger makes them its owner). */
export async function insertTeam(
  tx: Queryable,
  id: string,
  name: string
): Promise<void> {
  // No `returning`: the row becomes readable only once the owner trigger ran.
  await tx.query(
    'insert into public.teams (id, name, created_by) values ($1, $2, auth.uid())',
    [id, name]
  );
}

export async function renameTeam(
  tx: Queryable,
  id: string,
  name: string
): Promise<boolean> {
  const result = await tx.query(
    'update public.teams set name = $2 where id = $1',
    [id, name]
  );
  return result.rowCount > 0;
}

export async function deleteTeam(tx: Queryable, id: string): Promise<boolean> {
  const result = await tx.query('delete from public.teams where id = $1', [id]);
  return result.rowCount > 0;
}

export async function listMembers(
  tx: Queryable,
  teamId: string
): Promise<MemberRow[]> {
  const result = await tx.query<MemberRow>(
    'select user_id, email, full_name, avatar_url, role, created_at from public.team_member_list($1)',
    [teamId]
  );
  return result.rows;
}

export async function findMember(
  tx: Queryable,
  teamId: string,
  userId: string
): Promise<MemberRow | undefined> {
  const result = await tx.query<MemberRow>(
    `select user_id, email, full_name, avatar_url, role, created_at
     from public.team_member_list($1) where user_id = $2`,
    [teamId, userId]
  );
  return result.rows[0];
}

export async function updateMemberRole(
  tx: Queryable,
  teamId: string,
  userId: string,
  role: TeamRole
): Promise<boolean> {
  const result = await tx.query(
    'update public.team_members set role = $3 where team_id = $1 and user_id = $2',
    [teamId, userId, role]
  );
  return result.rowCount > 0;
}

export async function deleteMember(
  tx: Queryable,
  teamId: string,
  userId: string
): Promise<boolean> {
  const result = await tx.query(
    'delete from public.team_members where team_id = $1 and user_id = $2',
    [teamId, userId]
  );
  return result.rowCount > 0;
}

/** Pending invitations, newest first. */
export async function listInvitations(
  tx: Queryable,
  teamId: string
): Promise<InvitationRow[]> {
  const result = await tx.query<InvitationRow>(
    `select ${INVITATION_COLUMNS} from public.team_invitations
     where team_id = $1 and accepted_at is null
     order by created_at desc, email`,
    [teamId]
  );
  return result.rows;
}

export async function insertInvitation(
  tx: Queryable,
  teamId: string,
  email: string,
  role: TeamRole
): Promise<InvitationRow> {
  const result = await tx.query<InvitationRow>(
    `insert into public.team_invitations (team_id, email, role, invited_by)
     values ($1, $2, $3, auth.uid())
     returning ${INVITATION_COLUMNS}`,
    [teamId, email, role]
  );
  return result.rows[0];
}

export async function deleteInvitation(
  tx: Queryable,
  teamId: string,
  invitationId: string
): Promise<boolean> {
  const result = await tx.query(
    'delete from public.team_invitations where team_id = $1 and id = $2 and accepted_at is null',
    [teamId, invitationId]
  );
  return result.rowCount > 0;
}
