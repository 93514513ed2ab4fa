-- Teams and their members. Roles, from least to most privileged:
-- viewer < member < admin < owner. Members (viewers too) read their team, its
-- members and co-members' profiles; owners and admins manage members (admins
-- never touch owners nor make owners); a team always keeps an owner.

create type public.team_role as enum ('viewer', 'member', 'admin', 'owner');
comment on type public.team_role is
  'Ordered from least to most privileged: role checks compare with >=.';

create table public.teams (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(btrim(name)) between 1 and 100),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.teams enable row level security;

create trigger set_teams_updated_at
  before update on public.teams
  for each row execute function public.set_updated_at();

create table public.team_members (
  team_id uuid not null references public.teams (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role public.team_role not null default 'member',
  created_at timestamptz not null default now(),
  primary key (team_id, user_id)
);
create index team_members_user_id_idx on public.team_members (user_id);
alter table public.team_members enable row level security;

-- Role checks for policies. Security definer so that a policy on
-- team_members can ask about team_members without recursing into itself.

create function public.team_role_of(p_team_id uuid)
returns public.team_role
language sql
stable
security definer
set search_path = ''
as $$
  select m.role
  from public.team_members m
  where m.team_id = p_team_id and m.user_id = (select auth.uid());
$$;
comment on function public.team_role_of(uuid) is
  'The current user''s role in the team, or null when they are not a member.';

create function public.has_team_role(p_team_id uuid, p_min_role public.team_role)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.team_members m
    where m.team_id = p_team_id
      and m.user_id = (select auth.uid())
      and m.role >= p_min_role
  );
$$;
comment on function public.has_team_role(uuid, public.team_role) is
  'Whether the current user has at least the given role in the team.';

create function public.shares_team_with(p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.team_members mine
    join public.team_members theirs on theirs.team_id = mine.team_id
    where mine.user_id = (select auth.uid()) and theirs.user_id = p_user_id
  );
$$;
comment on function public.shares_team_with(uuid) is
  'Whether the current user and the given user are members of a common team.';

-- Teams

create policy "Members can read their teams"
  on public.teams for select
  to authenticated
  using (public.has_team_role(id, 'viewer'));

create policy "Signed-in users can create teams"
  on public.teams for insert
  to authenticated
  with check (created_by = (select auth.uid()));

create policy "Owners and admins can rename their teams"
  on public.teams for update
  to authenticated
  using (public.has_team_role(id, 'admin'))
  with check (public.has_team_role(id, 'admin'));

create policy "Owners can delete their teams"
  on public.teams for delete
  to authenticated
  using (public.has_team_role(id, 'owner'));

revoke update on public.teams from anon, authenticated;
grant update (name) on public.teams to authenticated;

-- The creator of a team becomes its owner.
create function public.add_team_creator_as_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.created_by is not null then
    insert into public.team_members (team_id, user_id, role)
    values (new.id, new.created_by, 'owner');
  end if;
  return new;
end;
$$;

create trigger add_team_creator_as_owner
  after insert on public.teams
  for each row execute function public.add_team_creator_as_owner();

-- Team members

create policy "Members can read their team's members"
  on public.team_members for select
  to authenticated
  using (public.has_team_role(team_id, 'viewer'));

-- No insert policy: people join a team by accepting an invitation (see
-- public.accept_team_invitations) or by creating it.

create policy "Owners and admins can change member roles"
  on public.team_members for update
  to authenticated
  using (
    public.has_team_role(team_id, 'admin')
    and (role <> 'owner' or public.has_team_role(team_id, 'owner'))
  )
  with check (
    public.has_team_role(team_id, 'admin')
    and (role <> 'owner' or public.has_team_role(team_id, 'owner'))
  );

create policy "Owners and admins can remove members"
  on public.team_members for delete
  to authenticated
  using (
    public.has_team_role(team_id, 'admin')
    and (role <> 'owner' or public.has_team_role(team_id, 'owner'))
  );

create policy "Members can leave their teams"
  on public.team_members for delete
  to authenticated
  using (user_id = (select auth.uid()));

revoke update on public.team_members from anon, authenticated;
grant update (role) on public.team_members to authenticated;

-- Nobody demotes or removes a team's last owner (leaving included). Deleting
-- the team, or the owner's account, is not blocked.
create function public.keep_a_team_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if old.role = 'owner'
    and (tg_op = 'DELETE' or new.role <> 'owner' or new.team_id <> old.team_id)
  then
    -- Serializes concurrent owner changes in one team (two owners demoting
    -- each other at once must not leave it without one).
    perform 1 from public.teams t where t.id = old.team_id for update;
    if found
      and exists (select 1 from auth.users u where u.id = old.user_id)
      and not exists (
        select 1
        from public.team_members m
        where m.team_id = old.team_id and m.role = 'owner' and m.user_id <> old.user_id
      )
    then
      raise exception 'A team must keep at least one owner: make another member an owner first.'
        using errcode = 'IN001';
    end if;
  end if;
  if tg_op = 'DELETE' then
    return old;
  end if;
  return new;
end;
$$;

create trigger keep_a_team_owner
  before update or delete on public.team_members
  for each row execute function public.keep_a_team_owner();

-- Profiles of people one works with are readable (never writable).
create policy "Members can read their co-members' profiles"
  on public.profiles for select
  to authenticated
  using (public.shares_team_with(id));

revoke execute on function public.add_team_creator_as_owner() from public, anon, authenticated;
revoke execute on function public.keep_a_team_owner() from public, anon, authenticated;
