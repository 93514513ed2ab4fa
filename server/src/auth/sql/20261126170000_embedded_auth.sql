-- The embedded auth server's own tables, beside auth.users (bootstrap).
-- Embedded only (the migration runner skips it on a Supabase database, where
-- GoTrue owns the auth schema). Tokens are never stored in the clear: only
-- their SHA-256.

create table if not exists auth.insighter_sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  aal text not null default 'aal1',
  -- As in the amr claim: [{"method": "password", "timestamp": 1700000000}]
  amr jsonb not null default '[]'::jsonb,
  user_agent text,
  ip text,
  created_at timestamptz not null default now(),
  refreshed_at timestamptz
);
create index if not exists insighter_sessions_user_id_idx
  on auth.insighter_sessions (user_id);

-- Opaque refresh tokens, rotated on every use. A rotated one stays as
-- `revoked`, so a second use is recognised as theft and ends the session.
create table if not exists auth.insighter_refresh_tokens (
  token_hash text primary key,
  session_id uuid not null references auth.insighter_sessions (id) on delete cascade,
  parent_hash text,
  revoked boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists insighter_refresh_tokens_session_idx
  on auth.insighter_refresh_tokens (session_id);

-- Confirmation and recovery links: one live token per user and purpose.
create table if not exists auth.insighter_one_time_tokens (
  user_id uuid not null references auth.users (id) on delete cascade,
  purpose text not null check (purpose in ('signup', 'recovery')),
  token_hash text not null unique,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  primary key (user_id, purpose)
);

-- Mail is written in the same transaction as the change that caused it, so a
-- crash never leaves a user without their confirmation mail, or the reverse.
-- Embedded: the mailbox the UI shows. With SMTP: the delivery log.
create table if not exists auth.insighter_mail_outbox (
  id uuid primary key,
  user_id uuid references auth.users (id) on delete cascade,
  purpose text not null,
  to_email text not null,
  subject text not null,
  text_body text not null,
  html_body text not null,
  link text,
  status text not null default 'stored'
    check (status in ('stored', 'pending', 'sent', 'failed')),
  error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index if not exists insighter_mail_outbox_created_idx
  on auth.insighter_mail_outbox (created_at desc);

-- Only the server (the owner) touches these: row-level security with no
-- policies denies every API role, whatever the schema's grants.
alter table auth.insighter_sessions enable row level security;
alter table auth.insighter_refresh_tokens enable row level security;
alter table auth.insighter_one_time_tokens enable row level security;
alter table auth.insighter_mail_outbox enable row level security;
revoke all on auth.insighter_sessions, auth.insighter_refresh_tokens,
  auth.insighter_one_time_tokens, auth.insighter_mail_outbox
  from public, anon, authenticated;
