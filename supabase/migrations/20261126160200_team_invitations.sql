-- Invitations to a team by email. An invitation is accepted when the person
-- with that (confirmed) email signs up or logs in.

create table public.team_invitations (
  id uuid primary key default gen_random_uuid(),
  team_id uuid not null references public.teams (id) on delete cascade,
  email text not null check (
    email = lower(email)
    and char_length(email) <= 320
    and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'
  ),
  role public.team_role not null default 'member',
  invited_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  accepted_at timestamptz
);
comment on column public.team_invitations.email is 'Stored lower-case.';
create unique index team_invitations_one_pending_per_email
  on public.team_invitations (team_id, email)
  where accepted_at is null;
create index team_invitations_pending_email_idx
  on public.team_invitations (email)
  where accepted_at is null;
alter table public.team_invitations enable row level security;

create policy "Owners and admins can read their team's invitations"
  on public.team_invitations for select
  to authenticated
  using (public.has_team_role(team_id, 'admin'));

create policy "Owners and admins can invite people"
  on public.team_invitations for insert
  to authenticated
  with check (
    public.has_team_role(team_id, 'admin')
    and (role <> 'owner' or public.has_team_role(team_id, 'owner'))
    and invited_by = (select auth.uid())
    and accepted_at is null
  );

create policy "Owners and admins can withdraw invitations"
  on public.team_invitations for delete
  to authenticated
  using (public.has_team_role(team_id, 'admin'));

-- No update policy: invitations are accepted only by the functions below.
revoke update on public.team_invitations from anon, authenticated;

-- Stores the email lower-case and refuses to invite someone who is already
-- a member (asked only for the team's own owners and admins, so nobody else
-- learns who is in a team).
create function public.prepare_team_invitation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  new.email := lower(btrim(new.email));
  if public.has_team_role(new.team_id, 'admin') and exists (
    select 1
    from public.team_members m
    join auth.users u on u.id = m.user_id
    where m.team_id = new.team_id and lower(u.email) = new.email
  ) then
    raise exception 'That person is already a member of this team.'
      using errcode = 'IN002';
  end if;
  return new;
end;
$$;

create trigger prepare_team_invitation
  before insert or update of email on public.team_invitations
  for each row execute function public.prepare_team_invitation();

-- Accepts the pending invitations for a user's confirmed email: marks them
-- accepted and adds the user to each team (a member already keeps their
-- role). Returns the teams joined.
create function public.accept_team_invitations_for(p_user_id uuid)
returns setof public.teams
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_email text;
begin
  select lower(u.email) into v_email
  from auth.users u
  where u.id = p_user_id and u.email_confirmed_at is not null and u.deleted_at is null;
  if v_email is null then
    return;
  end if;
  return query
    with accepted as (
      update public.team_invitations i
      set accepted_at = now()
      where i.email = v_email and i.accepted_at is null
      returning i.team_id, i.role
    ),
    joined as (
      insert into public.team_members (team_id, user_id, role)
      select a.team_id, p_user_id, a.role
      from accepted a
      on conflict (team_id, user_id) do nothing
      returning team_id
    )
    select t.*
    from public.teams t
    join joined j on j.team_id = t.id
    order by t.name;
end;
$$;
revoke execute on function public.accept_team_invitations_for(uuid) from public, anon, authenticated;

-- The signed-in user's version: what the sidecar calls after signup
-- confirmation and login.
create function public.accept_team_invitations()
returns setof public.teams
language sql
security definer
set search_path = ''
as $$
  select * from public.accept_team_invitations_for((select auth.uid()));
$$;
revoke execute on function public.accept_team_invitations() from public, anon;
grant execute on function public.accept_team_invitations() to authenticated, service_role;

-- The same happens on its own when Supabase Auth (or the embedded auth)
-- confirms an email or records a sign-in, so invitations work with any auth.
create function public.accept_team_invitations_on_sign_in()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform public.accept_team_invitations_for(new.id);
  return new;
end;
$$;
revoke execute on function public.accept_team_invitations_on_sign_in() from public, anon, authenticated;

create trigger accept_team_invitations_on_sign_in
  after insert or update of email_confirmed_at, last_sign_in_at on auth.users
  for each row
  when (new.email_confirmed_at is not null)
  execute function public.accept_team_invitations_on_sign_in();

revoke execute on function public.prepare_team_invitation() from public, anon, authenticated;
