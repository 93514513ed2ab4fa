import type { UserRow } from './store';

/**
 * A user as GoTrue returns it (`User` in supabase-js). Identities are derived:
 * embedded accounts have exactly one, the email identity.
 */
export interface GoTrueUser {
  id: string;
  aud: string;
  role: string;
  email: string;
  email_confirmed_at?: string;
  phone: string;
  confirmation_sent_at?: string;
  confirmed_at?: string;
  recovery_sent_at?: string;
  last_sign_in_at?: string;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  identities: GoTrueIdentity[];
  created_at: string;
  updated_at: string;
  is_anonymous: boolean;
}

export interface GoTrueIdentity {
  identity_id: string;
  id: string;
  user_id: string;
  identity_data: Record<string, unknown>;
  provider: 'email';
  last_sign_in_at?: string;
  created_at: string;
  updated_at: string;
  email: string;
}

export function toGoTrueUser(row: UserRow): GoTrueUser {
  const created = iso(row.created_at)!;
  const updated = iso(row.updated_at)!;
  const confirmed = iso(row.email_confirmed_at);
  return withoutUndefined({
    id: row.id,
    aud: row.aud,
    role: row.role,
    email: row.email,
    email_confirmed_at: confirmed,
    phone: row.phone ?? '',
    confirmation_sent_at: iso(row.confirmation_sent_at),
    confirmed_at: confirmed,
    recovery_sent_at: iso(row.recovery_sent_at),
    last_sign_in_at: iso(row.last_sign_in_at),
    app_metadata: row.raw_app_meta_data ?? {},
    user_metadata: row.raw_user_meta_data ?? {},
    identities: [
      withoutUndefined({
        identity_id: row.id,
        id: row.id,
        user_id: row.id,
        identity_data: {
          email: row.email,
          email_verified: Boolean(confirmed),
          phone_verified: false,
          sub: row.id
        },
        provider: 'email' as const,
        last_sign_in_at: iso(row.last_sign_in_at),
        created_at: created,
        updated_at: updated,
        email: row.email
      })
    ],
    created_at: created,
    updated_at: updated,
    is_anonymous: Boolean(row.is_anonymous)
  });
}

function iso(value: Date | string | null | undefined): string | undefined {
  if (value === null || value === undefined) {
    return undefined;
  }
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** GoTrue omits unset timestamps (`omitempty`); JSON would drop them too, but tests compare objects. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined)
  ) as T;
}
