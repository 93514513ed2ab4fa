import type { Queryable } from '../db/types';

/**
 * The embedded auth server's SQL: `auth.users` (Supabase's columns) and the
 * tables of `schema.ts`. Every function runs inside a transaction the caller
 * opened as the service (`db.asService`), so several writes commit together.
 */

/** Supabase's constant for single-tenant rows. */
const INSTANCE_ID = '00000000-0000-0000-0000-000000000000';

export interface UserRow {
  id: string;
  aud: string;
  role: string;
  email: string;
  phone: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  confirmation_sent_at: Date | null;
  recovery_sent_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  banned_until: Date | null;
  is_anonymous: boolean | null;
  created_at: Date;
  updated_at: Date;
}

const USER_COLUMNS = `id, aud, role, email, phone, encrypted_password, email_confirmed_at,
  confirmation_sent_at, recovery_sent_at, last_sign_in_at, raw_app_meta_data,
  raw_user_meta_data, banned_until, is_anonymous, created_at, updated_at`;

export async function findUserByEmail(
  tx: Queryable,
  email: string
): Promise<UserRow | undefined> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users
      where lower(email) = lower($1) and deleted_at is null
      order by created_at limit 1`,
    [email]
  );
  return rows[0];
}

export async function findUserById(
  tx: Queryable,
  id: string
): Promise<UserRow | undefined> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where id = $1 and deleted_at is null`,
    [id]
  );
  return rows[0];
}

export interface NewUser {
  id: string;
  email: string;
  encryptedPassword: string;
  userMetadata: Record<string, unknown>;
  appMetadata: Record<string, unknown>;
  confirmed: boolean;
}

export async function insertUser(
  tx: Queryable,
  user: NewUser
): Promise<UserRow> {
  const { rows } = await tx.query<UserRow>(
    `insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
        email_confirmed_at, confirmation_sent_at, raw_app_meta_data, raw_user_meta_data,
        is_sso_user, is_anonymous, created_at, updated_at)
     values ($1, $2, 'authenticated', 'authenticated', $3, $4,
        case when $5::boolean then now() end, case when not $5::boolean then now() end,
        $6::jsonb, $7::jsonb, false, false, now(), now())
     returning ${USER_COLUMNS}`,
    [
      INSTANCE_ID,
      user.id,
      user.email,
      user.encryptedPassword,
      user.confirmed,
      JSON.stringify(user.appMetadata),
      JSON.stringify(user.userMetadata)
    ]
  );
  return rows[0];
}

/** Undoes a sign-up whose confirmation mail could not be sent (the profile cascades). */
export async function deleteUnconfirmedUser(
  tx: Queryable,
  userId: string
): Promise<void> {
  await tx.query(
    `delete from auth.users where id = $1 and email_confirmed_at is null`,
    [userId]
  );
}

/** Marks the email confirmed (and `email_verified` in the metadata, as GoTrue does). */
export async function confirmEmail(
  tx: Queryable,
  userId: string
): Promise<void> {
  await tx.query(
    `update auth.users
        set email_confirmed_at = coalesce(email_confirmed_at, now()),
            raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb)
              || jsonb_build_object('email_verified', true),
            updated_at = now()
      where id = $1`,
    [userId]
  );
}

export async function recordSignIn(
  tx: Queryable,
  userId: string
): Promise<void> {
  await tx.query(
    `update auth.users set last_sign_in_at = now() where id = $1`,
    [userId]
  );
}

export async function setEncryptedPassword(
  tx: Queryable,
  userId: string,
  encryptedPassword: string
): Promise<void> {
  await tx.query(
    `update auth.users set encrypted_password = $2, updated_at = now() where id = $1`,
    [userId, encryptedPassword]
  );
}

export async function setUserMetadata(
  tx: Queryable,
  userId: string,
  metadata: Record<string, unknown>
): Promise<void> {
  await tx.query(
    `update auth.users set raw_user_meta_data = $2::jsonb, updated_at = now() where id = $1`,
    [userId, JSON.stringify(metadata)]
  );
}

export async function markMailSent(
  tx: Queryable,
  userId: string,
  purpose: OneTimePurpose
): Promise<void> {
  const column =
    purpose === 'signup' ? 'confirmation_sent_at' : 'recovery_sent_at';
  await tx.query(`update auth.users set ${column} = now() where id = $1`, [
    userId
  ]);
}

// Sessions and refresh tokens

export interface AmrEntry {
  method: string;
  timestamp: number;
}

export interface SessionRow {
  id: string;
  user_id: string;
  aal: string;
  amr: AmrEntry[];
  created_at: Date;
}

