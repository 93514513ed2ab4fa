/**
 * Wire types of the sidecar routes this package calls, as the sidecar
 * answers them (server/src/routes). The frontend never invents fields.
 */

/** `GET /api/v1/config`: what supabase-js's `createClient` needs. */
export interface IPublicConfig {
  supabase_url: string;
  supabase_anon_key: string;
  mode: 'embedded' | 'hosted';
  /** Whether sign-ups skip the confirmation mail; `null` when a hosted project decides. */
  autoconfirm: boolean | null;
}

export type MailStatus = 'stored' | 'pending' | 'sent' | 'failed';

/** One mail of `GET /api/v1/outbox` (bodies left out). */
export interface IOutboxSummary {
  id: string;
  user_id: string | null;
  purpose: string;
  to: string;
  subject: string;
  link: string | null;
  status: MailStatus;
  error: string | null;
  created_at: string;
  sent_at: string | null;
}

/** `GET /api/v1/outbox/:id`. */
export interface IOutboxMail extends IOutboxSummary {
  text: string;
  html: string;
}

export interface IOutboxList {
  messages: IOutboxSummary[];
}

/** Least to most privileged, as `public.team_role` orders them. */
export const TEAM_ROLES = ['viewer', 'member', 'admin', 'owner'] as const;

export type TeamRole = (typeof TEAM_ROLES)[number];

/** A team I belong to, with my role in it (`/api/v1/teams`). */
export interface ITeam {
  id: string;
  name: string;
  role: TeamRole;
  member_count: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ITeamMember {
  user_id: string;
  email: string;
  full_name: string | null;
  avatar_url: string | null;
  role: TeamRole;
  created_at: string;
}

/** A pending invitation: accepted when that email signs up or logs in. */
export interface ITeamInvitation {
  id: string;
  team_id: string;
  email: string;
  role: TeamRole;
  invited_by: string | null;
  created_at: string;
}

export interface ITeamList {
  teams: ITeam[];
}

export interface IMemberList {
  members: ITeamMember[];
}

export interface IInvitationList {
  invitations: ITeamInvitation[];
}