export async function insertSession(
  tx: Queryable,
  session: {
    id: string;
    userId: string;
    amr: AmrEntry[];
    userAgent?: string;
    ip?: string;
  }
): Promise<SessionRow> {
  const { rows } = await tx.query<SessionRow>(
    `insert into auth.insighter_sessions (id, user_id, amr, user_agent, ip)
     values ($1, $2, $3::jsonb, $4, $5)
     returning id, user_id, aal, amr, created_at`,
    [
      session.id,
      session.userId,
      JSON.stringify(session.amr),
      session.userAgent?.slice(0, 512) ?? null,
      session.ip ?? null
    ]
  );
  return rows[0];
}

export async function findSession(
  tx: Queryable,
  id: string
): Promise<SessionRow | undefined> {
  const { rows } = await tx.query<SessionRow>(
    `select id, user_id, aal, amr, created_at from auth.insighter_sessions where id = $1`,
    [id]
  );
  return rows[0];
}

/**
 * Whether the session exists, is the user's, and the user may still sign in
 * (not deleted, not banned): what every request's token is checked against.
 */
export async function isSessionLive(
  tx: Queryable,
  sessionId: string,
  userId: string
): Promise<boolean> {
  const { rows } = await tx.query<{ live: boolean }>(
    `select exists (
       select 1 from auth.insighter_sessions s
         join auth.users u on u.id = s.user_id
        where s.id = $1 and s.user_id = $2 and u.deleted_at is null
          and (u.banned_until is null or u.banned_until <= now())
     ) as live`,
    [sessionId, userId]
  );
  return rows[0]?.live === true;
}

export async function deleteSession(tx: Queryable, id: string): Promise<void> {
  await tx.query(`delete from auth.insighter_sessions where id = $1`, [id]);
}

/** Ends every session of a user, or every one but `keepSessionId`. */
export async function deleteUserSessions(
  tx: Queryable,
  userId: string,
  keepSessionId?: string
): Promise<void> {
  await tx.query(
    `delete from auth.insighter_sessions
      where user_id = $1 and ($2::uuid is null or id <> $2::uuid)`,
    [userId, keepSessionId ?? null]
  );
}

export async function insertRefreshToken(
  tx: Queryable,
  tokenHash: string,
  sessionId: string,
  parentHash?: string
): Promise<void> {
  await tx.query(
    `insert into auth.insighter_refresh_tokens (token_hash, session_id, parent_hash)
     values ($1, $2, $3)`,
    [tokenHash, sessionId, parentHash ?? null]
  );
  await tx.query(
    `update auth.insighter_sessions set refreshed_at = now() where id = $1`,
    [sessionId]
  );
}

export interface RefreshTokenRow {
  token_hash: string;
  session_id: string;
  user_id: string;
  revoked: boolean;
  updated_at: Date;
}

/** Locks the token's row: two refreshes with one token cannot both rotate it. */
export async function findRefreshToken(
  tx: Queryable,
  tokenHash: string
): Promise<RefreshTokenRow | undefined> {
  const { rows } = await tx.query<RefreshTokenRow>(
    `select t.token_hash, t.session_id, s.user_id, t.revoked, t.updated_at
       from auth.insighter_refresh_tokens t
       join auth.insighter_sessions s on s.id = t.session_id
      where t.token_hash = $1
      for update of t`,
    [tokenHash]
  );
  return rows[0];
}

export async function revokeRefreshToken(
  tx: Queryable,
  tokenHash: string
): Promise<void> {
  await tx.query(
    `update auth.insighter_refresh_tokens set revoked = true, updated_at = now()
      where token_hash = $1`,
    [tokenHash]
  );
}

// One-time tokens (confirmation and recovery links)

export type OneTimePurpose = 'signup' | 'recovery';

/** Replaces the user's previous token for the same purpose: only the newest link works. */
export async function putOneTimeToken(
  tx: Queryable,
  token: {
    userId: string;
    purpose: OneTimePurpose;
    tokenHash: string;
    expiresInSeconds: number;
  }
): Promise<void> {
  await tx.query(
    `insert into auth.insighter_one_time_tokens (user_id, purpose, token_hash, expires_at)
     values ($1, $2, $3, now() + make_interval(secs => $4))
     on conflict (user_id, purpose) do update
       set token_hash = excluded.token_hash, expires_at = excluded.expires_at,
           created_at = now()`,
    [token.userId, token.purpose, token.tokenHash, token.expiresInSeconds]
  );
}

/** Deletes the token (links work once) and returns its user if it had not expired. */
export async function consumeOneTimeToken(
  tx: Queryable,
  tokenHash: string,
  purpose: OneTimePurpose
): Promise<string | undefined> {
  const { rows } = await tx.query<{ user_id: string; live: boolean }>(
    `delete from auth.insighter_one_time_tokens
      where token_hash = $1 and purpose = $2
      returning user_id, expires_at > now() as live`,
    [tokenHash, purpose]
  );
  return rows[0]?.live ? rows[0].user_id : undefined;
}

export async function deleteOneTimeTokens(
  tx: Queryable,
  userId: string
): Promise<void> {
  await tx.query(
    `delete from auth.insighter_one_time_tokens where user_id = $1`,
    [userId]
  );
}
